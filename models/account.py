"""Accounts: the password, the failure counter and its growing locks, the second factors
(TOTP authenticators and recovery codes) and what the helpdesk resets."""

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from peewee import (
    JOIN,
    SQL,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
    fn,
)

import models
import security
from security import now

from .base import BaseModel, db, instances_from_row, run_prebuilt
from .employee import Employee

ROLES = ("pegawai", "helpdesk", "admin")


LOCK_CAP_MINUTES = 24 * 60


class Lockable(BaseModel):
    """A failure counter and the lock it leads to, for whatever a failure is counted
    against: an account (from browsers it does not know), one known browser of an account,
    or a NIP that is not in the data (which must behave exactly like one that is).

    A check is first *taken* (one UPDATE that also tests the lock), then either given back
    (it passed) or failed. So parallel guesses get exactly ASN_MAX_FAILED_LOGINS checks: the
    counter is raised before the check, never after."""

    failed_count = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    lock_count = IntegerField(default=0)  # locks since the last completed sign-in: each lasts longer

    def lock_minutes_left(self) -> int:
        """Whole minutes (rounded up) until the lock ends; 0 when not locked."""
        if not self.locked_until or self.locked_until <= now():
            return 0
        return -(-int((self.locked_until - now()).total_seconds()) // 60)

    def _reload_lock(self) -> None:
        fresh = type(self).get_by_id(self.id)
        self.failed_count, self.locked_until, self.lock_count = (fresh.failed_count, fresh.locked_until,
                                                                 fresh.lock_count)

    def take_attempt(self, settings) -> bool:
        """Reserve one check; False when locked, or when the checks already under way would
        use up the remaining tries. Only a refusal reads the row back (the answer tells
        when the lock ends): taking a check changes nothing but the count."""
        cls = type(self)
        taken = run_prebuilt(f"{cls.__name__}.take_attempt", lambda: cls.update(
            failed_count=cls.failed_count + 1).where(
            (cls.id == 0) & (cls.locked_until.is_null() | (cls.locked_until <= now()))
            & (cls.failed_count < 0)), [1, self.id, now(), settings.max_failed_logins]).rowcount
        if taken:
            self.failed_count += 1
        else:
            self._reload_lock()
        return bool(taken)

    def give_back_attempt(self) -> None:
        """The reserved check passed: it was no failure (nor does it clear earlier ones;
        only a completed sign-in does)."""
        cls = type(self)
        run_prebuilt(f"{cls.__name__}.give_back_attempt", lambda: cls.update(
            failed_count=cls.failed_count - 1).where((cls.id == 0) & (cls.failed_count > 0)), [1, self.id, 0])
        self.failed_count = max(self.failed_count - 1, 0)

    def fail_attempt(self, settings) -> bool:
        """The reserved check failed. Returns True when it used up the tries and locked:
        for ASN_LOCKOUT_MINUTES, doubled for every lock since the last completed sign-in,
        at most a day."""
        cls = type(self)
        self._reload_lock()
        minutes = min(settings.lockout_minutes * 2 ** min(self.lock_count, 16), LOCK_CAP_MINUTES)
        locked = cls.update(failed_count=0, locked_until=now() + timedelta(minutes=minutes),
                            lock_count=cls.lock_count + 1).where(
            (cls.id == self.id) & (cls.failed_count >= settings.max_failed_logins)).execute()
        self._reload_lock()
        return bool(locked)

    def clear_failures(self) -> None:
        cls = type(self)
        cls.update(failed_count=0, locked_until=None, lock_count=0).where(cls.id == self.id).execute()
        self.failed_count, self.locked_until, self.lock_count = 0, None, 0


@dataclass(frozen=True)
class SecondFactor:
    """What a typed second factor turned out to be: `kind` "otp", "recovery_code" or
    "malformed"; `result` "ok", "replayed" or "wrong"; `skew` the phone clock's offset
    in minutes when a wrong OTP would have been right at another time."""

    kind: str
    result: str
    skew: int | None = None

    @property
    def passed(self) -> bool:
        return self.result == "ok"


class Account(Lockable):
    """One per employee who has tried to sign in. No password hash means no password of
    their own yet: the first sign-in is proved as ASN_FIRST_LOGIN says (see views.auth).
    Its failure counter is for browsers the account does not know (models.TrustedDevice)."""

    employee = ForeignKeyField(Employee, unique=True, backref="accounts", on_delete="CASCADE")
    password_hash = CharField(null=True)
    must_change_password = BooleanField(default=True)
    role = CharField(default="pegawai")
    created_at = DateTimeField(default=now)
    password_changed_at = DateTimeField(null=True)
    must_activate = BooleanField(default=False)  # registered; activation link not yet followed
    temp_password_expires_at = DateTimeField(null=True)  # set while a helpdesk password is in use
    subject = CharField(max_length=43, null=True, unique=True)  # OpenID Connect "sub": opaque, never the NIP

    # Set by the session loader: the models.SessionRecord this request is signed in with.
    current_session = None

    @classmethod
    def for_employee(cls, employee: Employee) -> "Account":
        account, _ = cls.get_or_create(employee=employee)
        return account

    @classmethod
    def signing_in(cls, nip: str) -> "Account | None":
        """The account (its employee loaded with it) that a sign-in with `nip` is for, made
        when the employee has none yet; None for a NIP that is not in the data. One query
        when the account exists: the password step runs at every sign-in."""
        row = run_prebuilt("Account.signing_in", lambda: Employee.select(Employee, cls).join(
            cls, JOIN.LEFT_OUTER, on=(cls.employee == Employee.id)).where(Employee.nip == "").limit(1),
            [nip, 1]).fetchone()
        if row is None:
            return None
        employee, account = instances_from_row(row, (Employee, cls))
        account = account or cls.for_employee(employee)
        account.employee = employee
        account._dirty.clear()  # the employee it already had
        return account

    # flask-login protocol: the id it stores is the server-side session token.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.employee.is_active

    def get_id(self):
        return self.current_session.token if self.current_session else None

    def check_password(self, password: str, settings) -> bool:
        """The account's own (or a helpdesk's temporary) password. Without one, nothing
        matches here, in the time a real check takes: the first sign-in is proved by
        `first_password`."""
        return security.verify_password(self.password_hash, password, settings.argon2_cost)

    def upgrade_password_hash(self, password: str, settings) -> bool:
        """After a correct password: a hash made with other argon2 parameters (an older
        default) is replaced by one with the settings' cost. Compare-and-set, so a password changed
        meanwhile is kept. Returns True when it was replaced."""
        old_hash = self.password_hash
        if not old_hash or not security.needs_rehash(old_hash, settings.argon2_cost):
            return False
        new_hash = security.hash_password(password, settings.argon2_cost)
        replaced = Account.update(password_hash=new_hash).where(
            (Account.id == self.id) & (Account.password_hash == old_hash)).execute()
        if replaced:
            self.password_hash = new_hash
        return bool(replaced)

    def first_password(self, typed: str, settings) -> str | None:
        """Before the employee has a password: "letter" when `typed` is the code of an
        unused activation letter (in any policy), "nik" when it is the NIK (except in the
        letter policy), else None. The caller has spent a hash's time already."""
        if self.password_hash is not None:
            return None
        if models.ActivationLetter.use(self.employee, typed, settings):
            return "letter"
        if settings.first_login != "letter" and self.employee.nik_matches(typed):
            return "nik"
        return None

    def set_password(self, password: str, settings) -> None:
        self.password_hash = security.hash_password(password, settings.argon2_cost)
        self.must_change_password = False
        self.password_changed_at = now()
        self.temp_password_expires_at = None
        self.save()

    def register_success(self) -> None:
        """A completed sign-in (or a reset by e-mail or the helpdesk): every counter of the
        account starts again, its known browsers' too."""
        self.clear_failures()
        models.TrustedDevice.update(failed_count=0, locked_until=None, lock_count=0).where(
            models.TrustedDevice.account == self.id).execute()

    @property
    def is_locked(self) -> bool:
        """Locked for unknown browsers, or on any of its known ones (for the console)."""
        return bool(self.lock_minutes_left()) or self.devices.where(models.TrustedDevice.locked_until > now()).exists()

    def confirmed_authenticators(self):
        return self.authenticators.where(Authenticator.confirmed_at.is_null(False))

    def use_otp(self, code: str, settings) -> str:
        """"ok" when one of the confirmed authenticators accepts `code` (and claims its
        time step), "replayed" when it was valid but already used, else "wrong"."""
        results = [a.use_code(code, settings) for a in self.confirmed_authenticators()]
        return "ok" if "ok" in results else "replayed" if "replayed" in results else "wrong"

    def check_second_factor(self, typed: str, settings) -> "SecondFactor":
        """An OTP or a recovery code, whichever `typed` is (people type what they have).
        A wrong OTP that one of the authenticators would have given a few minutes off is
        diagnosed (`skew`), and stays wrong. Counting failures is the caller's, against
        the counter of the browser that typed it."""
        code = security.normalize_otp(typed)
        if len(code) == 6 and code.isdigit():
            result = self.use_otp(code, settings)
            skew = None
            if result == "wrong":
                skew = next((minutes for a in self.confirmed_authenticators()
                             if (minutes := security.totp_skew_minutes(a.secret(settings), code, now()))
                             is not None), None)
            return SecondFactor("otp", result, skew)
        if len(normalize_recovery_code(typed)) == RECOVERY_CODE_LENGTH:
            return SecondFactor("recovery_code", "ok" if RecoveryCode.use(self, typed, settings) else "wrong")
        return SecondFactor("malformed", "wrong")

    @property
    def has_mfa(self) -> bool:
        """Asked at every password step: its SQL is built once."""
        return run_prebuilt("Account.has_mfa", lambda: Authenticator.select(SQL("1")).where(
            (Authenticator.account == 0) & Authenticator.confirmed_at.is_null(False)).limit(1),
            [self.id, 1]).fetchone() is not None

    @property
    def is_registered(self) -> bool:
        """Has chosen a password and activated it (or changed the NIK default)."""
        return self.password_hash is not None and not self.must_activate

    # Helpdesk actions.

    @property
    def has_temporary_password(self) -> bool:
        return self.temp_password_expires_at is not None

    @property
    def temporary_password_expired(self) -> bool:
        return self.has_temporary_password and self.temp_password_expires_at <= now()

    def issue_temporary_password(self, settings) -> str:
        """A random password for the helpdesk to hand over; it must be changed at the
        next login and stops working after TEMPORARY_PASSWORD_HOURS. Also unlocks the
        account and signs every browser out. Returns the password (shown once)."""
        password = security.new_temporary_password()
        values = {"password_hash": security.hash_password(password, settings.argon2_cost), "must_change_password": True,
                  "temp_password_expires_at": now() + timedelta(hours=TEMPORARY_PASSWORD_HOURS)}
        with db.atomic():
            Account.update(values).where(Account.id == self.id).execute()
            self.register_success()
            self.end_sessions()
        for name, value in values.items():
            setattr(self, name, value)
        return password

    def set_role(self, role: str) -> None:
        Account.update(role=role).where(Account.id == self.id).execute()
        self.role = role

    def unlock(self) -> None:
        self.register_success()

    def reset_mfa(self) -> None:
        """The next login goes to enrollment again (lost or replaced phone): authenticators,
        recovery codes and passkeys go. Every browser is signed out: one signed in with the
        lost phone's codes must not stay in."""
        with db.atomic():
            for model in (*MFA_MODELS, models.Passkey):
                model.delete().where(model.account == self.id).execute()
            self.end_sessions()

    def end_sessions(self, keep=None) -> int:
        """Sign every browser out (but the session record `keep`); returns how many."""
        condition = models.SessionRecord.account == self.id
        if keep is not None:
            condition &= models.SessionRecord.id != keep.id
        return models.SessionRecord.end(condition)

    def subject_id(self) -> str:
        """The stable, opaque id apps know this account by (given on first use)."""
        if self.subject is None:
            Account.update(subject=secrets.token_urlsafe(24)).where(
                (Account.id == self.id) & Account.subject.is_null()).execute()
            self.subject = Account.get_by_id(self.id).subject
        return self.subject

    def active_sessions(self):
        return self.sessions.order_by(models.SessionRecord.last_seen_at.desc())


# --------------------------------------------------------------------------- authenticators


class Authenticator(BaseModel):
    """A TOTP device. The secret is encrypted with a key derived from SECRET_KEY."""

    account = ForeignKeyField(Account, backref="authenticators", on_delete="CASCADE")
    name = CharField(default="")
    secret_encrypted = TextField()
    last_used_step = IntegerField(null=True)  # replay protection
    created_at = DateTimeField(default=now)
    confirmed_at = DateTimeField(null=True)
    last_used_at = DateTimeField(null=True)

    @classmethod
    def pending_for(cls, account: Account, settings) -> "Authenticator":
        """The unconfirmed authenticator being enrolled: the same secret across
        refreshes and wrong codes, so the QR a person already scanned stays valid."""
        with db.atomic():
            pending = (account.authenticators.where(cls.confirmed_at.is_null())
                       .order_by(cls.id.desc()).first())
            if pending is None:
                pending = cls.create(account=account, secret_encrypted=security.encrypt(
                    security.new_totp_secret(), settings.secret_key))
        return pending

    def secret(self, settings) -> str:
        return security.decrypt(self.secret_encrypted, settings.secret_key)

    def check_enrollment(self, code: str, settings) -> SecondFactor:
        """The first code from the app being enrolled, with the same diagnosis of a skewed
        phone clock as at sign-in."""
        result = self.use_code(code, settings)
        skew = security.totp_skew_minutes(self.secret(settings), code, now()) if result == "wrong" else None
        return SecondFactor("otp", result, skew)

    def use_code(self, code: str, settings) -> str:
        """"ok", "replayed" or "wrong". A code's time step is claimed with a
        compare-and-set update so two requests can never both use it."""
        step = security.totp_match_step(self.secret(settings), code, now())
        if step is None:
            return "wrong"
        claimed = (Authenticator.update(last_used_step=step, last_used_at=now())
                   .where((Authenticator.id == self.id)
                          & (Authenticator.last_used_step.is_null()
                             | (Authenticator.last_used_step < step)))
                   .execute())
        return "ok" if claimed else "replayed"

    def confirm(self, name: str) -> None:
        self.name = name
        self.confirmed_at = now()
        Authenticator.update(name=name, confirmed_at=self.confirmed_at).where(
            Authenticator.id == self.id).execute()
        # Any other half-finished enrollment is now stale.
        Authenticator.delete().where((Authenticator.account == self.account_id)
                                     & Authenticator.confirmed_at.is_null()).execute()


class KeyCheck(BaseModel):
    """A constant encrypted with the secret key on first start. A database restored under
    another ASN_SECRET_KEY is then refused at start-up, instead of failing at every OTP."""

    PLAINTEXT = "portal-asn key check"

    value = TextField()
    created_at = DateTimeField(default=now)

    @classmethod
    def matches(cls, settings) -> bool:
        """True if the settings' secret key is the one the stored secrets were encrypted with; the first
        call stores the check value (tested first against an existing TOTP secret)."""
        with db.atomic():
            stored = cls.select().order_by(cls.id).first()
            if stored is None:
                sample = Authenticator.select().order_by(Authenticator.id).first()
                if sample is not None and not _decrypts(sample.secret_encrypted, settings.secret_key):
                    return False
                cls.create(value=security.encrypt(cls.PLAINTEXT, settings.secret_key))
                return True
        return _decrypts(stored.value, settings.secret_key)


def _decrypts(ciphertext: str, secret_key: str) -> bool:
    try:
        security.decrypt(ciphertext, secret_key)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- recovery codes

RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
RECOVERY_CODE_LENGTH = 10


def normalize_recovery_code(typed: str) -> str:
    return re.sub(r"[\s\-]", "", typed or "").lower()


class RecoveryCode(BaseModel):
    """One-time codes for when the authenticator is lost. Stored as keyed hashes."""

    COUNT = 10

    account = ForeignKeyField(Account, backref="recovery_codes", on_delete="CASCADE")
    code_hash = CharField(max_length=64)
    created_at = DateTimeField(default=now)
    used_at = DateTimeField(null=True)

    @classmethod
    def generate(cls, account: Account, settings) -> list:
        """Replace the account's codes with new ones; returns them (shown once)."""
        codes = []
        for _ in range(cls.COUNT):
            raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
            codes.append(f"{raw[:5]}-{raw[5:]}")
        with db.atomic():
            cls.delete().where(cls.account == account.id).execute()
            cls.insert_many([{"account": account.id, "code_hash": security.keyed_hash(
                normalize_recovery_code(c), settings.secret_key)} for c in codes]).execute()
        return codes

    @classmethod
    def remaining(cls, account: Account) -> int:
        return run_prebuilt("recovery codes left", lambda: cls.select(fn.COUNT(cls.id)).where(
            (cls.account == 0) & cls.used_at.is_null()), [account.id]).fetchone()[0]

    @classmethod
    def use(cls, account: Account, typed: str, settings) -> bool:
        """Accept an unused code once; a compare-and-set update so it can't be used twice."""
        code_hash = security.keyed_hash(normalize_recovery_code(typed), settings.secret_key)
        return bool(cls.update(used_at=now()).where(
            (cls.account == account.id) & (cls.code_hash == code_hash) & cls.used_at.is_null()).execute())








TEMPORARY_PASSWORD_HOURS = 24

# What "reset MFA" removes.
MFA_MODELS = (Authenticator, RecoveryCode)




