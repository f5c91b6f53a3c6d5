"""Sign-in: NIP + password, the forced password change, the OTP step, and logout."""

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

import demo
import mail
import models
import security
from security import now
from views import (
    audit,
    finish_login,
    go,
    limiter,
    new_password_problems,
    next_stage,
    nip_key,
    pending_account,
    pending_expired,
    per_nip_code_limit,
    respond,
    start_pending,
)

bp = Blueprint("auth", __name__)

LOCKED_HELP = ("akun-terkunci",)
GENERIC_LOGIN_ERROR = ("NIP atau kata sandi salah. Jika ini login pertama Anda, kata sandi "
                       "awal adalah NIK (16 digit) Anda.")
TEMPORARY_EXPIRED_ERROR = (f"Kata sandi sementara dari helpdesk sudah tidak berlaku (hanya berlaku "
                           f"{models.TEMPORARY_PASSWORD_HOURS} jam). Hubungi helpdesk untuk meminta "
                           "kata sandi sementara yang baru.")


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _otp_limit():
    return current_app.config["OTP_RATE_LIMIT"]


def locked_message(minutes: int) -> str:
    return (f"Akun Anda terkunci sementara karena terlalu banyak percobaan gagal. "
            f"Coba lagi dalam {minutes} menit, atau gunakan Lupa kata sandi.")


def inactive_message() -> str:
    return ("Status kepegawaian tidak aktif, sehingga akun ini tidak dapat digunakan untuk "
            f"masuk. Hubungi {current_app.config['HELPDESK_CONTACT']} untuk memeriksa "
            "data kepegawaian Anda, dengan membawa SK pengangkatan dan KTP.")


@bp.get("/")
def home():
    return redirect(url_for("dashboard.index" if current_user.is_authenticated else "auth.login"))


# --------------------------------------------------------------------------- password step


def _login_page(status=200, errors=None, message=None, nip="", help=("gagal-masuk",)):
    demo_employees = demo.employees() if current_app.config["DEMO"] else []
    return respond("auth/login.html", "login_form", status, errors=errors or {},
                   message=message, nip=nip, demo_employees=demo_employees, demo_password=demo.PASSWORD,
                   next_url=security.safe_next_url(request.values.get("next")) or "", help=help)


@bp.get("/login")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    return _login_page()


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

    cfg = current_app.config
    employee = models.Employee.by_nip(nip.value)
    if employee is None:
        security.verify_password(None, password, cfg["ARGON2_COST"])  # same time either way
        audit("login.failed", nip=nip.value, detail="NIP tidak terdaftar")
        return _login_page(422, message=GENERIC_LOGIN_ERROR, nip=nip.value)

    account = models.Account.for_employee(employee)
    minutes = account.lock_minutes_left()
    if minutes:
        audit("login.locked", account=account, detail="percobaan saat akun terkunci")
        return _login_page(423, message=locked_message(minutes), nip=nip.value, help=LOCKED_HELP)
    if not account.check_password(password, cfg["ARGON2_COST"]):
        audit("login.failed", account=account, detail="kata sandi salah")
        if account.register_failure(cfg["MAX_FAILED_LOGINS"], cfg["LOCKOUT_MINUTES"]):
            audit("account.locked", account=account, detail=f"{cfg['MAX_FAILED_LOGINS']} kali gagal")
            return _login_page(423, message=locked_message(account.lock_minutes_left()), nip=nip.value,
                               help=LOCKED_HELP)
        return _login_page(422, message=GENERIC_LOGIN_ERROR, nip=nip.value)
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
    audit("login.password_ok", account=account)
    return start_pending(account, next_stage(account),
                         next_url=security.safe_next_url(request.form.get("next")))


# --------------------------------------------------------------------------- forced password change


def _password_page(account, status=200, problems=None):
    return respond("auth/password_new.html", "password_form", status, problems=problems or [],
                   is_default=account.password_hash is None)


@bp.get("/password/new")
def password_new():
    account = pending_account("password")
    if account is None:
        return pending_expired()
    return _password_page(account)


@bp.post("/password/new")
def password_new_post():
    account = pending_account("password")
    if account is None:
        return pending_expired()
    new, problems = new_password_problems(account.employee, account)
    if problems:
        return _password_page(account, 422, problems)
    account.set_password(new, current_app.config["ARGON2_COST"])
    audit("password.changed", account=account, detail="penggantian wajib saat masuk")
    flash("Kata sandi baru tersimpan.", "success")
    return start_pending(account, next_stage(account), next_url=session.get("pending", {}).get("next"))


# --------------------------------------------------------------------------- OTP step


def _otp_page(account, status=200, error=None, help=()):
    # Naming the registered device helps whoever types a code from another phone.
    return respond("auth/otp.html", "otp_form", status, error=error, help=help,
                   devices=list(account.confirmed_authenticators()))


@bp.get("/login/otp")
def otp():
    account = pending_account("otp")
    if account is None:
        return pending_expired()
    return _otp_page(account)


@bp.post("/login/otp")
@limiter.limit(_otp_limit)
@limiter.limit(per_nip_code_limit, key_func=nip_key)
def otp_post():
    account = pending_account("otp")
    if account is None:
        return pending_expired()
    cfg = current_app.config
    minutes = account.lock_minutes_left()
    if minutes:
        audit("login.locked", account=account, detail="OTP saat akun terkunci")
        return _otp_page(account, 423, locked_message(minutes), LOCKED_HELP)
    typed = request.form.get("otp", "")[:64]
    code = security.normalize_otp(typed)
    if len(code) == 6 and code.isdigit():
        result = account.use_otp(code, cfg["SECRET_KEY"])
        if result == "ok":
            audit("otp.ok", account=account)
            return finish_login(account, "otp")
        if result == "replayed":
            audit("otp.replayed", account=account)
            error = ("Kode ini sudah pernah dipakai. Tunggu sampai aplikasi menampilkan kode "
                     "berikutnya (berganti setiap 30 detik), lalu masukkan kode baru itu.")
            help = ("salah-memasukkan-otp",)
        else:
            skew = None  # diagnosis only: a code from a skewed phone clock stays a wrong code
            for authenticator in account.confirmed_authenticators():
                skew = security.totp_skew_minutes(authenticator.secret(cfg["SECRET_KEY"]), code, now())
                if skew is not None:
                    break
            audit("otp.failed", account=account, detail="" if skew is None else f"jam ponsel {skew:+d} menit")
            if skew is None:
                error = ("Kode OTP salah atau sudah kedaluwarsa. Pastikan jam di ponsel Anda diatur "
                         "otomatis, lalu masukkan kode yang sedang tampil.")
                help = ("kode-otp-tidak-valid", "salah-memasukkan-otp", "perangkat-tidak-terdaftar")
            else:
                error, help = security.clock_skew_message(skew), ("kode-otp-tidak-valid",)
    elif len(models.normalize_recovery_code(typed)) == 10:
        if models.RecoveryCode.use(account, typed, cfg["SECRET_KEY"]):
            left = models.RecoveryCode.remaining(account)
            audit("recovery_code.used", account=account, detail=f"sisa {left}")
            mail.send_email(account.employee.email, "Kode pemulihan akun Anda dipakai", "recovery_code_used",
                            nip=account.employee.nip, nama=account.employee.nama, when=now(), left=left)
            flash(f"Anda masuk dengan kode pemulihan. Sisa kode: {left}. Jika autentikator hilang, "
                  "hubungi helpdesk untuk mendaftarkan perangkat baru.", "info")
            return finish_login(account, "recovery_code")
        audit("recovery_code.failed", account=account)
        error = "Kode pemulihan salah atau sudah pernah dipakai."
        help = ("autentikator-hilang",)
    else:
        return _otp_page(account, 422, "Masukkan 6 digit kode OTP dari aplikasi autentikator, atau "
                                       "kode pemulihan (10 huruf/angka, misalnya abcde-23456).",
                         ("salah-memasukkan-otp", "autentikator-hilang"))
    if account.register_failure(cfg["MAX_FAILED_LOGINS"], cfg["LOCKOUT_MINUTES"]):
        audit("account.locked", account=account, detail=f"{cfg['MAX_FAILED_LOGINS']} kali gagal")
        error = locked_message(account.lock_minutes_left())
        return _otp_page(account, 423, error, LOCKED_HELP)
    left = cfg["MAX_FAILED_LOGINS"] - account.failed_count
    return _otp_page(account, 422, f"{error} Sisa percobaan sebelum akun dikunci sementara: {left}.", help)


# --------------------------------------------------------------------------- logout


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        audit("logout", account=current_user)
        if current_user.current_session:
            current_user.current_session.delete_instance()
        logout_user()
    session.clear()
    flash("Anda telah keluar. Terima kasih.", "success")
    return go("auth.login")
