"""MFA enrollment: QR code, manual key and open-in-app link, device name, first OTP."""

from flask import Blueprint, current_app, flash, request

import models
import security
from views import audit, finish_login, limiter, pending_account, pending_expired, respond

bp = Blueprint("mfa", __name__)


def _setup_page(account, status=200, errors=None, device_name=""):
    cfg = current_app.config
    authenticator = models.Authenticator.pending_for(account, cfg["SECRET_KEY"])
    secret = authenticator.secret(cfg["SECRET_KEY"])
    uri = security.totp_uri(secret, account.employee.nip, cfg["TOTP_ISSUER"])
    return respond("mfa/setup.html", "setup_form", status, errors=errors or {},
                   device_name=device_name, otpauth_uri=uri, qr_svg=security.qr_svg(uri),
                   grouped_secret=security.group_secret(secret), nip=account.employee.nip,
                   issuer=cfg["TOTP_ISSUER"])


@bp.get("/setup")
def setup():
    account = pending_account("mfa_setup")
    if account is None:
        return pending_expired()
    return _setup_page(account)


@bp.post("/setup")
@limiter.limit(lambda: current_app.config["OTP_RATE_LIMIT"])
def setup_post():
    account = pending_account("mfa_setup")
    if account is None:
        return pending_expired()
    device_name = " ".join(request.form.get("device_name", "").split())[:100]
    code = security.normalize_otp(request.form.get("otp", ""))[:32]
    errors = {}
    if not device_name:
        errors["device_name"] = "Isi nama perangkat, misalnya \"HP Samsung pribadi\"."
    elif len(device_name) > 40:
        errors["device_name"] = "Nama perangkat paling banyak 40 karakter."
    if not (len(code) == 6 and code.isdigit()):
        errors["otp"] = "Kode OTP terdiri dari 6 digit angka yang tampil di aplikasi."
    if errors:
        return _setup_page(account, 422, errors, device_name)

    secret_key = current_app.config["SECRET_KEY"]
    authenticator = models.Authenticator.pending_for(account, secret_key)
    result = authenticator.use_code(code, secret_key)
    if result != "ok":
        audit("mfa.enroll_failed", account=account, detail=result)
        errors["otp"] = ("Kode tidak cocok. Pastikan Anda memindai kode QR di halaman ini "
                         "(bukan yang lama), jam ponsel diatur otomatis, lalu masukkan kode "
                         "yang sedang tampil.")
        return _setup_page(account, 422, errors, device_name)
    authenticator.confirm(device_name)
    audit("mfa.enrolled", account=account, detail=device_name)
    flash("Autentikator berhasil diaktifkan. Mulai sekarang, setiap masuk memerlukan kode OTP "
          "dari aplikasi ini.", "success")
    return finish_login(account, "mfa_enrolled")
