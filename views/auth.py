"""Sign-in: NIP + password, the forced password change, the OTP step, and logout."""

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_login import current_user

import mail
import models
import passkeys
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
from views.signin import (
    FIRST_PASSWORD,
    cancel_pending,
    failure_counter,
    finish_login,
    locked_message,
    next_stage,
    not_at_step,
    password_to_use,
    pending_account,
    pending_deadline,
    settle_attempt,
    sign_out,
    start_pending,
    take_attempt,
)

bp = Blueprint("auth", __name__)

LOCKED_HELP = ("akun-terkunci",)
TEMPORARY_EXPIRED_ERROR = (f"Kata sandi sementara dari helpdesk sudah tidak berlaku (hanya berlaku "
                           f"{models.TEMPORARY_PASSWORD_HOURS} jam). Hubungi helpdesk untuk meminta "
                           "kata sandi sementara yang baru.")


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _otp_limit():
    return current_app.config["OTP_RATE_LIMIT"]


def generic_login_error() -> str:
    """The same words for an unknown NIP, a wrong password and a wrong first password."""
    return (f"NIP atau kata sandi salah. Jika ini masuk pertama kali Anda, kata sandi awal adalah "
            f"{FIRST_PASSWORD[app_settings().first_login]} Anda.")


def inactive_message() -> str:
    return ("Status kepegawaian tidak aktif, sehingga akun ini tidak dapat digunakan untuk "
            f"masuk. Hubungi {current_app.config['HELPDESK_CONTACT']} untuk memeriksa "
            "data kepegawaian Anda, dengan membawa SK pengangkatan dan KTP.")


@bp.app_context_processor
def sign_in_journey():
    """When the sign-in in progress must be finished, for the step pages (a function: only
    they read the session for it)."""
    return {"journey_deadline": pending_deadline}


@bp.get("/")
def home():
    return redirect(url_for("dashboard.index" if current_user.is_authenticated else "auth.login"))


# --------------------------------------------------------------------------- password step


def _login_page(status=200, errors=None, message=None, nip="", help=("gagal-masuk",)):
    return respond("auth/login.html", "login_form", status, errors=errors or {},
                   message=message, nip=nip,
                   first_password=FIRST_PASSWORD[app_settings().first_login],
                   next_url=security.safe_next_url(request.values.get("next")) or "", help=help)


def is_app_sign_in(next_url) -> bool:
    """An app asked for this sign-in (OpenID Connect): it may ask a signed-in user again."""
    return bool(next_url) and next_url.startswith(url_for("oidc.authorize") + "?")


@bp.get("/login")
def login():
    if current_user.is_authenticated and not is_app_sign_in(security.safe_next_url(request.args.get("next"))):
        return redirect(url_for("dashboard.index"))
    hinted = request.args.get("nip", "")[:18]  # an app's login_hint
    return _login_page(nip=hinted if hinted.isdigit() else "")


def _proof(account, password: str) -> str | None:
    """How `password` proves the sign-in: "password" (the account's own or a temporary
    one), "nik" or "letter" (first sign-in), or None. Always one argon2 check, whether
    the NIP exists or not."""
    settings = app_settings()
    if security.verify_password(account.password_hash if account else None, password, settings.argon2_cost):
        account.upgrade_password_hash(password, settings)
        return "password"
    if account is None:
        return None
    return account.first_password(password, settings)


@bp.post("/login")
@limiter.limit(_login_limit)
def login_post():
    typed_nip = request.form.get("nip", "")[:64]
    password = request.form.get("password", "")[:256]
    try:
        nip = security.parse_nip(typed_nip)
    except security.NipError as exc:
        return _login_page(422, errors={"nip": str(exc)}, nip=typed_nip)
    if not password:
        return _login_page(422, errors={"password": "Kata sandi wajib diisi."}, nip=nip.value)

    account = models.Account.signing_in(nip.value)
    employee = account.employee if account else None
    # An unknown NIP has a counter of its own and gets the very same answers, so that
    # nothing here tells which NIPs exist.
    counter = failure_counter(account) if account else models.UnknownNip.for_nip(nip.value)
    if not take_attempt(counter):
        audit("login.locked", account=account, nip=nip.value, detail="percobaan saat terkunci")
        return _login_page(423, message=locked_message(counter.lock_minutes_left()), nip=nip.value,
                           help=LOCKED_HELP)
    proof = _proof(account, password)
    locked_now = settle_attempt(counter, proof is not None, account=account, nip=nip.value)
    if proof is None:
        audit("login.failed", account=account, nip=nip.value, detail="kata sandi salah")
        if locked_now:
            return _login_page(423, message=locked_message(counter.lock_minutes_left()), nip=nip.value,
                               help=LOCKED_HELP)
        return _login_page(422, message=generic_login_error(), nip=nip.value)

    # Only now, after the right password, may the employment status be told.
    if not employee.is_active:
        audit("login.inactive", account=account, detail=f"status {employee.status}")
        return _login_page(403, message=inactive_message(), nip=nip.value)
    if account.temporary_password_expired:
        audit("login.failed", account=account, detail="kata sandi sementara kedaluwarsa")
        return _login_page(403, message=TEMPORARY_EXPIRED_ERROR, nip=nip.value)
    if account.must_activate:
        audit("login.not_activated", account=account)
        return _login_page(403, message=(
            "Akun Anda belum diaktifkan. Buka tautan aktivasi yang kami kirim ke email Anda "
            "(periksa juga folder spam). Jika tautan sudah kedaluwarsa, daftar ulang."), nip=nip.value)
    next_url = security.safe_next_url(request.form.get("next"))
    if proof == "nik" and app_settings().first_login == "code":
        return _start_first_login_proof(account, next_url)
    audit("login.password_ok", account=account, detail={"nik": "kata sandi awal NIK",
                                                         "letter": "kode surat aktivasi"}.get(proof, ""))
    return start_pending(account, next_stage(account), next_url=next_url)


# --------------------------------------------------------------------------- first sign-in proof
# The NIK is public: it proves nothing. Before the first password is chosen, a code goes
# to the e-mail and phone on record (imported by the instansi), and only its owner can
# type it.


def _start_first_login_proof(account, next_url):
    employee = account.employee
    if not employee.has_contact:
        audit("first_login.no_contact", account=account)
        return _login_page(403, nip=employee.nip, help=("tidak-ada-kontak",), message=(
            "NIK Anda benar, tetapi data kepegawaian Anda belum memuat email atau nomor ponsel "
            "untuk mengirim kode verifikasi, jadi masuk pertama kali tidak dapat dibuktikan di sini. "
            f"Hubungi {current_app.config['HELPDESK_CONTACT']} dengan membawa KTP dan SK "
            "pengangkatan: helpdesk memeriksa identitas Anda lalu memberi kata sandi sementara."))
    audit("login.password_ok", account=account, detail="kata sandi awal NIK; kode dikirim ke kontak tercatat")
    response = start_pending(account, "proof", next_url=next_url)
    send_first_login_code(employee)
    return response


def send_first_login_code(employee) -> bool:
    return mail.send_code(employee, "first_login", "Kode verifikasi masuk pertama kali Portal ASN Digital",
                          "first_login_code", "Kode masuk pertama kali Portal ASN Digital: {code}. Berlaku {minutes} "
                          "menit. Jangan berikan kepada siapa pun. Bukan Anda? Hubungi helpdesk.")


def _code_page(account, status=200, error=None, info=None, problems=()):
    employee = account.employee
    return respond("auth/first_login_code.html", "code_form", status, error=error, info=info, problems=problems,
                   email=security.mask_email(employee.email), telepon=security.mask_phone(employee.telepon),
                   minutes=mail.CODE_MINUTES)


@bp.get("/login/kode")
def first_login_code():
    account = pending_account("proof")
    if account is None:
        return not_at_step()
    return _code_page(account)


@bp.post("/login/kode")
@limiter.limit(_otp_limit)
@limiter.limit(code_limit, key_func=step_key)
def first_login_code_post():
    """The code and, on the same form, the new password: one step on a slow link. The
    password's rules are checked first, so a mistake there spends none of the code's tries."""
    account = pending_account("proof")
    if account is None:
        return not_at_step()
    # A page loaded before the new password joined this form posts the code alone.
    has_password = "new_password" in request.form or "confirm_password" in request.form
    if has_password:
        new, problems = new_password_problems(account.employee, account)
        if problems:
            # Every mistake at once; a code that is not 6 digits is told too (checking its form spends no try).
            typed = security.normalize_otp(request.form.get("code", ""))
            malformed = None if len(typed) == 6 and typed.isdigit() else CODE_ERRORS["malformed"]
            return _code_page(account, 422, malformed, problems=problems)
    result, error = check_code(models.Token.newest(account.employee, "first_login"))
    if result != "ok":
        audit("first_login.code_failed", account=account, detail=result)
        return _code_page(account, 422, error)
    audit("first_login.verified", account=account)
    if not has_password:
        return start_pending(account, "password", next_url=session.get("pending", {}).get("next"))
    return _save_new_password(account, new)


@bp.post("/login/kode/kirim-ulang")
@limiter.limit(lambda: current_app.config["RESEND_RATE_LIMIT"], key_func=step_key)
def first_login_code_resend():
    account = pending_account("proof")
    if account is None:
        return not_at_step()
    if not send_first_login_code(account.employee):
        return _code_page(account, 429, CODE_ERRORS["capped"])
    audit("first_login.code_resent", account=account)
    return _code_page(account, info="Kode baru telah dikirim. Kode sebelumnya tidak berlaku lagi.")


# --------------------------------------------------------------------------- forced password change


def _password_page(account, status=200, problems=None):
    return respond("auth/password_new.html", "password_form", status, problems=problems or [],
                   is_default=account.password_hash is None)


@bp.get("/password/new")
def password_new():
    account = pending_account("password")
    if account is None:
        return not_at_step()
    return _password_page(account)


@bp.post("/password/new")
def password_new_post():
    account = pending_account("password")
    if account is None:
        return not_at_step()
    new, problems = new_password_problems(account.employee, account)
    if problems:
        return _password_page(account, 422, problems)
    return _save_new_password(account, new)


def _save_new_password(account, new: str):
    """The password that must be set before the sign-in goes on (the first one, or one the
    helpdesk or an expiry asked for), then the next step."""
    is_first = account.password_hash is None
    account.set_password(new, app_settings())
    audit("password.changed", account=account, detail="penggantian wajib saat masuk")
    if is_first:
        mail.notify_owner(account.employee, "Kata sandi pertama akun Portal ASN Digital dibuat",
                          "Kata sandi pertama akun Portal ASN Digital Anda baru saja dibuat.")
    flash("Kata sandi baru tersimpan.", "success")
    return start_pending(account, next_stage(account), next_url=session.get("pending", {}).get("next"))


# --------------------------------------------------------------------------- OTP step


def _otp_page(account, status=200, error=None, help=(), field_error=True):
    # Naming the registered device helps whoever types a code from another phone.
    return respond("auth/otp.html", "otp_form", status, error=error, help=help, field_error=field_error,
                   devices=list(account.confirmed_authenticators()),
                   has_passkeys=models.Passkey.of(account).exists())


def _recovery_page(account, status=200, error=None, help=(), field_error=True):
    return respond("auth/recovery.html", "recovery_form", status, error=error, help=help, field_error=field_error)


@bp.get("/login/otp")
def otp():
    account = pending_account("otp")
    if account is None:
        return not_at_step()
    return _otp_page(account)


@bp.get("/login/kode-pemulihan")
def recovery():
    account = pending_account("otp")
    if account is None:
        return not_at_step()
    return _recovery_page(account)


@bp.post("/login/otp")
@limiter.limit(_otp_limit)
@limiter.limit(code_limit, key_func=step_key)
def otp_post():
    account = pending_account("otp")
    if account is None:
        return not_at_step()
    return _second_factor(account, request.form.get("otp", "")[:64], _otp_page)


@bp.post("/login/kode-pemulihan")
@limiter.limit(_otp_limit)
@limiter.limit(code_limit, key_func=step_key)
def recovery_post():
    account = pending_account("otp")
    if account is None:
        return not_at_step()
    return _second_factor(account, request.form.get("recovery_code", "")[:64], _recovery_page)


def _second_factor(account, typed: str, page):
    """Check an OTP or a recovery code (either form takes both: people type what they
    have), and answer with `page` on failure."""
    if not typed.strip() or len(typed) > 40:
        return _malformed(account, page)
    counter = failure_counter(account)
    if not take_attempt(counter):
        audit("login.locked", account=account, detail="OTP saat akun terkunci")
        return page(account, 423, locked_message(counter.lock_minutes_left()), LOCKED_HELP, field_error=False)
    factor = account.check_second_factor(typed, app_settings())
    if factor.kind == "malformed":
        counter.give_back_attempt()  # nothing was checked
        return _malformed(account, page)
    event = {"otp": {"ok": "otp.ok", "replayed": "otp.replayed", "wrong": "otp.failed"},
             "recovery_code": {"ok": "recovery_code.used", "wrong": "recovery_code.failed"}}[factor.kind][factor.result]
    if settle_attempt(counter, factor.passed, account=account):
        audit(event, account=account)
        return page(account, 423, locked_message(counter.lock_minutes_left()), LOCKED_HELP, field_error=False)
    if factor.passed and factor.kind == "otp":
        audit(event, account=account)
        return finish_login(account, "otp")
    if factor.passed:
        left = models.RecoveryCode.remaining(account)
        audit(event, account=account, detail=f"sisa {left}")
        mail.send_email(account.employee.email, "Kode pemulihan akun Anda dipakai", "recovery_code_used",
                        nip=account.employee.nip, nama=account.employee.nama, when=now(), left=left)
        flash(f"Anda masuk dengan kode pemulihan. Sisa kode: {left}. Jika autentikator hilang, "
              "hubungi helpdesk untuk mendaftarkan perangkat baru.", "info")
        return finish_login(account, "recovery_code")
    audit(event, account=account, detail="" if factor.skew is None else f"jam ponsel {factor.skew:+d} menit")
    if factor.kind == "recovery_code":
        error, help = "Kode pemulihan salah atau sudah pernah dipakai.", ("autentikator-hilang",)
    elif factor.result == "replayed":
        error = ("Kode ini sudah pernah dipakai. Tunggu sampai aplikasi menampilkan kode "
                 "berikutnya (berganti setiap 30 detik), lalu masukkan kode baru itu.")
        help = ("salah-memasukkan-otp",)
    elif factor.skew is not None:
        error, help = security.clock_skew_message(factor.skew), ("kode-otp-tidak-valid",)
    else:
        error = ("Kode OTP salah atau sudah kedaluwarsa. Pastikan jam di ponsel Anda diatur "
                 "otomatis, lalu masukkan kode yang sedang tampil.")
        help = ("kode-otp-tidak-valid", "salah-memasukkan-otp", "perangkat-tidak-terdaftar")
    left = app_settings().max_failed_logins - counter.failed_count
    return page(account, 422, f"{error} Sisa percobaan sebelum akun dikunci sementara: {left}.", help)


def _malformed(account, page):
    message = ("Masukkan 6 digit kode OTP dari aplikasi autentikator." if page is _otp_page else
               "Kode pemulihan terdiri dari 10 huruf dan angka, misalnya abcde-23456.")
    return page(account, 422, message, ("salah-memasukkan-otp", "autentikator-hilang"))


# --------------------------------------------------------------------------- passkeys
# The browser asks for options (a challenge kept in the session), the phone signs them
# after its fingerprint, face or screen lock, and the answer is posted with the form.

PASSKEY_HELP = ("passkey",)
PASSKEY_ERRORS = {
    "expired": "Waktu untuk memakai passkey habis atau permintaan ini sudah dipakai. Coba sekali lagi.",
    "unknown": "Passkey ini tidak terdaftar untuk akun Anda di portal ini. Masuk dengan NIP dan kata sandi.",
    "invalid": ("Passkey tidak dapat diperiksa. Pastikan alamat di browser adalah alamat resmi portal, "
                "lalu coba sekali lagi."),
    "cloned": ("Passkey ini ditolak: penghitung keamanannya mundur, tanda passkey mungkin disalin. Masuk "
               "dengan NIP dan kata sandi, hapus passkey itu di halaman Keamanan, lalu hubungi helpdesk."),
}
PASSKEY_EVENT_DETAIL = {"expired": "tantangan kedaluwarsa atau dipakai ulang", "unknown": "passkey tidak dikenal",
                        "invalid": "jawaban passkey tidak sah", "cloned": "penghitung tanda tangan mundur"}


def _passkey_failed(assertion, account) -> None:
    event = "passkey.cloned" if assertion.result == "cloned" else "passkey.failed"
    name = assertion.passkey.name if assertion.passkey else ""
    audit(event, account=account, detail="; ".join(filter(None, [name, PASSKEY_EVENT_DETAIL[assertion.result]])))


@bp.post("/login/passkey/opsi")
@limiter.limit(_login_limit)
def passkey_sign_in_options():
    return current_app.response_class(passkeys.sign_in_options(), mimetype="application/json")


@bp.post("/login/passkey")
@limiter.limit(_login_limit)
def passkey_sign_in():
    """One tap, no NIP, no password, no OTP: a passkey that verified its user is both
    factors. Lockout, audit, the browser's device cookie and the new-browser mail work
    as for a password sign-in."""
    assertion = passkeys.verify_assertion(request.form.get("credential", ""))
    account = assertion.passkey.account if assertion.passkey else None
    if account is None:
        audit("login.failed", detail=f"passkey: {PASSKEY_EVENT_DETAIL[assertion.result]}")
        return _login_page(422, message=PASSKEY_ERRORS[assertion.result], help=PASSKEY_HELP)
    nip = account.employee.nip
    counter = failure_counter(account)
    if not take_attempt(counter):
        audit("login.locked", account=account, detail="passkey saat terkunci")
        return _login_page(423, message=locked_message(counter.lock_minutes_left()), nip=nip, help=LOCKED_HELP)
    if not assertion.passed:
        _passkey_failed(assertion, account)
    if settle_attempt(counter, assertion.passed, account=account):
        audit("login.failed", account=account, detail=PASSKEY_EVENT_DETAIL[assertion.result])
        return _login_page(423, message=locked_message(counter.lock_minutes_left()), nip=nip, help=LOCKED_HELP)
    if not assertion.passed:
        audit("login.failed", account=account, detail=PASSKEY_EVENT_DETAIL[assertion.result])
        return _login_page(422, message=PASSKEY_ERRORS[assertion.result], nip=nip, help=PASSKEY_HELP)
    if not account.employee.is_active:
        audit("login.inactive", account=account, detail=f"status {account.employee.status}")
        return _login_page(403, message=inactive_message(), nip=nip)
    if account.must_activate or next_stage(account) != "otp":
        # A helpdesk's temporary password (or an unfinished first sign-in) is finished with the password.
        audit("login.failed", account=account, detail="passkey: proses masuk dengan kata sandi belum selesai")
        return _login_page(403, nip=nip, message=f"Untuk akun ini, masuk dulu dengan NIP dan "
                                                 f"{password_to_use(account)}.")
    audit("passkey.used", account=account, detail=f"{assertion.passkey.name}; masuk tanpa kata sandi")
    # What a password sign-in keeps in its pending state, for finish_login: where to go
    # next (an app's sign-in) and this browser's earlier session.
    session["pending"] = {"next": security.safe_next_url(request.form.get("next")),
                          "previous": current_user.current_session.id
                          if current_user.is_authenticated and current_user.current_session else None}
    return finish_login(account, "passkey_sign_in")


@bp.post("/login/otp/passkey/opsi")
@limiter.limit(_otp_limit)
def passkey_second_factor_options():
    account = pending_account("otp")
    if account is None:
        return not_at_step()
    return current_app.response_class(passkeys.sign_in_options(account), mimetype="application/json")


@bp.post("/login/otp/passkey")
@limiter.limit(_otp_limit)
@limiter.limit(code_limit, key_func=step_key)
def passkey_second_factor():
    """A passkey instead of the OTP: it counts exactly as a correct code would."""
    account = pending_account("otp")
    if account is None:
        return not_at_step()
    counter = failure_counter(account)
    if not take_attempt(counter):
        audit("login.locked", account=account, detail="passkey saat akun terkunci")
        return _otp_page(account, 423, locked_message(counter.lock_minutes_left()), LOCKED_HELP, field_error=False)
    assertion = passkeys.verify_assertion(request.form.get("credential", ""), account)
    if not assertion.passed:
        _passkey_failed(assertion, account)
    if settle_attempt(counter, assertion.passed, account=account):
        return _otp_page(account, 423, locked_message(counter.lock_minutes_left()), LOCKED_HELP, field_error=False)
    if not assertion.passed:
        left = app_settings().max_failed_logins - counter.failed_count
        return _otp_page(account, 422, f"{PASSKEY_ERRORS[assertion.result]} Sisa percobaan sebelum akun dikunci "
                                       f"sementara: {left}.", PASSKEY_HELP, field_error=False)
    audit("passkey.used", account=account, detail=assertion.passkey.name)
    return finish_login(account, "passkey")


# --------------------------------------------------------------------------- cancel and logout


@bp.post("/login/batal")
def cancel():
    return cancel_pending()



@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        audit("logout", account=current_user)
    sign_out()
    flash("Anda telah keluar. Terima kasih.", "success")
    return go("auth.login")
