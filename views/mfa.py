"""MFA enrollment, one thing per page: install an app, add the account (open-in-app link
and key on a phone, QR code on a computer), the first code; then the recovery codes,
after which the dashboard says the account is ready."""

import json
import re

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from htmx_flask import make_response
from jinja2_fragments.flask import render_block

import fields
import mail
import models
import security
from security import now
from views import (
    app_settings,
    audit,
    code_limit,
    default_device_name,
    enrollment_context,
    go,
    limiter,
    respond,
    step_key,
)
from views.signin import finish_login, needs_otp, not_at_step, pending_account, reauthenticate

bp = Blueprint("mfa", __name__)


# A phone can't scan its own screen: there the open-in-app link and the key come first.
MOBILE_USER_AGENT = re.compile(r"Mobi|Android|iPhone|iPad|iPod|Opera Mini", re.I)


def _on_phone() -> bool:
    return bool(MOBILE_USER_AGENT.search(request.user_agent.string or ""))


def _setup_account():
    account = pending_account("mfa_setup")
    return account, (None if account else not_at_step())


def _add_context(account) -> dict:
    return {**enrollment_context(account), "on_phone": _on_phone()}


def _code_context(account, errors=None, device_name="", help=()) -> dict:
    return {"errors": errors or {}, "device_name": device_name, "help": help,
            "default_name": default_device_name(account),
            "server_time": security.local(now(), current_app.config["TIMEZONE"])}


def _next_steps(*steps) -> list[dict]:
    """The steps after this one, for the page's <template>s: with JavaScript, its links
    show them without a round trip (static/js/app.js); each keeps its own URL."""
    return [{"url": url_for(endpoint), "title": render_block(template, "title", **context).strip(),
             "html": render_block(template, "content", **context)}
            for endpoint, template, context in steps]


@bp.get("/setup")
def setup():
    """Step 1 of 3: install an authenticator app."""
    account, elsewhere = _setup_account()
    if elsewhere:
        return elsewhere
    return respond("mfa/setup.html", "content", on_phone=_on_phone(), next_steps=_next_steps(
        ("mfa.setup_add", "mfa/setup_add.html", _add_context(account)),
        ("mfa.setup_code", "mfa/setup_code.html", _code_context(account))))


@bp.get("/setup/akun")
def setup_add():
    """Step 2 of 3: add the account to the app (the open-in-app link and the key on a
    phone, which cannot scan its own screen; the QR code on a computer)."""
    account, elsewhere = _setup_account()
    if elsewhere:
        return elsewhere
    return respond("mfa/setup_add.html", "content", **_add_context(account), next_steps=_next_steps(
        ("mfa.setup_code", "mfa/setup_code.html", _code_context(account))))


def _code_page(account, status=200, errors=None, device_name="", help=()):
    return respond("mfa/setup_code.html", "setup_form", status, **_code_context(account, errors, device_name, help))


@bp.get("/setup/kode")
def setup_code():
    """Step 3 of 3: the first code from the app, and an optional device name."""
    account, elsewhere = _setup_account()
    return elsewhere or _code_page(account)


@bp.post("/setup")
@limiter.limit(lambda: current_app.config["OTP_RATE_LIMIT"])
@limiter.limit(code_limit, key_func=step_key)
def setup_post():
    account, elsewhere = _setup_account()
    if elsewhere:
        return elsewhere
    code = security.normalize_otp(request.form.get("otp", ""))[:32]
    errors = {}
    device_name = fields.check(errors, "device_name", fields.device_name, request.form.get("device_name"))
    if device_name is None:
        device_name = fields.squashed(request.form.get("device_name"), 100)
    if not (len(code) == 6 and code.isdigit()):
        errors["otp"] = "Kode OTP terdiri dari 6 digit angka yang tampil di aplikasi."
    if errors:
        return _code_page(account, 422, errors, device_name, ("aktifkan-mfa",))
    device_name = device_name or default_device_name(account)

    settings = app_settings()
    authenticator = models.Authenticator.pending_for(account, settings)
    factor = authenticator.check_enrollment(code, settings)
    if not factor.passed:
        skew = factor.skew  # diagnosis only: a code from a skewed phone clock is still refused
        audit("mfa.enroll_failed", account=account,
              detail=factor.result if skew is None else f"{factor.result}; jam ponsel {skew:+d} menit")
        if skew is None:
            errors["otp"] = ("Kode tidak cocok. Pastikan akun di aplikasi ditambahkan dari langkah 2 "
                             "(bukan yang lama), jam ponsel diatur otomatis, lalu masukkan kode "
                             "yang sedang tampil.")
            help = ("error-aktivasi-mfa", "kode-otp-tidak-valid", "otp-tidak-muncul")
        else:
            errors["otp"], help = security.clock_skew_message(skew), ("kode-otp-tidak-valid",)
        return _code_page(account, 422, errors, device_name, help)
    authenticator.confirm(device_name)
    audit("mfa.enrolled", account=account, detail=device_name)
    codes = models.RecoveryCode.generate(account, settings)
    mail.notify_owner(account.employee, "Verifikasi dua langkah (MFA) akun Portal ASN Digital diaktifkan",
                      f"Autentikator “{device_name}” dan 10 kode pemulihan baru didaftarkan "
                      "untuk akun Anda.")
    flash("Autentikator berhasil diaktifkan. Mulai sekarang, setiap masuk memerlukan kode OTP "
          "dari aplikasi ini.", "success")
    return finish_login(account, "mfa_enrolled", then="mfa.recovery_codes",
                        carry={**_carry_codes(codes), "first_setup": True})


# --------------------------------------------------------------------------- recovery codes
# New codes are shown once. Until the user confirms they saved them, they ride in the
# session, encrypted, so the page can be reloaded, downloaded or printed.


def _carry_codes(codes):
    return {"new_recovery_codes": security.encrypt(json.dumps(codes), app_settings().secret_key)}


def _new_codes():
    sealed = session.get("new_recovery_codes")
    if not sealed:
        return None
    try:
        return json.loads(security.decrypt(sealed, app_settings().secret_key))
    except ValueError:
        return None


@bp.get("/kode-pemulihan")
@login_required
def recovery_codes():
    return respond("mfa/recovery_codes.html", "content", codes=_new_codes(), errors={}, needs_otp=needs_otp(),
                   remaining=models.RecoveryCode.remaining(current_user))


@bp.get("/kode-pemulihan.txt")
@login_required
def recovery_codes_download():
    codes = _new_codes()
    if not codes:
        flash("Kode pemulihan hanya dapat diunduh sesaat setelah dibuat. Buat kode baru bila perlu.", "info")
        return redirect(url_for("mfa.recovery_codes"))
    employee = current_user.employee
    text = render_template("mfa/recovery_codes.txt", codes=codes, employee=employee, when=now())
    return text, 200, {"Content-Type": "text/plain; charset=utf-8",
                       "Content-Disposition": f'attachment; filename="kode-pemulihan-{employee.nip}.txt"'}


@bp.post("/kode-pemulihan/selesai")
@login_required
def recovery_codes_saved():
    session.pop("new_recovery_codes", None)
    first_setup = session.pop("first_setup", False)
    next_url = security.safe_next_url(session.pop("next_after_login", None))
    if next_url:  # an app's sign-in that went through enrollment
        return make_response(redirect=next_url) if request.htmx else redirect(next_url, code=303)
    if first_setup:
        session["account_ready"] = True
    return go("dashboard.index")


@bp.get("/siap")
def ready():
    """The first sign-in's end had a page of its own: its links and bookmarks lead to the dashboard."""
    return redirect(url_for("dashboard.index"))


@bp.post("/kode-pemulihan/baru")
@login_required
@limiter.limit(lambda: current_app.config["OTP_RATE_LIMIT"])
def recovery_codes_regenerate():
    errors = reauthenticate()
    if errors:
        audit("recovery_code.regenerate_failed", account=current_user, detail=", ".join(errors))
        return respond("mfa/recovery_codes.html", "regenerate_form", 422, codes=None, errors=errors,
                       needs_otp=needs_otp(), remaining=models.RecoveryCode.remaining(current_user))
    codes = models.RecoveryCode.generate(current_user, app_settings())
    session.update(_carry_codes(codes))
    audit("recovery_code.regenerated", account=current_user)
    mail.notify_owner(current_user.employee, "Kode pemulihan baru dibuat untuk akun Portal ASN Digital",
                      "10 kode pemulihan baru dibuat untuk akun Anda; kode lama tidak berlaku lagi.")
    return go("mfa.recovery_codes")
