"""Blueprints, and the small plumbing every view shares: page-or-fragment rendering,
redirects that work with and without htmx, the pending (half-signed-in) login, and
audit records with the client's address."""

import io
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import (
    after_this_request,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from htmx_flask import make_response
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2_fragments.flask import render_block

import mail
import models
import security
from security import now

limiter = Limiter(key_func=get_remote_address)


def step_key():
    """Rate-limit key for the steps after the password and for registration codes: the
    sign-in or registration this browser holds (server-side state, signed) with its
    address. Never a form field: a stranger posting someone's NIP must not use up that
    person's tries, nor make the portal send them messages."""
    pending = session.get("pending") or {}
    registration = session.get("registration") or {}
    who = pending.get("account") or registration.get("nip") or "-"
    return f"langkah:{who}:{get_remote_address()}"


def code_limit():
    return current_app.config["CODE_RATE_LIMIT"]


def register_blueprints(app):
    from views import account, admin, auth, dashboard, health, help, mfa, oidc, requests, trainer

    app.register_blueprint(auth.bp)
    app.register_blueprint(oidc.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(help.bp, url_prefix="/bantuan")
    app.register_blueprint(mfa.bp, url_prefix="/mfa")
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(requests.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(trainer.bp, url_prefix="/pelatih")  # 404 unless demo mode
    app.register_blueprint(health.bp)
    app.add_template_global(password_problems_by_field)
    app.add_template_filter(models.event_label)


def respond(template: str, block: str, status: int = 200, **context):
    """The whole page for a normal request; only `block` for a targeted htmx request
    (a boosted request wants the whole page)."""
    context["has_errors"] = 400 <= status < 500
    if request.htmx and not request.htmx.boosted:
        fragment = render_block(template, block, **context)
        if block.endswith("_form") or context["has_errors"]:
            # htmx takes the page title from a <title> in the fragment: "Kesalahan: " comes and goes.
            title = render_block(template, "title", **context).strip()
            prefix = "Kesalahan: " if context["has_errors"] else ""
            fragment = f"<title>{prefix}{title} · Portal ASN Digital</title>{fragment}"
        return fragment, status
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


def default_device_name(account) -> str:
    """"Ponsel 1", or the next number no authenticator of the account is called yet."""
    names = {a.name for a in account.authenticators}
    return next(f"Ponsel {n}" for n in itertools.count(1) if f"Ponsel {n}" not in names)


def new_password_problems(employee, account=None):
    """The password typed in `new_password`/`confirm_password` and every rule it breaks;
    given the account, it must also differ from the current password."""
    new = request.form.get("new_password", "")[:256]
    problems = security.password_problems(new, request.form.get("confirm_password", "")[:256],
                                          nip=employee.nip, contains_nik=employee.contains_nik,
                                          birth_date=employee.birth_date)
    if not problems and account is not None and account.check_password(new, current_app.config["ARGON2_COST"]):
        problems = ["Kata sandi baru harus berbeda dari kata sandi sekarang."]
    return new, problems


def password_problems_by_field(problems) -> dict:
    """Unmet password rules by the field they belong to (for the summary and the fields)."""
    by_field = {}
    for problem in problems or ():
        by_field.setdefault("confirm_password" if problem == security.PASSWORD_MISMATCH else "new_password",
                            []).append(problem)
    return by_field


def today():
    """Today in the portal's time zone (ASN_TIMEZONE)."""
    return security.clock.today(current_app.config["TIMEZONE"])


def localtime(moment, format="%d-%m-%Y %H:%M %Z") -> str:
    """The template filter for every time on a page or in a mail: stored UTC shown in
    ASN_TIMEZONE, with its abbreviation (WIB, WITA, WIT) where the format asks for it."""
    return security.local(moment, current_app.config["TIMEZONE"]).strftime(format) if moment else "—"


# --------------------------------------------------------------------------- pages of rows

COUNT_CAP = 1000  # rows counted at most: an exact count of a million rows takes a pass over them


@dataclass
class Pager:
    page: int
    per_page: int
    total: int  # at most COUNT_CAP
    is_capped: bool = False  # more rows than COUNT_CAP match

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def paginate(query, per_page: int):
    """One page of `query` (the `page` query argument, clamped) and its Pager."""
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    counted = query.select(query.model.id).order_by().limit(COUNT_CAP + 1).count()
    pager = Pager(page, per_page, min(counted, COUNT_CAP), counted > COUNT_CAP)
    pager.page = min(page, pager.pages)
    return query.paginate(pager.page, per_page), pager


def pdf_download(document):
    """A stored PDF as a download that no cache keeps."""
    return send_file(io.BytesIO(document.content), mimetype="application/pdf", as_attachment=True,
                     download_name=document.filename, max_age=0)


def client():
    return {"ip": request.remote_addr or "", "user_agent": request.user_agent.string or ""}


def audit(event: str, *, account=None, nip="", detail="", actor=None):
    """`actor`: the helpdesk or admin account acting on someone else's behalf."""
    if account is not None and not nip:
        nip = account.employee.nip
    models.AuditEvent.record(event, nip=nip, account=account, detail=detail,
                             actor_nip=actor.employee.nip if actor else None, **client())


# --------------------------------------------------------------------------- lockout and known browsers


def _device_cookie():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="perangkat")


def _device_tokens() -> dict:
    """{account id: token} of the accounts this browser completed a sign-in for."""
    raw = request.cookies.get(models.TrustedDevice.COOKIE)
    if not raw:
        return {}
    try:
        tokens = _device_cookie().loads(raw)
    except BadSignature:
        return {}
    return tokens if isinstance(tokens, dict) else {}


def known_device(account):
    """This browser's TrustedDevice for `account`, or None."""
    return models.TrustedDevice.find(account, _device_tokens().get(str(account.id)))


def failure_counter(account):
    """What a failure of this browser counts against: its own counter when it is known to
    the account, else the account's counter for unknown browsers. So a stranger's guesses
    can lock out strangers, never the owner's own phone."""
    return known_device(account) or account


def _remember_device(account) -> None:
    token = models.TrustedDevice.issue(account, request.user_agent.string or "")
    tokens = {k: v for k, v in _device_tokens().items() if k != str(account.id)}
    tokens[str(account.id)] = token
    tokens = dict(list(tokens.items())[-models.TrustedDevice.PER_BROWSER:])
    value = _device_cookie().dumps(tokens)

    @after_this_request
    def set_cookie(response):
        response.set_cookie(models.TrustedDevice.COOKIE, value, max_age=models.TrustedDevice.DAYS * 86400,
                            httponly=True, samesite="Lax",
                            secure=bool(current_app.config["SESSION_COOKIE_SECURE"] or request.is_secure))
        return response


def take_attempt(counter) -> bool:
    """Reserve one password, OTP or code check against `counter`; False: locked."""
    return counter.take_attempt(current_app.config["MAX_FAILED_LOGINS"])


def settle_attempt(counter, passed: bool, *, account=None, nip="") -> bool:
    """Close a reserved check. A failure that uses up the tries locks, is audited and
    is told to the owner; returns True then."""
    if passed:
        counter.give_back_attempt()
        return False
    cfg = current_app.config
    if not counter.fail_attempt(cfg["MAX_FAILED_LOGINS"], cfg["LOCKOUT_MINUTES"]):
        return False
    minutes = counter.lock_minutes_left()
    audit("account.locked", account=account, nip=nip,
          detail=f"{cfg['MAX_FAILED_LOGINS']} kali gagal; terkunci {minutes} menit"
                 + ("" if isinstance(counter, models.Account | models.UnknownNip) else " (perangkat ini saja)"))
    if account is not None:
        mail.notify_owner(account.employee, "Akun Portal ASN Digital Anda terkunci sementara",
                          f"Akun Anda terkunci sementara selama {minutes} menit karena "
                          f"{cfg['MAX_FAILED_LOGINS']} kali percobaan masuk yang gagal berturut-turut.")
    return True


# --------------------------------------------------------------------------- codes sent to the contact on record

CODE_TRIES = 5
CODE_ERRORS = {
    "malformed": "Kode verifikasi terdiri dari 6 digit angka.",
    "expired": f"Kode sudah kedaluwarsa (berlaku {mail.CODE_MINUTES} menit). Tekan Kirim ulang kode untuk kode baru.",
    "used": "Kode ini sudah tidak berlaku. Tekan Kirim ulang kode untuk kode baru.",
    "exhausted": "Kode salah terlalu banyak. Tekan Kirim ulang kode untuk kode baru.",
    "capped": f"Sudah {mail.CODES_PER_HOUR} kode dikirim dalam satu jam terakhir. Pakai kode terakhir, atau coba "
              "lagi nanti.",
}


def check_code(token) -> tuple[str, str | None]:
    """The code typed in `code` against `token` (the newest one sent): the result of
    Token.check_code and, unless "ok", what to tell the person."""
    result = token.check_code(request.form.get("code", "")[:32], CODE_TRIES) if token else "used"
    if result == "wrong":
        left = CODE_TRIES - token.attempts
        return result, f"Kode salah. Sisa percobaan: {left}." if left > 0 else CODE_ERRORS["exhausted"]
    return result, CODE_ERRORS.get(result)


# --------------------------------------------------------------------------- re-authentication

REAUTH_MINUTES = 10


def needs_otp() -> bool:
    """Sensitive changes ask for an OTP too when the last check is over 10 minutes old."""
    return now() - current_user.current_session.verified_at > timedelta(minutes=REAUTH_MINUTES)


def reauthenticate() -> dict:
    """Check the password typed again (and an OTP when `needs_otp`) before a sensitive
    change. Returns errors by field; tries count against the same counter, and respect
    the same lock, as a sign-in from this browser."""
    cfg = current_app.config
    account = current_user._get_current_object()
    counter = failure_counter(account)
    if not take_attempt(counter):
        audit("reauth.locked", account=account)
        return {"password": locked_message(counter.lock_minutes_left())}
    errors = {}
    if not account.check_password(request.form.get("password", "")[:256], cfg["ARGON2_COST"]):
        errors["password"] = "Kata sandi sekarang salah."
    elif needs_otp():
        code = security.normalize_otp(request.form.get("otp", ""))[:32]
        if account.use_otp(code, cfg["SECRET_KEY"]) != "ok":
            errors["otp"] = "Kode OTP salah atau sudah dipakai. Masukkan kode yang sedang tampil di aplikasi."
    if errors:
        audit("reauth.failed", account=account, detail=", ".join(errors))
    if settle_attempt(counter, not errors, account=account):
        return {"password": locked_message(counter.lock_minutes_left())}
    if not errors:
        account.current_session.mark_verified()
    return errors


def locked_message(minutes: int) -> str:
    return (f"Akun Anda terkunci sementara karena terlalu banyak percobaan gagal. "
            f"Coba lagi dalam {max(minutes, 1)} menit, atau gunakan Lupa kata sandi.")


# --------------------------------------------------------------------------- pending login

STAGE_ENDPOINTS = {"proof": "auth.first_login_code", "password": "auth.password_new", "mfa_setup": "mfa.setup",
                   "otp": "auth.otp"}


def next_stage(account) -> str:
    if account.must_change_password:
        return "password"
    if not account.has_mfa:
        return "mfa_setup"
    return "otp"


def sign_out():
    """End this browser's portal session; the apps signed in through it are told by
    back-channel logout."""
    if current_user.is_authenticated:
        if current_user.current_session:
            models.SessionRecord.end(models.SessionRecord.id == current_user.current_session.id)
        logout_user()
    session.clear()


def fresh_session():
    """A cleared session (no fixation across a privilege change) that keeps the
    messages still to be shown."""
    flashes = session.get("_flashes")
    session.clear()
    if flashes:
        session["_flashes"] = flashes


FIRST_LOGIN_MINUTES = 30  # the whole first sign-in: installing an app on a slow link takes a while
FIRST_PASSWORD = {"code": "NIK (16 digit)", "nik": "NIK (16 digit)",
                  "letter": "kode aktivasi pada surat dari instansi Anda"}


def password_to_use(account) -> str:
    """The password that signs `account` in now, in words, for messages that end a sign-in."""
    if account is None:
        return "kata sandi Anda"
    if account.password_hash is None:
        return f"{FIRST_PASSWORD[current_app.config['FIRST_LOGIN']]} sebagai kata sandi awal"
    if account.has_temporary_password:
        return "kata sandi sementara dari helpdesk"
    return "kata sandi yang baru Anda buat (NIK tidak berlaku lagi)"


def _pending_is_over(pending) -> bool:
    return datetime.fromisoformat(pending["until"]) < now()


def start_pending(account, stage: str, next_url=None):
    """After the password: the session holds only who is signing in, the step, an
    expiry and where to go afterwards. Nobody is logged in yet. The expiry is set once
    for the whole journey; the next step neither extends nor shortens it. A browser
    signing in again (an app asked for it) keeps its earlier session's id, for finish_login."""
    previous = session.get("pending") or {}
    earlier_session = previous.get("previous")
    if earlier_session is None and current_user.is_authenticated and current_user.current_session:
        earlier_session = current_user.current_session.id
    fresh_session()
    if previous.get("account") == account.id and previous.get("until"):
        until = previous["until"]
    else:
        minutes = current_app.config["PENDING_LOGIN_MINUTES"]
        if stage != "otp":
            minutes = max(minutes, FIRST_LOGIN_MINUTES)
        until = (now() + timedelta(minutes=minutes)).isoformat()
    session["pending"] = {"account": account.id, "nip": account.employee.nip, "stage": stage,
                          "next": next_url, "previous": earlier_session, "until": until}
    return go(STAGE_ENDPOINTS[stage])


def pending_account(stage: str):
    """The account in the middle of signing in at `stage`, or None."""
    pending = session.get("pending")
    if not pending or pending.get("stage") != stage or _pending_is_over(pending):
        return None
    return models.Account.get_or_none(models.Account.id == pending["account"])


def pending_deadline():
    """When the sign-in in progress runs out, or None."""
    pending = session.get("pending")
    return datetime.fromisoformat(pending["until"]) if pending else None


def not_at_step():
    """The answer to a sign-in step this browser is not at (Back, refresh, a second tab):
    the step the sign-in is actually at, the dashboard once signed in, or, after a real
    expiry, the login page naming the password to use now."""
    if current_user.is_authenticated:
        return go("mfa.recovery_codes" if session.get("new_recovery_codes") else "dashboard.index")
    pending = session.pop("pending", None)
    if pending and not _pending_is_over(pending) and STAGE_ENDPOINTS[pending["stage"]] != request.endpoint:
        session["pending"] = pending
        return go(STAGE_ENDPOINTS[pending["stage"]])
    if pending:
        account = models.Account.get_or_none(models.Account.id == pending["account"])
        flash(f"Waktu untuk menyelesaikan proses masuk sudah habis. Silakan masuk lagi dengan NIP dan "
              f"{password_to_use(account)}.", "info")
    return go("auth.login")


def cancel_pending():
    """End the sign-in in progress and say what happens next."""
    pending = session.pop("pending", None)
    account = pending and models.Account.get_or_none(models.Account.id == pending["account"])
    if account:
        audit("login.cancelled", account=account, detail=f"dibatalkan di langkah {pending['stage']}")
        flash(f"Proses masuk dibatalkan. Untuk masuk lagi, pakai NIP dan {password_to_use(account)}.", "info")
    return go("auth.login")


def finish_login(account, method: str, then: str | None = None, carry=None):
    """The second factor is done: a fresh session, a server-side record, logged in.
    `then` is where to go next (else the page asked for before login, else the dashboard);
    `carry` are session values to keep across the reset."""
    device = known_device(account)
    is_first_sign_in = not models.AuditEvent.select().where((models.AuditEvent.account == account.id)
                                                            & (models.AuditEvent.event == "login.ok")).exists()
    (device or account).clear_failures()  # the counter this browser's tries went against
    if device:
        device.mark_used()
    next_url = session.get("pending", {}).get("next")
    previous_id = session.get("pending", {}).get("previous")
    previous = models.SessionRecord.get_or_none(models.SessionRecord.id == previous_id) if previous_id else None
    fresh_session()
    session.update(carry or {})
    record = models.SessionRecord.start(account, **client(), auth_method=method)
    if previous is not None:
        # Signed in again in this browser (an app asked for a fresh sign-in): the same
        # person keeps the apps signed in; someone else ends the earlier session.
        if previous.account_id == account.id:
            previous.hand_over(record)
        else:
            models.SessionRecord.end(models.SessionRecord.id == previous.id)
    account.current_session = record
    login_user(account)
    audit("login.ok", account=account, detail=method)
    if device is None:
        _remember_device(account)
        if not is_first_sign_in:
            mail.notify_owner(account.employee, "Masuk dari perangkat baru ke Portal ASN Digital",
                              f"Akun Anda baru saja dipakai masuk dari perangkat yang belum pernah dipakai "
                              f"sebelumnya: {record.device}, alamat IP {record.ip}.")
    if then:
        if next_url:  # after the page `then`, the sign-in goes on where it was headed
            session["next_after_login"] = next_url
        return go(then)
    if next_url:
        return make_response(redirect=next_url) if request.htmx else redirect(next_url, code=303)
    return go("dashboard.index")
