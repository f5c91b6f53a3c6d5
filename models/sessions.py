"""Sign-in tokens (reset and activation links, codes), server-side sessions, known
browsers and the counters kept for NIPs nobody has."""

import json
import re
import secrets
from datetime import timedelta

from peewee import (
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

import models
import security
from security import now

from .account import Account, Lockable
from .base import BaseModel, db, instances_from_row, run_prebuilt
from .employee import Employee


class Token(BaseModel):
    """A one-time proof sent by mail or SMS: a registration code, an activation link or a
    password-reset link. Only a hash is stored."""

    employee = ForeignKeyField(Employee, backref="tokens", on_delete="CASCADE")
    purpose = CharField(index=True)  # register | activate | reset
    secret_hash = CharField(max_length=64, index=True)
    data = TextField(default="")  # JSON: what the registration asked for (e-mail, phone)
    attempts = IntegerField(default=0)
    created_at = DateTimeField(default=now)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)

    @classmethod
    def issue(cls, employee: Employee, purpose: str, secret: str, minutes: int, data=None):
        """A new token; earlier unused ones of the same purpose stop working."""
        with db.atomic():
            cls.update(used_at=now()).where((cls.employee == employee.id) & (cls.purpose == purpose)
                                            & cls.used_at.is_null()).execute()
            return cls.create(employee=employee, purpose=purpose, secret_hash=security.hash_token(secret),
                              expires_at=now() + timedelta(minutes=minutes),
                              data=json.dumps(data or {}))

    @classmethod
    def by_link(cls, purpose: str, secret: str):
        """The token behind a link, if it is still good to use."""
        token = cls.get_or_none((cls.secret_hash == security.hash_token(secret)) & (cls.purpose == purpose))
        return token if token and token.is_usable else None

    @property
    def is_usable(self) -> bool:
        if self.used_at is not None or self.expires_at <= now():
            return False
        if self.purpose == "reset":  # any later password change invalidates a reset link
            account = Account.get_or_none(Account.employee == self.employee_id)
            if account and account.password_changed_at and account.password_changed_at > self.created_at:
                return False
        return True

    def consume(self) -> bool:
        return bool(Token.update(used_at=now()).where(
            (Token.id == self.id) & Token.used_at.is_null()).execute())

    def check_code(self, typed: str, tries: int, digits: int = 6) -> str:
        """A typed 6-digit code against this token: "ok" (and the token is used up),
        "wrong", "malformed", "expired", "used" or "exhausted". A try is counted before
        the comparison, so parallel guesses never get more than `tries`."""
        code = re.sub(r"\s", "", typed or "")
        if self.used_at is not None:
            return "used"
        if self.expires_at <= now():
            return "expired"
        if not (len(code) == digits and code.isdigit()):
            return "malformed"
        if not Token.update(attempts=Token.attempts + 1).where(
                (Token.id == self.id) & (Token.attempts < tries)).execute():
            return "exhausted"
        self.attempts = Token.get_by_id(self.id).attempts
        if not security.constant_time_equals(security.hash_token(code), self.secret_hash):
            return "wrong"
        return "ok" if self.consume() else "used"

    @classmethod
    def newest(cls, employee, purpose: str):
        return (cls.select().where((cls.employee == employee.id) & (cls.purpose == purpose))
                .order_by(cls.id.desc()).first())

    @classmethod
    def sent_since(cls, employee: Employee, purpose: str, since) -> int:
        return cls.select().where((cls.employee == employee.id) & (cls.purpose == purpose)
                                  & (cls.created_at >= since)).count()

    @property
    def payload(self) -> dict:
        return json.loads(self.data or "{}")


# --------------------------------------------------------------------------- sessions


class SessionRecord(BaseModel):
    """Server-side record of a signed-in browser. The cookie holds the token; the
    table holds its hash. Deleting a row signs that browser out."""

    account = ForeignKeyField(Account, backref="sessions", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=now)
    last_seen_at = DateTimeField(default=now)
    ip = CharField(default="")
    user_agent = CharField(default="")
    verified_at = DateTimeField(default=now)  # last password (+ OTP) check, for sensitive changes
    # The second factor of the sign-in: otp | recovery_code | mfa_enrolled | passkey, or
    # passkey_sign_in (a passkey alone, without the password).
    auth_method = CharField(default="")

    token = None  # the raw token, known only in the request that created it or sent it

    @classmethod
    def start(cls, account: Account, ip: str, user_agent: str, auth_method: str = "") -> "SessionRecord":
        token = secrets.token_urlsafe(32)
        record = cls.create(account=account, token_hash=security.hash_token(token),
                            ip=ip[:64], user_agent=user_agent[:255], auth_method=auth_method)
        record.token = token
        return record

    @classmethod
    def end(cls, condition) -> int:
        """Sign out the sessions matching `condition`: every app signed in through one of
        them is told by back-channel logout (queued in the outbox) and its tokens stop
        working. Returns how many sessions ended."""
        with db.atomic():
            ids = [row.id for row in cls.select(cls.id).where(condition)]
            if not ids:
                return 0
            models.OidcSignIn.queue_logouts(ids)
            token = models.OidcToken
            token.update(revoked_at=now()).where(token.session.in_(ids) & token.revoked_at.is_null()).execute()
            return cls.delete().where(cls.id.in_(ids)).execute()

    def hand_over(self, successor: "SessionRecord") -> None:
        """The same person signed in again in this browser (an app asked for a fresh
        login): the apps signed in through this session now belong to `successor`."""
        with db.atomic():
            models.OidcSignIn.update(session=successor).where(models.OidcSignIn.session == self.id).execute()
            models.OidcToken.update(session=successor).where(models.OidcToken.session == self.id).execute()
            SessionRecord.delete().where(SessionRecord.id == self.id).execute()

    @classmethod
    def resume(cls, token: str, idle: timedelta, lifetime: timedelta):
        """(record, None) for a live cookie token; (None, "idle" | "lifetime") when it just
        expired (the record is deleted); (None, None) when unknown or already ended."""
        record = cls._with_account(security.hash_token(token))
        if record is None:
            return None, None
        current = now()
        if current - record.created_at > lifetime or current - record.last_seen_at > idle:
            record.delete_instance()
            return None, "lifetime" if current - record.created_at > lifetime else "idle"
        if current - record.last_seen_at > timedelta(minutes=1):  # spare the disk
            cls.update(last_seen_at=current).where(cls.id == record.id).execute()
        record.token = token
        return record, None

    @classmethod
    def _with_account(cls, token_hash: str):
        """One query for what every signed-in page needs: the session, its account and
        employee."""
        row = run_prebuilt("session with account", lambda: cls.select(cls, Account, Employee).join(Account)
                           .join(Employee).where(cls.token_hash == "").limit(1), [token_hash, 1]).fetchone()
        if row is None:
            return None
        record, account, employee = instances_from_row(row, (cls, Account, Employee))
        account.employee, record.account = employee, account
        for instance in (account, record):
            instance._dirty.clear()  # the relations just set were already theirs
        return record

    def mark_verified(self) -> None:
        self.verified_at = now()
        SessionRecord.update(verified_at=self.verified_at).where(SessionRecord.id == self.id).execute()

    @property
    def device(self) -> str:
        """A short, human description of the browser from its user agent."""
        ua = self.user_agent
        browser = next((name for key, name in (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
                                               ("Chrome/", "Chrome"), ("Safari/", "Safari")) if key in ua),
                       "Peramban lain")
        system = next((name for key, name in (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
                                              ("Windows", "Windows"), ("Mac OS", "macOS"), ("Linux", "Linux"))
                       if key in ua), "")
        return f"{browser} di {system}" if system else browser


class TrustedDevice(Lockable):
    """A browser that completed a full sign-in for the account. It keeps a signed cookie
    naming this row; failures from other browsers never lock it out (OWASP's device
    cookie lockout), and its own failures lock only it."""

    COOKIE = "perangkat"
    DAYS = 365
    PER_BROWSER = 5  # accounts one shared office browser remembers

    account = ForeignKeyField(Account, backref="devices", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    user_agent = CharField(default="")
    created_at = DateTimeField(default=now)
    last_used_at = DateTimeField(default=now)

    @classmethod
    def issue(cls, account: Account, user_agent: str) -> str:
        """A new known browser; returns the token its cookie carries."""
        token = secrets.token_urlsafe(24)
        cls.create(account=account, token_hash=security.hash_token(token), user_agent=user_agent[:255])
        return token

    def mark_used(self) -> None:
        TrustedDevice.update(last_used_at=now()).where(TrustedDevice.id == self.id).execute()

    @classmethod
    def find(cls, account: Account, token: str | None):
        if not token:
            return None
        # Asked at every sign-in step of a known browser: its SQL is built once.
        row = run_prebuilt("TrustedDevice.find", lambda: cls.select().where(
            (cls.token_hash == "") & (cls.account == 0)).limit(1),
            [security.hash_token(token), account.id, 1]).fetchone()
        device = instances_from_row(row, (cls,))[0] if row else None
        if device and device.created_at < now() - timedelta(days=cls.DAYS):
            return None
        return device


class UnknownNip(Lockable):
    """Failures against a well-formed NIP that is not in the data, counted exactly as for
    a real account, so the answers never tell which NIPs exist."""

    nip = CharField(max_length=18, unique=True)
    created_at = DateTimeField(default=now)

    @classmethod
    def for_nip(cls, nip: str) -> "UnknownNip":
        cls.insert(nip=nip).on_conflict_ignore().execute()
        return cls.get(cls.nip == nip)





