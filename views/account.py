"""Self-service: registration (Daftar) with a verification code and an activation link,
and the forgotten-password link."""

import re
import threading
import time
from datetime import timedelta
from functools import wraps

from flask import Blueprint, current_app, flash, request, session

import fields
import mail
import models
import security
from security import now
from views import (
    CODE_ERRORS,
    app_settings,
    audit,
    check_code,
    code_limit,
    go,
    limiter,
    new_password_problems,
    respond,
    step_key,
)

bp = Blueprint("account", __name__)

ACTIVATION_MINUTES = 24 * 60


def _per_ip():
    return current_app.config["SELF_SERVICE_IP_RATE_LIMIT"]


# --------------------------------------------------------------------------- registration
# NIP and NIK are public, so they only say whom the registration is for. What proves it
# is the contact on record: the code goes to the e-mail and phone the instansi imported,
# never to what was typed. With no contact on record, the request waits for the
# helpdesk's identity check (admin.registrations) before anything is stored or sent.


def _register_page(status=200, errors=None, message=None, form=None, already_registered=False):
    return respond("account/register.html", "register_form", status, errors=errors or {},
                   message=message, form=form or {}, already_registered=already_registered)


@bp.get("/daftar")
def register():
    return _register_page()


def _check_registration_form(form):
    errors = {}
    try:
        form["nip"] = security.parse_nip(form["nip"]).value
    except security.NipError as exc:
        errors["nip"] = str(exc)
    form["nik"] = re.sub(r"\s", "", form["nik"])
    if not security.is_valid_nik(form["nik"]):
        errors["nik"] = "NIK terdiri dari 16 digit angka, seperti tertulis di KTP."
    form["email"] = fields.check(errors, "email", fields.email, form["email"]) or form["email"]
    form["telepon"] = fields.check(errors, "telepon", fields.phone, form["telepon"]) or form["telepon"]
    return errors


@bp.post("/daftar")
@limiter.limit(_per_ip)
def register_post():
    form = {k: request.form.get(k, "")[:100] for k in ("nip", "nik", "email", "telepon")}
    errors = _check_registration_form(form)
    if errors:
        return _register_page(422, errors, form=form)
    employee = models.Employee.by_nip(form["nip"])
    contact = current_app.config["HELPDESK_CONTACT"]
    if employee is None:
        audit("registration.failed", nip=form["nip"], detail="NIP tidak ditemukan")
        return _register_page(422, message=(
            "NIP tidak ditemukan dalam data kepegawaian. Periksa kembali NIP Anda; jika sudah "
            f"benar, hubungi {contact} dengan membawa SK pengangkatan."), form=form)
    if not employee.nik_matches(form["nik"]):
        audit("registration.failed", nip=employee.nip, detail="NIK tidak cocok")
        return _register_page(422, message=(
            "NIP dan NIK tidak cocok dengan data kepegawaian. Periksa NIK di KTP Anda; jika "
            f"sudah benar, hubungi {contact} untuk memperbaiki data."), form=form)
    if not employee.is_active:
        audit("registration.failed", nip=employee.nip, detail=f"status {employee.status}")
        return _register_page(403, message=(
            f"Status kepegawaian tidak aktif, sehingga akun tidak dapat didaftarkan. Hubungi {contact}."),
            form=form)
    account = models.Account.get_or_none(models.Account.employee == employee)
    if account and account.is_registered:
        return _register_page(409, form=form, already_registered=True)

    if not employee.has_contact:
        models.RegistrationRequest.submit(employee, form["email"], form["telepon"])
        audit("registration.queued", nip=employee.nip, detail="tidak ada kontak tercatat")
        session["registration_queued"] = True
        return go("account.register_queued")
    # The same answer whatever e-mail was typed: the code goes to the contact on record.
    matches = security.constant_time_equals(form["email"], employee.email)
    session["registration"] = {"nip": employee.nip, "verified": False}
    if _send_code(employee):
        audit("registration.started", nip=employee.nip,
              detail="email yang diketik " + ("sama dengan" if matches else "berbeda dari") + " data")
    return go("account.register_verify")


def _send_code(employee) -> bool:
    return mail.send_code(employee, "register", "Kode verifikasi pendaftaran Portal ASN Digital", "register_code",
                          "Kode verifikasi Portal ASN Digital: {code}. Berlaku {minutes} menit. Jangan berikan kode "
                          "ini kepada siapa pun.")


@bp.get("/daftar/menunggu")
def register_queued():
    if not session.get("registration_queued"):
        return go("account.register")
    return respond("account/register_queued.html", "content", helpdesk=current_app.config["HELPDESK_CONTACT"])


def _registration_token():
    """The registration in this browser and its newest code, or (None, None)."""
    pending = session.get("registration")
    employee = pending and models.Employee.by_nip(pending["nip"])
    if not employee:
        return None, None
    return employee, models.Token.newest(employee, "register")


def _verify_page(status=200, error=None, info=None):
    employee, _ = _registration_token()
    return respond("account/register_verify.html", "verify_form", status, error=error, info=info,
                   email=security.mask_email(employee.email), telepon=security.mask_phone(employee.telepon))


def _registration_gone():
    flash("Pendaftaran belum dimulai atau sudah berakhir. Silakan isi formulir pendaftaran.", "info")
    return go("account.register")


@bp.get("/daftar/verifikasi")
def register_verify():
    employee, _ = _registration_token()
    if employee is None:
        return _registration_gone()
    return _verify_page()


@bp.post("/daftar/verifikasi")
@limiter.limit(_per_ip)
@limiter.limit(code_limit, key_func=step_key)
def register_verify_post():
    employee, token = _registration_token()
    if employee is None:
        return _registration_gone()
    result, error = check_code(token)
    if result != "ok":
        if result == "wrong":
            audit("registration.code_failed", nip=employee.nip)
        return _verify_page(422, error)
    session["registration"] = {"nip": employee.nip, "verified": True, "token": token.id}
    audit("registration.verified", nip=employee.nip)
    return go("account.register_password")


def _resend_limit():
    return current_app.config["RESEND_RATE_LIMIT"]


@bp.post("/daftar/kirim-ulang")
@limiter.limit(_per_ip)
@limiter.limit(_resend_limit, key_func=step_key)
def register_resend():
    employee, _ = _registration_token()
    if employee is None or session["registration"].get("verified"):
        return _registration_gone()
    if not _send_code(employee):
        return _verify_page(429, CODE_ERRORS["capped"])
    audit("registration.code_resent", nip=employee.nip)
    return _verify_page(info="Kode baru telah dikirim. Kode sebelumnya tidak berlaku lagi.")


def _verified_registration():
    employee, token = _registration_token()
    pending = session.get("registration") or {}
    if token is None or not pending.get("verified") or token.id != pending.get("token"):
        return None, None
    if now() - token.created_at > timedelta(minutes=60):  # the code proved the contact an hour ago
        return None, None
    return employee, token


@bp.get("/daftar/kata-sandi")
def register_password():
    employee, token = _verified_registration()
    if employee is None:
        return _registration_gone()
    return respond("account/register_password.html", "password_form", problems=[])


@bp.post("/daftar/kata-sandi")
def register_password_post():
    employee, token = _verified_registration()
    if employee is None:
        return _registration_gone()
    new, problems = new_password_problems(employee)
    if problems:
        return respond("account/register_password.html", "password_form", 422, problems=problems)
    with models.db.atomic():
        account = models.Account.for_employee(employee)
        account.must_activate = bool(employee.email)  # phone only: the SMS code proved it already
        account.set_password(new, app_settings())
    audit("registration.password_set", account=account)
    mail.notify_owner(employee, "Kata sandi pertama akun Portal ASN Digital dibuat",
                      "Kata sandi pertama akun Portal ASN Digital Anda dibuat lewat pendaftaran.")
    session.pop("registration", None)
    if account.must_activate:
        mail.send_activation_link(employee, ACTIVATION_MINUTES)
    session["registered_email"] = security.mask_email(employee.email) or "-"
    return go("account.register_done")


@bp.get("/daftar/selesai")
def register_done():
    email = session.get("registered_email")
    if not email:
        return go("account.register")
    return respond("account/register_done.html", "content", email=email if email != "-" else "")


def _activation_page(token, secret, status=200, problems=()):
    account = models.Account.get_or_none(models.Account.employee == token.employee_id)
    return respond("account/activate.html", "activate_form", status, secret=secret, problems=list(problems),
                   needs_password=account is None or account.password_hash is None)


def _link_invalid(kind: str):
    return respond("account/link_invalid.html", "content", 400, kind=kind)


def _from_link(purpose: str, kind: str):
    """The view gets the live token of the mailed link `/<kind path>/<secret>`; a used,
    expired or unknown link gets the same "link tidak berlaku" page."""
    def decorate(view):
        @wraps(view)
        def wrapped(secret):
            token = models.Token.by_link(purpose, secret[:100])
            return _link_invalid(kind) if token is None else view(token, secret)
        return wrapped
    return decorate


@bp.get("/aktivasi/<secret>")
@_from_link("activate", "aktivasi")
def activate(token, secret):
    """Shows a confirm button: following the link does nothing by itself, so a mail
    scanner that opens every link cannot spend it."""
    return _activation_page(token, secret)


@bp.post("/aktivasi/<secret>")
@limiter.limit(_per_ip)
@_from_link("activate", "aktivasi")
def activate_post(token, secret):
    employee = token.employee
    account = models.Account.for_employee(employee)
    is_first_password = account.password_hash is None
    if is_first_password:  # approved by the helpdesk: the password is chosen here
        new, problems = new_password_problems(employee)
        if problems:
            return _activation_page(token, secret, 422, problems)
    if not token.consume():
        return _link_invalid("aktivasi")
    if is_first_password:
        account.set_password(new, app_settings())
        mail.notify_owner(employee, "Kata sandi pertama akun Portal ASN Digital dibuat",
                          "Kata sandi pertama akun Portal ASN Digital Anda dibuat lewat tautan aktivasi.")
    models.Account.update(must_activate=False).where(models.Account.id == account.id).execute()
    audit("registration.activated", account=account)
    flash("Akun Anda sudah aktif. Silakan masuk; berikutnya Anda akan diminta mengaktifkan MFA.", "success")
    return go("auth.login")


# --------------------------------------------------------------------------- forgotten password

# Every answer waits FORGOT_MIN_SECONDS in a server worker; only this many wait at once,
# so a flood of requests (from many addresses, past the limit per address) can't take
# every worker away from signing in.
FORGOT_AT_ONCE = 2
_forgot_waiting = threading.BoundedSemaphore(FORGOT_AT_ONCE)
FORGOT_BUSY = ("Terlalu banyak permintaan lupa kata sandi saat ini. Tunggu beberapa detik lalu kirim "
               "lagi.")

FORGOT_ANSWER = ("Jika NIP dan email cocok dengan data kami, tautan untuk membuat kata sandi baru "
                 f"telah dikirim ke email tersebut dan berlaku {mail.RESET_MINUTES} menit. Periksa juga "
                 "folder spam.")


@bp.get("/lupa-kata-sandi")
def forgot():
    return respond("account/forgot.html", "forgot_form", errors={}, form={}, sent=False)


@bp.post("/lupa-kata-sandi")
@limiter.limit(_per_ip)
def forgot_post():
    form = {"nip": request.form.get("nip", "")[:64], "email": request.form.get("email", "")[:100].strip()}
    errors = {}
    try:
        nip = security.parse_nip(form["nip"]).value
    except security.NipError as exc:
        errors["nip"] = str(exc)
    fields.check(errors, "email", fields.email, form["email"])
    if errors:
        return respond("account/forgot.html", "forgot_form", 422, errors=errors, form=form, sent=False)
    if not _forgot_waiting.acquire(blocking=False):
        audit("password.reset_requested", nip=nip, detail="ditolak: terlalu banyak permintaan bersamaan")
        return respond("account/forgot.html", "forgot_form", 429, errors={}, form=form, sent=False,
                       message=FORGOT_BUSY)
    try:
        _answer_forgot(nip, form["email"])
    finally:
        _forgot_waiting.release()
    return respond("account/forgot.html", "forgot_form", errors={}, form={}, sent=True,
                   answer=FORGOT_ANSWER)


def _answer_forgot(nip: str, email: str):
    """The same time whether or not the data match: every answer waits until
    FORGOT_MIN_SECONDS have passed, so queuing a mail can't be timed."""
    started = time.monotonic()
    employee = models.Employee.by_nip(nip)
    matched = bool(employee and employee.is_active and security.constant_time_equals(
        (employee.email or "\0").lower(), email.lower()))
    # A cap per employee, whoever asks, instead of a limit keyed on the typed NIP: a
    # stranger can't flood the owner's mailbox, nor use up the owner's own requests.
    if matched and mail.may_send(employee, "reset"):
        mail.send_reset_link(employee)
    audit("password.reset_requested", nip=nip, detail="data cocok" if matched else "data tidak cocok")
    time.sleep(max(0.0, current_app.config["FORGOT_MIN_SECONDS"] - (time.monotonic() - started)))


@bp.get("/reset/<secret>")
@_from_link("reset", "reset")
def reset(token, secret):
    return respond("account/reset.html", "password_form", problems=[], secret=secret)


@bp.post("/reset/<secret>")
@limiter.limit(_per_ip)
@_from_link("reset", "reset")
def reset_post(token, secret):
    employee = token.employee
    new, problems = new_password_problems(employee)
    if problems:
        return respond("account/reset.html", "password_form", 422, problems=problems, secret=secret)
    if not token.consume():
        return _link_invalid("reset")
    account = models.Account.for_employee(employee)
    account.must_activate = False  # the e-mail link proves the address
    account.set_password(new, app_settings())
    account.register_success()  # unlocks a locked account
    ended = account.end_sessions()
    audit("password.reset", account=account, detail=f"lewat email; {ended} sesi diakhiri")
    mail.send_email(employee.email, "Kata sandi Portal ASN Digital telah diganti", "password_changed",
                    nip=employee.nip, nama=employee.nama, when=now())
    flash("Kata sandi baru tersimpan. Silakan masuk dengan kata sandi baru dan kode OTP.", "success")
    return go("auth.login")
