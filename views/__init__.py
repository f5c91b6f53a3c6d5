"""Blueprints, and the small plumbing every view shares: page-or-fragment rendering,
redirects that work with and without htmx, the pending (half-signed-in) login, and
audit records with the client's address."""

from datetime import datetime, timedelta

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import login_user
from htmx_flask import make_response
from jinja2_fragments.flask import render_block

import models
import security
from security import normalize_nip, now

limiter = Limiter(key_func=get_remote_address)


def nip_key():
    """Rate-limit key for per-NIP limits: the NIP typed in the form, else the one this
    browser is registering or signing in with."""
    nip = normalize_nip(request.form.get("nip", ""))[:18]
    if not nip:
        nip = (session.get("registration") or {}).get("nip") or (session.get("pending") or {}).get("nip")
    return "nip:" + (nip or get_remote_address())


def per_nip_code_limit():
    return current_app.config["CODE_NIP_RATE_LIMIT"]


def register_blueprints(app):
    from views import account, admin, auth, dashboard, health, help, mfa, trainer

    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(help.bp, url_prefix="/bantuan")
    app.register_blueprint(mfa.bp, url_prefix="/mfa")
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(trainer.bp, url_prefix="/pelatih")  # 404 unless demo mode
    app.register_blueprint(health.bp)


def respond(template: str, block: str, status: int = 200, **context):
    """The whole page for a normal request; only `block` for a targeted htmx request
    (a boosted request wants the whole page)."""
    if request.htmx and not request.htmx.boosted:
        return render_block(template, block, **context), status
    return render_template(template, **context), status


def go(endpoint: str, **values):
    """Redirect after a successful POST: 303 for a plain form, HX-Redirect for htmx."""
    url = url_for(endpoint, **values)
    if request.htmx:
        return make_response(redirect=url)
    return redirect(url, code=303)


def enrollment_context(account) -> dict:
    """What a page enrolling an authenticator shows: the QR code, the key to type and the
    open-in-app link of the account's pending (same on every reload) authenticator."""
    cfg = current_app.config
    secret = models.Authenticator.pending_for(account, cfg["SECRET_KEY"]).secret(cfg["SECRET_KEY"])
    uri = security.totp_uri(secret, account.employee.nip, cfg["TOTP_ISSUER"])
    return {"otpauth_uri": uri, "qr_svg": security.qr_svg(uri), "grouped_secret": security.group_secret(secret),
            "nip": account.employee.nip, "issuer": cfg["TOTP_ISSUER"]}


def new_password_problems(employee, account=None):
    """The password typed in `new_password`/`confirm_password` and every rule it breaks;
    given the account, it must also differ from the current password."""
    new = request.form.get("new_password", "")[:256]
    problems = security.password_problems(new, request.form.get("confirm_password", "")[:256],
                                          nip=employee.nip, nik=employee.nik, birth_date=employee.birth_date)
    if not problems and account is not None and account.check_password(new, current_app.config["ARGON2_COST"]):
        problems = ["Kata sandi baru harus berbeda dari kata sandi sekarang."]
    return new, problems


def today():
    """Today in the portal's time zone (ASN_TIMEZONE)."""
    return security.clock.today(current_app.config["TIMEZONE"])


def localtime(moment, format="%d-%m-%Y %H:%M %Z") -> str:
    """The template filter for every time on a page or in a mail: stored UTC shown in
    ASN_TIMEZONE, with its abbreviation (WIB, WITA, WIT) where the format asks for it."""
    return security.local(moment, current_app.config["TIMEZONE"]).strftime(format) if moment else "—"


def client():
    return {"ip": request.remote_addr or "", "user_agent": request.user_agent.string or ""}


def audit(event: str, *, account=None, nip="", detail="", actor=None):
    """`actor`: the helpdesk or admin account acting on someone else's behalf."""
    if account is not None and not nip:
        nip = account.employee.nip
    models.AuditEvent.record(event, nip=nip, account=account, detail=detail,
                             actor_nip=actor.employee.nip if actor else None, **client())


# --------------------------------------------------------------------------- pending login

STAGE_ENDPOINTS = {"password": "auth.password_new", "mfa_setup": "mfa.setup", "otp": "auth.otp"}


def next_stage(account) -> str:
    if account.must_change_password:
        return "password"
    if not account.has_mfa:
        return "mfa_setup"
    return "otp"


def fresh_session():
    """A cleared session (no fixation across a privilege change) that keeps the
    messages still to be shown."""
    flashes = session.get("_flashes")
    session.clear()
    if flashes:
        session["_flashes"] = flashes


def pending_expired():
    flash("Waktu masuk habis atau sesi berakhir. Silakan masuk lagi dari awal.", "info")
    return go("auth.login")


def start_pending(account, stage: str, next_url=None):
    """After the password: the session holds only who is signing in, the step, an
    expiry and where to go afterwards. Nobody is logged in yet."""
    fresh_session()
    minutes = current_app.config["PENDING_LOGIN_MINUTES"]
    session["pending"] = {"account": account.id, "nip": account.employee.nip, "stage": stage,
                          "next": next_url,
                          "until": (now() + timedelta(minutes=minutes)).isoformat()}
    return go(STAGE_ENDPOINTS[stage])


def pending_account(stage: str):
    """The account in the middle of signing in at `stage`, or None."""
    pending = session.get("pending")
    if not pending or pending.get("stage") != stage:
        return None
    if datetime.fromisoformat(pending["until"]) < now():
        session.pop("pending", None)
        return None
    return models.Account.get_or_none(models.Account.id == pending["account"])


def finish_login(account, method: str, then: str | None = None, carry=None):
    """The second factor is done: a fresh session, a server-side record, logged in.
    `then` is where to go next (else the page asked for before login, else the dashboard);
    `carry` are session values to keep across the reset."""
    account.register_success()
    next_url = session.get("pending", {}).get("next")
    fresh_session()
    session.update(carry or {})
    record = models.SessionRecord.start(account, **client())
    account.current_session = record
    login_user(account)
    audit("login.ok", account=account, detail=method)
    if then:
        return go(then)
    if next_url:
        return make_response(redirect=next_url) if request.htmx else redirect(next_url, code=303)
    return go("dashboard.index")
