"""Signing in, step by step: the failure counters and the browsers an account knows, the
pending state between the password and the second factor (a session holds only the
account id, its stage and a deadline; nobody is logged in until finish_login), and
re-authentication before a sensitive change."""

from datetime import datetime, timedelta

from flask import (
    after_this_request,
    current_app,
    flash,
    g,
    redirect,
    request,
    session,
)
from flask_login import current_user, login_user, logout_user
from htmx_flask import make_response
from itsdangerous import BadSignature, URLSafeSerializer

import mail
import models
import security
from security import now
from views import app_settings, audit, client, go

# --------------------------------------------------------------------------- lockout and known browsers


def _device_cookie():
    return URLSafeSerializer(app_settings().secret_key, salt="perangkat")


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
    return counter.take_attempt(app_settings())


def settle_attempt(counter, passed: bool, *, account=None, nip="") -> bool:
    """Close a reserved check. A failure that uses up the tries locks, is audited and
    is told to the owner; returns True then."""
    if passed:
        counter.give_back_attempt()
        return False
    if not counter.fail_attempt(app_settings()):
        return False
    minutes = counter.lock_minutes_left()
    audit("account.locked", account=account, nip=nip,
          detail=f"{app_settings().max_failed_logins} kali gagal; terkunci {minutes} menit"
                 + ("" if isinstance(counter, models.Account | models.UnknownNip) else " (perangkat ini saja)"))
    if account is not None:
        mail.notify_owner(account.employee, "Akun Portal ASN Digital Anda terkunci sementara",
                          f"Akun Anda terkunci sementara selama {minutes} menit karena "
                          f"{app_settings().max_failed_logins} kali percobaan masuk yang gagal berturut-turut.")
    return True


# --------------------------------------------------------------------------- re-authentication

REAUTH_MINUTES = 10


def needs_otp() -> bool:
    """Sensitive changes ask for an OTP too when the last check is over 10 minutes old."""
    return now() - current_user.current_session.verified_at > timedelta(minutes=REAUTH_MINUTES)


def reauthenticate() -> dict:
    """Check the password typed again (and an OTP when `needs_otp`) before a sensitive
    change. Returns errors by field; tries count against the same counter, and respect
    the same lock, as a sign-in from this browser."""
    account = current_user._get_current_object()
    counter = failure_counter(account)
    if not take_attempt(counter):
        audit("reauth.locked", account=account)
        return {"password": locked_message(counter.lock_minutes_left())}
    errors = {}
    if not account.check_password(request.form.get("password", "")[:256], app_settings()):
        errors["password"] = "Kata sandi sekarang salah."
    elif needs_otp():
        code = security.normalize_otp(request.form.get("otp", ""))[:32]
        if account.use_otp(code, app_settings()) != "ok":
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
    g.pop("csrf_token", None)  # a form of this answer gets a token of the new session


def fresh_session():
    """A cleared session (no fixation across a privilege change) that keeps the
    messages still to be shown."""
    flashes = session.get("_flashes")
    session.clear()
    g.pop("csrf_token", None)  # a form of this answer gets a token of the new session
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
        return f"{FIRST_PASSWORD[app_settings().first_login]} sebagai kata sandi awal"
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
