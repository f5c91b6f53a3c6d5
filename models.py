"""Peewee models and the domain rules that belong to them.

Sections: database, employees (master data and CSV import), accounts (password and
lockout), authenticators (TOTP), sessions, audit."""

import csv
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from peewee import (
    BooleanField,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
    fn,
)
from playhouse.db_url import connect
from playhouse.migrate import SchemaMigrator, migrate

import security
from security import now

# --------------------------------------------------------------------------- database

db = DatabaseProxy()


def open_database(url: str, root: Path):
    """Connect to `url`; a relative SQLite path is taken from the project folder."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path = root / url.removeprefix("sqlite:///")
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    if url.startswith("sqlite"):
        # WAL lets readers work beside the writer; IMMEDIATE takes the write lock at
        # BEGIN so read-then-write transactions never deadlock on upgrade.
        database = connect(url, lock_type="IMMEDIATE", pragmas={
            "journal_mode": "wal", "busy_timeout": 10000, "foreign_keys": 1,
            "synchronous": "normal"})
    else:
        database = connect(url)
    db.initialize(database)
    return database


class BaseModel(Model):
    class Meta:
        database = db


def create_tables():
    add_missing_columns()
    db.create_tables(ALL_MODELS, safe=True)


# --------------------------------------------------------------------------- employees

JENIS_ASN = ("PNS", "PPPK")
STATUSES = ("aktif", "nonaktif", "cltn", "pensiun", "berhenti", "meninggal")
CSV_HEADER = ("nip", "nik", "nama", "email", "telepon", "jenis_asn", "status", "instansi",
              "unit_kerja", "jabatan", "pangkat", "golongan", "tmt_cpns", "tmt_pangkat")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^(\+62|62|0)8[0-9]{7,12}$")


class Employee(BaseModel):
    """Master data from BKN / the instansi; read-only to the employee."""

    nip = CharField(max_length=18, unique=True)
    nik = CharField(max_length=16)
    nama = CharField()
    email = CharField(default="")
    telepon = CharField(default="")
    jenis_asn = CharField(max_length=4)
    status = CharField(default="aktif")
    instansi = CharField(default="")
    unit_kerja = CharField(default="")
    jabatan = CharField(default="")
    pangkat = CharField(default="")
    golongan = CharField(default="")
    tmt_cpns = DateField(null=True)
    tmt_pangkat = DateField(null=True)

    @classmethod
    def by_nip(cls, nip: str):
        return cls.get_or_none(cls.nip == nip)

    @property
    def is_active(self) -> bool:
        return self.status == "aktif"

    @property
    def birth_date(self) -> date:
        return security.parse_nip(self.nip).birth_date

    def masa_kerja(self, today: date):
        """(years, months) of service since TMT CPNS; None without a TMT."""
        if not self.tmt_cpns or self.tmt_cpns > today:
            return None
        months = (today.year - self.tmt_cpns.year) * 12 + today.month - self.tmt_cpns.month
        if today.day < self.tmt_cpns.day and not _is_month_end(today):
            months -= 1
        return divmod(months, 12)

    @classmethod
    def search(cls, text: str):
        """By NIP (digits, typed with or without separators: a prefix is enough) or by
        a part of the name; everyone when `text` is empty."""
        query = cls.select().order_by(cls.nama, cls.nip)
        text = " ".join((text or "").split())
        digits = security.normalize_nip(text)
        if digits.isdigit():
            return query.where(cls.nip.startswith(digits))
        if text:
            return query.where(cls.nama.contains(text))
        return query

    def update_data(self, values: dict) -> None:
        """Only the given fields are written: an import running at the same time keeps
        the rest."""
        Employee.update(values).where(Employee.id == self.id).execute()
        for name, value in values.items():
            setattr(self, name, value)


def _is_month_end(d: date) -> bool:
    # 31 Jan -> 28 Feb is a whole month even though 28 < 31.
    return (d + timedelta(days=1)).day == 1


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list = field(default_factory=list)  # (line number, reason)

    @property
    def imported(self) -> int:
        return self.created + self.updated


def _parse_iso_date(text: str, label: str, required: bool):
    if not text:
        if required:
            raise ValueError(f"{label} wajib diisi (format TTTT-BB-HH)")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{label} '{text}' bukan tanggal dengan format TTTT-BB-HH") from None


def employee_row(row: dict) -> dict:
    """Validate one CSV row; returns the cleaned fields or raises ValueError with the
    reason in Bahasa Indonesia."""
    values = {k: (row.get(k) or "").strip() for k in CSV_HEADER}
    try:
        nip = security.parse_nip(values["nip"])
    except security.NipError as exc:
        raise ValueError(f"NIP '{values['nip']}' tidak valid: {exc}") from None
    values["nip"] = nip.value
    values["nik"] = re.sub(r"\s", "", values["nik"])
    if not security.is_valid_nik(values["nik"]):
        raise ValueError("NIK harus 16 digit angka")
    if not values["nama"]:
        raise ValueError("nama wajib diisi")
    values["jenis_asn"] = values["jenis_asn"].upper()
    if values["jenis_asn"] not in JENIS_ASN:
        raise ValueError("jenis_asn harus PNS atau PPPK")
    if values["jenis_asn"] != nip.jenis_asn:
        raise ValueError(f"jenis_asn {values['jenis_asn']} tidak cocok dengan NIP "
                         f"(NIP ini berformat {nip.jenis_asn})")
    values["status"] = values["status"].lower() or "aktif"
    if values["status"] not in STATUSES:
        raise ValueError("status harus salah satu dari: " + ", ".join(STATUSES))
    values["email"] = values["email"].lower()
    if values["email"] and not EMAIL_RE.match(values["email"]):
        raise ValueError(f"email '{values['email']}' tidak valid")
    values["telepon"] = re.sub(r"[\s\-]", "", values["telepon"])
    if values["telepon"] and not PHONE_RE.match(values["telepon"]):
        raise ValueError(f"telepon '{values['telepon']}' bukan nomor HP Indonesia yang valid")
    values["tmt_cpns"] = _parse_iso_date(values["tmt_cpns"], "tmt_cpns", required=True)
    values["tmt_pangkat"] = _parse_iso_date(values["tmt_pangkat"], "tmt_pangkat", required=False)
    return values


def import_employees(data: bytes) -> ImportReport:
    """Import a CSV (header CSV_HEADER, UTF-8). Good rows are inserted or, when the NIP
    exists, updated; bad rows are reported with their line number and kept out."""
    report = ImportReport()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append((0, "Berkas bukan teks UTF-8. Simpan ulang sebagai "
                                 "\"CSV UTF-8\" lalu unggah lagi."))
        return report
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = tuple(h.strip().lower() for h in (reader.fieldnames or ()))
    if not header:
        report.errors.append((0, "Berkas kosong."))
        return report
    missing = [h for h in CSV_HEADER if h not in header]
    if missing:
        report.errors.append((1, "Kolom header tidak lengkap, yang kurang: " + ", ".join(missing)))
        return report
    reader.fieldnames = list(header)
    rows, seen = [], {}
    try:
        for row in reader:
            line = reader.line_num
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            try:
                values = employee_row(row)
            except ValueError as exc:
                report.errors.append((line, str(exc)))
                continue
            if values["nip"] in seen:
                report.errors.append((line, f"NIP {values['nip']} sudah ada di baris "
                                            f"{seen[values['nip']]}"))
                continue
            seen[values["nip"]] = line
            rows.append(values)
    except csv.Error as exc:
        report.errors.append((reader.line_num, f"format CSV rusak: {exc}"))
    with db.atomic():
        existing = set()
        nips = list(seen)
        for i in range(0, len(nips), 500):
            chunk = nips[i:i + 500]
            existing.update(e.nip for e in Employee.select(Employee.nip).where(Employee.nip.in_(chunk)))
        # One upsert statement run for every row: building the SQL row by row with the
        # query builder took most of the time of a 50,000-row import.
        fields = [getattr(Employee, k) for k in CSV_HEADER]
        upsert, _ = (Employee.insert_many([[None] * len(fields)], fields=fields).returning()
                     .on_conflict(conflict_target=[Employee.nip], preserve=fields[1:]).sql())
        db.cursor().executemany(upsert, [[f.db_value(row[f.name]) for f in fields] for row in rows])
    report.updated = len(existing)
    report.created = len(rows) - report.updated
    return report


# --------------------------------------------------------------------------- accounts

ROLES = ("pegawai", "helpdesk", "admin")


class Account(BaseModel):
    """One per employee who has tried to sign in. No password hash means the NIK is
    still the (default) password."""

    employee = ForeignKeyField(Employee, unique=True, backref="accounts", on_delete="CASCADE")
    password_hash = CharField(null=True)
    must_change_password = BooleanField(default=True)
    role = CharField(default="pegawai")
    failed_count = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    created_at = DateTimeField(default=now)
    password_changed_at = DateTimeField(null=True)
    temp_password_expires_at = DateTimeField(null=True)  # set while a helpdesk password is in use

    # Set by the session loader: the SessionRecord this request is signed in with.
    current_session = None

    @classmethod
    def for_employee(cls, employee: Employee) -> "Account":
        account, _ = cls.get_or_create(employee=employee)
        return account

    # flask-login protocol: the id it stores is the server-side session token.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.employee.is_active

    def get_id(self):
        return self.current_session.token if self.current_session else None

    def check_password(self, password: str, cost) -> bool:
        if self.password_hash is None:
            security.verify_password(None, password, cost)  # same time as a real check
            return security.constant_time_equals(password, self.employee.nik)
        return security.verify_password(self.password_hash, password, cost)

    def set_password(self, password: str, cost) -> None:
        self.password_hash = security.hash_password(password, cost)
        self.must_change_password = False
        self.password_changed_at = now()
        self.temp_password_expires_at = None
        self.save()

    def lock_minutes_left(self) -> int:
        """Whole minutes (rounded up) until the lock ends; 0 when not locked."""
        if not self.locked_until or self.locked_until <= now():
            return 0
        return -(-int((self.locked_until - now()).total_seconds()) // 60)

    def register_failure(self, max_failures: int, lock_minutes: int) -> bool:
        """Count a failed password or OTP; returns True when this failure locked the
        account. Done in the database so every worker process sees the same count."""
        with db.atomic():
            Account.update(failed_count=Account.failed_count + 1).where(Account.id == self.id).execute()
            locked = (Account.update(failed_count=0,
                                     locked_until=now() + timedelta(minutes=lock_minutes))
                      .where((Account.id == self.id) & (Account.failed_count >= max_failures))
                      .execute())
        fresh = Account.get_by_id(self.id)
        self.failed_count, self.locked_until = fresh.failed_count, fresh.locked_until
        return bool(locked)

    def register_success(self) -> None:
        Account.update(failed_count=0, locked_until=None).where(Account.id == self.id).execute()
        self.failed_count, self.locked_until = 0, None

    def confirmed_authenticators(self):
        return self.authenticators.where(Authenticator.confirmed_at.is_null(False))

    @property
    def has_mfa(self) -> bool:
        return self.confirmed_authenticators().exists()

    # Helpdesk actions.

    @property
    def has_temporary_password(self) -> bool:
        return self.temp_password_expires_at is not None

    @property
    def temporary_password_expired(self) -> bool:
        return self.has_temporary_password and self.temp_password_expires_at <= now()

    def issue_temporary_password(self, cost) -> str:
        """A random password for the helpdesk to hand over; it must be changed at the
        next login and stops working after TEMPORARY_PASSWORD_HOURS. Also unlocks the
        account and signs every browser out. Returns the password (shown once)."""
        password = security.new_temporary_password()
        values = {"password_hash": security.hash_password(password, cost),
                  "must_change_password": True, "failed_count": 0, "locked_until": None,
                  "temp_password_expires_at": now() + timedelta(hours=TEMPORARY_PASSWORD_HOURS)}
        with db.atomic():
            Account.update(values).where(Account.id == self.id).execute()
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
        """The next login goes to enrollment again (lost or replaced phone)."""
        with db.atomic():
            for model in MFA_MODELS:
                model.delete().where(model.account == self.id).execute()

    def end_sessions(self) -> int:
        return SessionRecord.delete().where(SessionRecord.account == self.id).execute()

    def active_sessions(self):
        return self.sessions.order_by(SessionRecord.last_seen_at.desc())


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
    def pending_for(cls, account: Account, secret_key: str) -> "Authenticator":
        """The unconfirmed authenticator being enrolled: the same secret across
        refreshes and wrong codes, so the QR a person already scanned stays valid."""
        with db.atomic():
            pending = (account.authenticators.where(cls.confirmed_at.is_null())
                       .order_by(cls.id.desc()).first())
            if pending is None:
                pending = cls.create(account=account, secret_encrypted=security.encrypt(
                    security.new_totp_secret(), secret_key))
        return pending

    def secret(self, secret_key: str) -> str:
        return security.decrypt(self.secret_encrypted, secret_key)

    def use_code(self, code: str, secret_key: str) -> str:
        """"ok", "replayed" or "wrong". A code's time step is claimed with a
        compare-and-set update so two requests can never both use it."""
        step = security.totp_match_step(self.secret(secret_key), code, now())
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

    token = None  # the raw token, known only in the request that created it or sent it

    @classmethod
    def start(cls, account: Account, ip: str, user_agent: str) -> "SessionRecord":
        token = secrets.token_urlsafe(32)
        record = cls.create(account=account, token_hash=security.hash_token(token),
                            ip=ip[:64], user_agent=user_agent[:255])
        record.token = token
        return record

    @classmethod
    def resume(cls, token: str, idle: timedelta, lifetime: timedelta):
        """The live record for a cookie token, or None (unknown, idle too long or past
        its absolute lifetime — expired records are deleted)."""
        record = cls.get_or_none(cls.token_hash == security.hash_token(token))
        if record is None:
            return None
        current = now()
        if current - record.last_seen_at > idle or current - record.created_at > lifetime:
            record.delete_instance()
            return None
        if current - record.last_seen_at > timedelta(minutes=1):  # spare the disk
            cls.update(last_seen_at=current).where(cls.id == record.id).execute()
        record.token = token
        return record


# --------------------------------------------------------------------------- messages


class Message(BaseModel):
    """Outgoing e-mail or SMS. With no mail server configured (and for SMS with no
    gateway) messages stay here with status "outbox"; otherwise "pending" until sent,
    retried with back-off, "failed" after MAX_ATTEMPTS."""

    MAX_ATTEMPTS = 8

    channel = CharField(default="email")  # email | sms
    recipient = CharField()
    subject = CharField(default="")
    body = TextField()
    html = TextField(default="")
    status = CharField(default="pending", index=True)  # pending|sending|sent|failed|outbox
    attempts = IntegerField(default=0)
    last_error = CharField(default="")
    nip = CharField(default="", index=True)
    created_at = DateTimeField(default=now)
    next_attempt_at = DateTimeField(default=now)
    sent_at = DateTimeField(null=True)

    @classmethod
    def due(cls):
        return cls.select().where((cls.status == "pending") & (cls.next_attempt_at <= now()))

    def claim(self) -> bool:
        """Only one process or thread sends a given message."""
        return bool(Message.update(status="sending").where(
            (Message.id == self.id) & (Message.status == "pending")).execute())

    def mark_sent(self) -> None:
        Message.update(status="sent", sent_at=now(), attempts=Message.attempts + 1,
                       last_error="").where(Message.id == self.id).execute()

    def mark_failed(self, error: str) -> None:
        attempts = self.attempts + 1
        status = "failed" if attempts >= self.MAX_ATTEMPTS else "pending"
        delay = timedelta(minutes=min(2 ** attempts, 120))
        Message.update(status=status, attempts=attempts, last_error=error[:255],
                       next_attempt_at=now() + delay).where(Message.id == self.id).execute()

    @classmethod
    def outbox(cls, channel=None):
        query = cls.select().order_by(cls.id.desc())
        return query.where(cls.channel == channel) if channel else query


# --------------------------------------------------------------------------- audit


class AuditEvent(BaseModel):
    """Every authentication decision. Never holds a password, OTP or secret."""

    created_at = DateTimeField(default=now, index=True)
    event = CharField(index=True)
    nip = CharField(default="", index=True)
    account = ForeignKeyField(Account, null=True, backref="audit_events", on_delete="SET NULL")
    ip = CharField(default="")
    user_agent = CharField(default="")
    detail = CharField(default="")
    actor_nip = CharField(null=True, index=True)  # the helpdesk/admin operator, if any

    @classmethod
    def record(cls, event: str, *, nip="", account=None, ip="", user_agent="", detail="",
               actor_nip=None):
        return cls.create(event=event, nip=nip[:32], account=account, ip=ip[:64],
                          user_agent=user_agent[:255], detail=detail[:255], actor_nip=actor_nip)

    @classmethod
    def for_nip(cls, nip: str):
        return cls.select().where(cls.nip == nip).order_by(cls.id.desc())

    @classmethod
    def search(cls, *, nip="", event="", start=None, end=None):
        """Newest first. `nip` matches the employee concerned or the operator who acted;
        `start` and `end` are datetimes, `end` exclusive."""
        query = cls.select().order_by(cls.id.desc())
        if nip:
            query = query.where((cls.nip == nip) | (cls.actor_nip == nip))
        if event:
            query = query.where(cls.event == event)
        if start:
            query = query.where(cls.created_at >= start)
        if end:
            query = query.where(cls.created_at < end)
        return query

    @classmethod
    def event_names(cls) -> list:
        return [e.event for e in cls.select(cls.event).distinct().order_by(cls.event)]


ALL_MODELS = [Employee, Account, Authenticator, SessionRecord, Message, AuditEvent]


def count_employees() -> int:
    return Employee.select(fn.COUNT(Employee.id)).scalar()


# --------------------------------------------------------------------------- admin console

TEMPORARY_PASSWORD_HOURS = 24

# What "reset MFA" removes. RecoveryCode joins this tuple when that model exists.
MFA_MODELS = (Authenticator,)


def clean_employee_edit(form) -> tuple[dict, dict]:
    """The contact data and status an admin may change: (values, errors by field)."""
    values = {"email": (form.get("email") or "").strip().lower()[:254],
              "telepon": re.sub(r"[\s\-]", "", form.get("telepon") or "")[:20],
              "status": (form.get("status") or "").strip().lower()}
    errors = {}
    if values["email"] and not EMAIL_RE.match(values["email"]):
        errors["email"] = "Alamat email tidak valid, contoh: nama@instansi.go.id."
    if values["telepon"] and not PHONE_RE.match(values["telepon"]):
        errors["telepon"] = "Nomor HP Indonesia tidak valid, contoh: 081234567890."
    if values["status"] not in STATUSES:
        errors["status"] = "Pilih salah satu status: " + ", ".join(STATUSES) + "."
    return values, errors


def add_missing_columns():
    """Adds the columns a newer version brought to an existing database (a pilot that
    upgrades in place): create_tables(safe=True) leaves existing tables as they are."""
    migrator = SchemaMigrator.from_database(db.obj)
    for model in ALL_MODELS:
        table = model._meta.table_name
        if not db.table_exists(table):
            continue
        existing = {column.name for column in db.get_columns(table)}
        missing = [f for f in model._meta.sorted_fields if f.column_name not in existing]
        if missing:
            migrate(*(migrator.add_column(table, f.column_name, f) for f in missing))
