"""Self-service: registration (Daftar) with a verification code and an activation link,
and the forgotten-password link."""

import re
import time
from datetime import timedelta

from flask import Blueprint, current_app, flash, request, session

import mail
import models
import security
from security import now
from views import audit, go, limiter, new_password_problems, nip_key, per_nip_code_limit, respond

bp = Blueprint("account", __name__)

CODE_MINUTES = 10
CODE_TRIES = 5
ACTIVATION_MINUTES = 24 * 60


def _per_ip():
    return current_app.config["SELF_SERVICE_IP_RATE_LIMIT"]


# --------------------------------------------------------------------------- registration


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
    form["email"] = form["email"].strip().lower()
    if not models.EMAIL_RE.match(form["email"]):
        errors["email"] = "Alamat email tidak valid, contoh: nama@instansi.go.id."
    form["telepon"] = re.sub(r"[\s\-]", "", form["telepon"])
    if not models.PHONE_RE.match(form["telepon"]):
        errors["telepon"] = "Nomor HP tidak valid, contoh: 081234567890."
    return errors


@bp.post("/daftar")
@limiter.limit(_per_ip)
@limiter.limit(lambda: current_app.config["REGISTER_NIP_RATE_LIMIT"], key_func=nip_key)
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
    if not security.constant_time_equals(form["nik"], employee.nik):
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

    code = security.verification_code()
    models.Token.issue(employee, "register", code, CODE_MINUTES,
                       data={"email": form["email"], "telepon": form["telepon"]})
    _send_code(employee, form["email"], form["telepon"], code)
    audit("registration.started", nip=employee.nip)
    session["registration"] = {"nip": employee.nip, "verified": False}
    return go("account.register_verify")


def _send_code(employee, email, telepon, code):
    mail.send_email(email, "Kode verifikasi pendaftaran Portal ASN Digital", "register_code",
                    nip=employee.nip, nama=employee.nama, code=code, minutes=CODE_MINUTES)
    mail.send_sms(telepon, f"Kode verifikasi Portal ASN Digital: {code}. Berlaku {CODE_MINUTES} "
                  "menit. Jangan berikan kode ini kepada siapa pun.", nip=employee.nip)


def _registration_token():
    """The registration in this browser and its newest code, or (None, None)."""
    pending = session.get("registration")
    employee = pending and models.Employee.by_nip(pending["nip"])
    if not employee:
        return None, None
    token = (models.Token.select().where((models.Token.employee == employee)
                                         & (models.Token.purpose == "register"))
             .order_by(models.Token.id.desc()).first())
    return employee, token


def _verify_page(status=200, error=None, info=None):
    employee, token = _registration_token()
    payload = token.payload if token else {}
    return respond("account/register_verify.html", "verify_form", status, error=error, info=info,
                   email=payload.get("email", ""), telepon=payload.get("telepon", ""))


def _registration_gone():
    flash("Pendaftaran belum dimulai atau sudah berakhir. Silakan isi formulir pendaftaran.", "info")
    return go("account.register")


@bp.get("/daftar/verifikasi")
def register_verify():
    employee, token = _registration_token()
    if token is None:
        return _registration_gone()
    return _verify_page()


@bp.post("/daftar/verifikasi")
@limiter.limit(_per_ip)
@limiter.limit(per_nip_code_limit, key_func=nip_key)
def register_verify_post():
    employee, token = _registration_token()
    if token is None:
        return _registration_gone()
    code = re.sub(r"\s", "", request.form.get("code", ""))[:32]
    if token.used_at is not None and not session["registration"]["verified"]:
        return _verify_page(422, "Kode ini sudah tidak berlaku. Tekan Kirim ulang kode untuk kode baru.")
    if token.expires_at <= now():
        return _verify_page(422, f"Kode sudah kedaluwarsa (berlaku {CODE_MINUTES} menit). "
                                 "Tekan Kirim ulang kode untuk kode baru.")
    if token.attempts >= CODE_TRIES:
        return _verify_page(422, "Kode salah terlalu banyak. Tekan Kirim ulang kode untuk kode baru.")
    if not (len(code) == 6 and code.isdigit()):
        return _verify_page(422, "Kode verifikasi terdiri dari 6 digit angka.")
    if not security.constant_time_equals(security.hash_token(code), token.secret_hash):
        models.Token.update(attempts=models.Token.attempts + 1).where(models.Token.id == token.id).execute()
        left = CODE_TRIES - token.attempts - 1
        audit("registration.code_failed", nip=employee.nip)
        if left <= 0:
            return _verify_page(422, "Kode salah terlalu banyak. Tekan Kirim ulang kode untuk kode baru.")
        return _verify_page(422, f"Kode salah. Sisa percobaan: {left}.")
    token.consume()
    session["registration"] = {"nip": employee.nip, "verified": True, "token": token.id}
    audit("registration.verified", nip=employee.nip)
    return go("account.register_password")


def _resend_limit():
    return current_app.config["RESEND_RATE_LIMIT"]


@bp.post("/daftar/kirim-ulang")
@limiter.limit(_per_ip)
@limiter.limit(_resend_limit, key_func=nip_key)
def register_resend():
    employee, token = _registration_token()
    if token is None or session["registration"].get("verified"):
        return _registration_gone()
    code = security.verification_code()
    payload = token.payload
    models.Token.issue(employee, "register", code, CODE_MINUTES, data=payload)
    _send_code(employee, payload["email"], payload["telepon"], code)
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
    payload = token.payload
    with models.db.atomic():
        employee.email, employee.telepon = payload["email"], payload["telepon"]
        employee.save()
        account = models.Account.for_employee(employee)
        account.must_activate = True
        account.set_password(new, current_app.config["ARGON2_COST"])
    secret = security.new_link_secret()
    models.Token.issue(employee, "activate", secret, ACTIVATION_MINUTES)
    mail.send_email(employee.email, "Aktivasi akun Portal ASN Digital", "activation", nip=employee.nip,
                    nama=employee.nama, link=mail.link(f"/aktivasi/{secret}"))
    audit("registration.password_set", account=account)
    session.pop("registration", None)
    session["registered_email"] = employee.email
    return go("account.register_done")


@bp.get("/daftar/selesai")
def register_done():
    email = session.get("registered_email")
    if not email:
        return go("account.register")
    return respond("account/register_done.html", "content", email=email)


@bp.get("/aktivasi/<secret>")
def activate(secret):
    token = models.Token.by_link("activate", secret[:100])
    if token is None or not token.consume():
        return respond("account/link_invalid.html", "content", 400, kind="aktivasi")
    account = models.Account.for_employee(token.employee)
    models.Account.update(must_activate=False).where(models.Account.id == account.id).execute()
    audit("registration.activated", account=account)
    flash("Akun Anda sudah aktif. Silakan masuk; berikutnya Anda akan diminta mengaktifkan MFA.", "success")
    return go("auth.login")


# --------------------------------------------------------------------------- forgotten password

FORGOT_ANSWER = ("Jika NIP dan email cocok dengan data kami, tautan untuk membuat kata sandi baru "
                 f"telah dikirim ke email tersebut dan berlaku {mail.RESET_MINUTES} menit. Periksa juga "
                 "folder spam.")


@bp.get("/lupa-kata-sandi")
def forgot():
    return respond("account/forgot.html", "forgot_form", errors={}, form={}, sent=False)


@bp.post("/lupa-kata-sandi")
@limiter.limit(_per_ip)
@limiter.limit(lambda: current_app.config["FORGOT_NIP_RATE_LIMIT"], key_func=nip_key)
def forgot_post():
    form = {"nip": request.form.get("nip", "")[:64], "email": request.form.get("email", "")[:100].strip()}
    errors = {}
    try:
        nip = security.parse_nip(form["nip"]).value
    except security.NipError as exc:
        errors["nip"] = str(exc)
    if not models.EMAIL_RE.match(form["email"]):
        errors["email"] = "Alamat email tidak valid, contoh: nama@instansi.go.id."
    if errors:
        return respond("account/forgot.html", "forgot_form", 422, errors=errors, form=form, sent=False)
    # The same answer, and the same time, whether or not the data match: every answer
    # waits until FORGOT_MIN_SECONDS have passed, so queuing a mail can't be timed.
    started = time.monotonic()
    employee = models.Employee.by_nip(nip)
    matched = bool(employee and employee.is_active and security.constant_time_equals(
        (employee.email or "\0").lower(), form["email"].lower()))
    if matched:
        mail.send_reset_link(employee)
    audit("password.reset_requested", nip=nip, detail="data cocok" if matched else "data tidak cocok")
    time.sleep(max(0.0, current_app.config["FORGOT_MIN_SECONDS"] - (time.monotonic() - started)))
    return respond("account/forgot.html", "forgot_form", errors={}, form={}, sent=True,
                   answer=FORGOT_ANSWER)


@bp.get("/reset/<secret>")
def reset(secret):
    token = models.Token.by_link("reset", secret[:100])
    if token is None:
        return respond("account/link_invalid.html", "content", 400, kind="reset")
    return respond("account/reset.html", "password_form", problems=[], secret=secret)


@bp.post("/reset/<secret>")
@limiter.limit(_per_ip)
def reset_post(secret):
    token = models.Token.by_link("reset", secret[:100])
    if token is None:
        return respond("account/link_invalid.html", "content", 400, kind="reset")
    employee = token.employee
    new, problems = new_password_problems(employee)
    if problems:
        return respond("account/reset.html", "password_form", 422, problems=problems, secret=secret)
    if not token.consume():
        return respond("account/link_invalid.html", "content", 400, kind="reset")
    account = models.Account.for_employee(employee)
    account.must_activate = False  # the e-mail link proves the address
    account.set_password(new, current_app.config["ARGON2_COST"])
    account.register_success()  # unlocks a locked account
    ended = account.end_sessions()
    audit("password.reset", account=account, detail=f"lewat email; {ended} sesi diakhiri")
    mail.send_email(employee.email, "Kata sandi Portal ASN Digital telah diganti", "password_changed",
                    nip=employee.nip, nama=employee.nama, when=now())
    flash("Kata sandi baru tersimpan. Silakan masuk dengan kata sandi baru dan kode OTP.", "success")
    return go("auth.login")
