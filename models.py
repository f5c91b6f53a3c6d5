"""Peewee models and the domain rules that belong to them.

Sections: database, employees (master data and CSV import), accounts (password and
lockout), authenticators (TOTP), sessions, audit."""

import codecs
import csv
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from pathlib import Path
from urllib.parse import urlparse

from peewee import (
    JOIN,
    BlobField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    IntegrityError,
    Model,
    SqliteDatabase,
    TextField,
)
from playhouse.db_url import connect

import fields
import migrations
import security
from security import now

# --------------------------------------------------------------------------- database

db = DatabaseProxy()
POOL_SIZE = 32  # more than the server's threads, the mail thread and a streamed download
POOL_WAIT_SECONDS = 10


def open_database(url: str, root: Path):
    """Connect to `url`; a relative SQLite path is taken from the project folder."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{root / url.removeprefix('sqlite:///')}"
    if url.startswith("sqlite:///"):
        # The database holds the portal's secrets: only the portal's own user may read it
        # (SQLite gives its -wal and -shm files the database file's mode).
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.touch(mode=0o600)
    # Connections are pooled: opening one (and setting its pragmas) cost more than most
    # pages. A request takes one at its first query and gives it back at its end.
    scheme, rest = url.split("://", 1)
    pooled = f"{scheme.removesuffix('+pool')}+pool://{rest}"
    pool = {"max_connections": POOL_SIZE, "timeout": POOL_WAIT_SECONDS}
    if url.startswith("sqlite"):
        # WAL lets readers work beside the writer; IMMEDIATE takes the write lock at
        # BEGIN so read-then-write transactions never deadlock on upgrade.
        database = connect(pooled, lock_type="IMMEDIATE", check_same_thread=False, pragmas={
            "journal_mode": "wal", "busy_timeout": 10000, "foreign_keys": 1,
            "synchronous": "normal"}, **pool)
    else:
        database = connect(pooled, stale_timeout=300, **pool)
    if db.obj is not None:
        db.obj.close_all()  # another app in the same process (tests, scripts): the old pool is done
    db.initialize(database)
    return database


class BaseModel(Model):
    class Meta:
        database = db


def create_tables():
    """A new database: the current schema, with every migration recorded as applied."""
    with db.atomic():
        db.create_tables(ALL_MODELS)
        migrations.stamp(db.obj)


def is_empty() -> bool:
    return not any(db.table_exists(model._meta.table_name) for model in ALL_MODELS)


def prepare_schema(migrate_if_old: bool) -> None:
    """Create the schema in an empty database; an older one is migrated only when asked
    (demo mode), else refused: an operator backs it up first and runs the migration."""
    if is_empty():
        create_tables()
        return
    pending = migrations.pending(db.obj)
    if pending and migrate_if_old:
        migrations.apply(db.obj)
    elif pending:
        raise migrations.SchemaOutOfDate(pending)


class BackupError(Exception):
    pass


PG_BACKUP_GUIDANCE = (
    "Basis data ini PostgreSQL: cadangkan dengan pg_dump, misalnya\n"
    "  pg_dump --format=custom --file=portal.dump \"$ASN_DATABASE_URL\"\n"
    "dan pulihkan (layanan portal dihentikan dahulu) dengan\n"
    "  pg_restore --clean --if-exists --single-transaction --dbname=\"$ASN_DATABASE_URL\" portal.dump")


def _sqlite_path() -> Path:
    if not isinstance(db.obj, SqliteDatabase):
        raise BackupError(PG_BACKUP_GUIDANCE)
    return Path(db.obj.database)


def backup(target: Path) -> None:
    """A consistent copy of the SQLite database while the portal keeps running: SQLite's
    online backup API copies every page in one read transaction, so writes made
    meanwhile are either wholly in the copy or not at all. Written beside `target`,
    checked, then renamed over it."""
    source_path, target = _sqlite_path(), Path(target)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source, copy = sqlite3.connect(source_path, timeout=10), sqlite3.connect(partial)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        source.close()
        copy.close()
    try:
        check_backup(partial)
    except BackupError:
        partial.unlink()
        raise
    os.replace(partial, target)


def check_backup(path: Path) -> None:
    """Refuses a file that is not an intact portal database."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"Berkas {path} tidak ada.")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            integrity = [row[0] for row in con.execute("PRAGMA integrity_check")]
            tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError:
        raise BackupError(f"{path} bukan berkas cadangan portal (bukan basis data SQLite).") from None
    if integrity != ["ok"]:
        raise BackupError(f"{path} rusak (integrity_check: {'; '.join(integrity[:3])}).")
    needed = {"employee", "account"}  # in every release; an older one is migrated after a restore
    if not needed <= tables:
        raise BackupError(f"{path} bukan berkas cadangan portal (tabel {', '.join(sorted(needed - tables))} "
                          "tidak ada).")


def restore(source: Path) -> Path:
    """Replace the SQLite database's contents with the backup `source`, in one write
    transaction (SQLite's backup API into the live file: readers see the old data or
    the new, never a mix). The current contents are first backed up beside it; returns
    that file."""
    live = _sqlite_path()
    check_backup(source)
    kept = live.with_name(f"{live.name}.sebelum-pemulihan-{now():%Y%m%d-%H%M%S}")
    backup(kept)
    backup_file, target = sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(live, timeout=10)
    try:
        backup_file.backup(target)
    finally:
        backup_file.close()
        target.close()
    return kept


# --------------------------------------------------------------------------- employees

JENIS_ASN = ("PNS", "PPPK")
STATUSES = ("aktif", "nonaktif", "cltn", "pensiun", "berhenti", "meninggal")
CSV_HEADER = ("nip", "nik", "nama", "email", "telepon", "jenis_asn", "status", "instansi",
              "unit_kerja", "jabatan", "pangkat", "golongan", "tmt_cpns", "tmt_pangkat")
OPTIONAL_COLUMNS = ("akhir_kontrak",)  # left unchanged when a file does not have them


# The NIK is kept as a keyed hash (HMAC with a key derived from ASN_SECRET_KEY) and its last
# four digits: enough to check a typed NIK and to compare with a KTP, useless to a copy of
# the database. Set once by the application factory.
_nik_key = None


def use_secret_key(secret_key: str) -> None:
    global _nik_key
    _nik_key = secret_key


def nik_hash(nik: str) -> str:
    if _nik_key is None:
        raise RuntimeError("models.use_secret_key() has not been called")
    return security.keyed_hash("nik:" + nik, _nik_key)


class Employee(BaseModel):
    """Master data from BKN / the instansi; read-only to the employee. `email` and
    `telepon` are the contact on record: what proves who someone is. Only the instansi's
    import, an admin's edit, or a change confirmed on both the old and the new address
    may change them."""

    nip = CharField(max_length=18, unique=True)
    nik_hash = CharField(max_length=64)
    nik_last4 = CharField(max_length=4)
    nama = CharField()
    nama_cari = CharField(default="")  # security.normalize_name(nama): searched by prefix on an index
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
    akhir_kontrak = DateField(null=True)  # PPPK: end of the current contract, when known

    class Meta:
        indexes = ((("nama_cari", "nip"), False),)  # the console's list and name search, in order

    def save(self, *args, **kwargs):
        self.nama_cari = security.normalize_name(self.nama)
        return super().save(*args, **kwargs)

    @classmethod
    def by_nip(cls, nip: str):
        return cls.get_or_none(cls.nip == nip)

    @property
    def nik(self):
        raise AttributeError("only a keyed hash of the NIK is stored")

    @nik.setter
    def nik(self, value: str) -> None:
        self.nik_hash, self.nik_last4 = nik_hash(value), value[-4:]

    def nik_matches(self, typed: str) -> bool:
        return len(typed) == 16 and security.constant_time_equals(nik_hash(typed), self.nik_hash)

    def contains_nik(self, text: str) -> bool:
        """Whether any run of 16 digits in `text` is this NIK (for the password rules)."""
        digits = re.sub(r"\D", "", text)
        return any(digits[i:i + 16][-4:] == self.nik_last4 and self.nik_matches(digits[i:i + 16])
                   for i in range(len(digits) - 15))

    @property
    def has_contact(self) -> bool:
        return bool(self.email or self.telepon)

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
        """By NIP (digits, typed with or without separators: a prefix is enough), in NIP
        order; by the start of the name (case, accents and punctuation ignored), in name
        order; everyone, in name order, when `text` is empty. Each is a range on an index,
        so it takes as long with a million employees as with a thousand."""
        text = " ".join((text or "").split())
        digits = security.normalize_nip(text)
        if digits.isdigit():
            return cls.select().where(cls.nip.between(digits.ljust(18, "0"), digits.ljust(18, "9"))).order_by(cls.nip)
        query = cls.select().order_by(cls.nama_cari, cls.nip)
        if not text:
            return query
        prefix = security.normalize_name(text)
        if not prefix:
            return query.where(False)
        query = query.where((cls.nama_cari >= prefix) & cls.nama_cari.startswith(prefix))
        upper = security.after_prefix(prefix)
        return query.where(cls.nama_cari < upper) if upper else query

    def update_data(self, values: dict) -> None:
        """Only the given fields are written: an import running at the same time keeps
        the rest."""
        Employee.update(values).where(Employee.id == self.id).execute()
        for name, value in values.items():
            setattr(self, name, value)


    def next_regular_promotion(self):
        """Kenaikan pangkat reguler: at the earliest 4 years after TMT of the current rank
        (TMT CPNS when no rank date is known). PNS only; None otherwise."""
        start = self.tmt_pangkat or self.tmt_cpns
        if self.jenis_asn != "PNS" or start is None:
            return None
        return add_years(start, 4)


def add_years(d: date, years: int) -> date:
    """29 February plus years lands on 28 February when the target year is not leap."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def _is_month_end(d: date) -> bool:
    # 31 Jan -> 28 Feb is a whole month even though 28 < 31.
    return (d + timedelta(days=1)).day == 1


ERRORS_KEPT = 1000  # rejected rows whose line and reason are kept; the others are only counted


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list = field(default_factory=list)  # (line number, reason), the first ERRORS_KEPT
    rejected: int = 0

    @property
    def imported(self) -> int:
        return self.created + self.updated

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append((line, reason))


def employee_row(row: dict) -> dict:
    """Validate one CSV row; returns the cleaned fields or raises ValueError with the
    reason in Bahasa Indonesia."""
    values = {k: (row.get(k) or "").strip() for k in CSV_HEADER}
    try:
        nip = security.parse_nip(values["nip"])
    except security.NipError as exc:
        raise ValueError(f"NIP '{values['nip']}' tidak valid: {exc}") from None
    values["nip"] = nip.value
    nik = re.sub(r"\s", "", values.pop("nik"))
    if not security.is_valid_nik(nik):
        raise ValueError("NIK harus 16 digit angka")
    values["nik_hash"], values["nik_last4"] = nik_hash(nik), nik[-4:]
    if not values["nama"]:
        raise ValueError("nama wajib diisi")
    values["nama_cari"] = security.normalize_name(values["nama"])
    values["jenis_asn"] = values["jenis_asn"].upper()
    if values["jenis_asn"] not in JENIS_ASN:
        raise ValueError("jenis_asn harus PNS atau PPPK")
    if values["jenis_asn"] != nip.jenis_asn:
        raise ValueError(f"jenis_asn {values['jenis_asn']} tidak cocok dengan NIP "
                         f"(NIP ini berformat {nip.jenis_asn})")
    values["status"] = values["status"].lower() or "aktif"
    if values["status"] not in STATUSES:
        raise ValueError("status harus salah satu dari: " + ", ".join(STATUSES))
    try:
        values["email"] = fields.email(values["email"], required=False)
    except fields.FieldError as exc:
        raise ValueError(f"email '{values['email'][:60]}': {exc}") from None
    try:
        values["telepon"] = fields.phone(values["telepon"], required=False)
    except fields.FieldError as exc:
        raise ValueError(f"telepon '{values['telepon'][:30]}': {exc}") from None
    values["tmt_cpns"] = fields.iso_date(values["tmt_cpns"], "tmt_cpns", required=True)
    values["tmt_pangkat"] = fields.iso_date(values["tmt_pangkat"], "tmt_pangkat", required=False)
    if "akhir_kontrak" in row:  # optional column: end of a PPPK contract
        values["akhir_kontrak"] = fields.iso_date(row["akhir_kontrak"], "akhir_kontrak", required=False)
    return values


IMPORT_BATCH = 2000  # rows per transaction: memory stays flat and sign-ins wait for short write locks
NOT_UTF8 = "Berkas bukan teks UTF-8. Simpan ulang sebagai \"CSV UTF-8\" lalu unggah lagi."


def _rewindable(data) -> io.IOBase:
    """A binary stream that can be read twice: bytes, a file, or a copy of a pipe on disk."""
    if isinstance(data, bytes):
        return io.BytesIO(data)
    if data.seekable():
        return data
    copy = tempfile.TemporaryFile()  # noqa: SIM115 - deleted when the import drops it
    shutil.copyfileobj(data, copy)
    copy.seek(0)
    return copy


def _is_utf8(stream) -> bool:
    """Read through once, a megabyte at a time: a file that is not UTF-8 (an Excel sheet, a
    CSV saved as Latin-1) is refused whole, before any row is written."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in iter(lambda: stream.read(2**20), b""):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        stream.seek(0)
    return True


def read_csv(data, header: tuple, report: ImportReport):
    """The rows of a CSV (bytes or a binary stream), one at a time, as (line number,
    {column: stripped text}), blank lines skipped. A file that can't be used (not UTF-8,
    empty, columns missing) gives no rows; a broken row ends the reading there. Either
    way the reason goes into `report`."""
    stream = _rewindable(data)
    if not _is_utf8(stream):
        report.reject(0, NOT_UTF8)
        return
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        reader = csv.DictReader(text)
        try:
            found = tuple(h.strip().lower() for h in (reader.fieldnames or ()))
        except csv.Error as exc:
            report.reject(1, f"format CSV rusak: {exc}")
            return
        if not found:
            report.reject(0, "Berkas kosong.")
            return
        missing = [h for h in header if h not in found]
        if missing:
            report.reject(1, "Kolom header tidak lengkap, yang kurang: " + ", ".join(missing))
            return
        reader.fieldnames = list(found)
        try:
            for row in reader:
                values = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str) and isinstance(v, str)}
                if any(values.values()):
                    yield reader.line_num, values
        except csv.Error as exc:
            report.reject(reader.line_num, f"format CSV rusak: {exc}")
    finally:
        text.detach()  # the caller's stream stays open


def _batches(rows, size: int):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_employees(data) -> ImportReport:
    """Import a CSV (header CSV_HEADER, UTF-8; bytes or a binary stream), IMPORT_BATCH rows
    at a time, each batch in its own transaction. Good rows are inserted or, when the NIP
    exists, updated; bad rows are reported with their line number and kept out, a NIP
    seen earlier in the file too. Memory stays the same for a thousand rows or a million:
    the NIPs seen so far are kept in a temporary table."""
    report = ImportReport()
    db.execute_sql("DROP TABLE IF EXISTS import_line")
    db.execute_sql("CREATE TEMPORARY TABLE import_line (nip VARCHAR(18) PRIMARY KEY, line INTEGER NOT NULL)")
    try:
        for batch in _batches(read_csv(data, CSV_HEADER, report), IMPORT_BATCH):
            _import_batch(batch, report)
    finally:
        db.execute_sql("DROP TABLE IF EXISTS import_line")
    return report


def _import_batch(batch: list, report: ImportReport) -> None:
    rows, lines = [], {}
    for line, row in batch:
        try:
            values = employee_row(row)
        except ValueError as exc:
            report.reject(line, str(exc))
            continue
        if values["nip"] in lines:
            report.reject(line, f"NIP {values['nip']} sudah ada di baris {lines[values['nip']]}")
            continue
        lines[values["nip"]] = line
        rows.append((line, values))
    if not rows:
        return
    marks = ", ".join([db.param] * len(lines))
    with db.atomic():
        earlier = dict(db.execute_sql(f"SELECT nip, line FROM import_line WHERE nip IN ({marks})",  # noqa: S608
                                      list(lines)).fetchall())
        for line, values in rows:
            if values["nip"] in earlier:
                report.reject(line, f"NIP {values['nip']} sudah ada di baris {earlier[values['nip']]}")
        rows = [values for line, values in rows if values["nip"] not in earlier]
        if not rows:
            return
        nips = [values["nip"] for values in rows]
        existing = Employee.select(Employee.nip).where(Employee.nip.in_(nips)).count()
        # One upsert statement run for every row: building the SQL row by row with the
        # query builder took most of the time of a large import.
        columns = (tuple(k for k in CSV_HEADER if k != "nik") + ("nik_hash", "nik_last4", "nama_cari")
                   + tuple(k for k in OPTIONAL_COLUMNS if k in rows[0]))
        fields = [getattr(Employee, k) for k in columns]
        upsert, _ = (Employee.insert_many([[None] * len(fields)], fields=fields).returning()
                     .on_conflict(conflict_target=[Employee.nip], preserve=fields[1:]).sql())
        cursor = db.cursor()
        cursor.executemany(upsert, [[f.db_value(row[f.name]) for f in fields] for row in rows])
        cursor.executemany(f"INSERT INTO import_line (nip, line) VALUES ({db.param}, {db.param})",  # noqa: S608
                           [(nip, lines[nip]) for nip in nips])
    report.updated += existing
    report.created += len(rows) - existing


# --------------------------------------------------------------------------- career, documents, leave


class PositionHistory(BaseModel):
    """Riwayat jabatan."""

    employee = ForeignKeyField(Employee, backref="positions", on_delete="CASCADE")
    jabatan = CharField()
    unit_kerja = CharField(default="")
    tmt = DateField()
    nomor_sk = CharField(default="")

    @classmethod
    def of(cls, employee):
        return cls.select().where(cls.employee == employee).order_by(cls.tmt, cls.id)


class RankHistory(BaseModel):
    """Riwayat pangkat/golongan."""

    employee = ForeignKeyField(Employee, backref="ranks", on_delete="CASCADE")
    pangkat = CharField(default="")
    golongan = CharField()
    tmt = DateField()
    nomor_sk = CharField(default="")

    @classmethod
    def of(cls, employee):
        return cls.select().where(cls.employee == employee).order_by(cls.tmt, cls.id)


HISTORY_HEADER = ("nip", "jenis", "jabatan_atau_pangkat", "unit_kerja_atau_golongan", "tmt", "nomor_sk")


def import_history(data: bytes) -> ImportReport:
    """Riwayat jabatan/pangkat from CSV (header HISTORY_HEADER; jenis = jabatan|pangkat).
    A row identical to one already stored (same NIP, kind and TMT) is updated."""
    report = ImportReport()
    rows = list(read_csv(data, HISTORY_HEADER, report))
    employees = {}
    with db.atomic():
        for line, row in rows:
            try:
                nip = security.parse_nip(row["nip"]).value
                employee = employees.get(nip) or Employee.by_nip(nip)
                if employee is None:
                    raise ValueError(f"NIP {nip} tidak ada di data pegawai")
                employees[nip] = employee
                kind = row["jenis"].lower()
                if kind not in ("jabatan", "pangkat"):
                    raise ValueError("jenis harus jabatan atau pangkat")
                if not row["jabatan_atau_pangkat"] and kind == "jabatan":
                    raise ValueError("nama jabatan wajib diisi")
                if not row["unit_kerja_atau_golongan"] and kind == "pangkat":
                    raise ValueError("golongan wajib diisi")
                tmt = fields.iso_date(row["tmt"], "tmt", required=True)
            except (ValueError, security.NipError) as exc:
                report.reject(line, str(exc))
                continue
            model = PositionHistory if kind == "jabatan" else RankHistory
            record = ({"jabatan": row["jabatan_atau_pangkat"], "unit_kerja": row["unit_kerja_atau_golongan"]}
                      if kind == "jabatan" else
                      {"pangkat": row["jabatan_atau_pangkat"], "golongan": row["unit_kerja_atau_golongan"]})
            existing = model.get_or_none((model.employee == employee) & (model.tmt == tmt))
            if existing:
                model.update(nomor_sk=row["nomor_sk"], **record).where(model.id == existing.id).execute()
                report.updated += 1
            else:
                model.create(employee=employee, tmt=tmt, nomor_sk=row["nomor_sk"], **record)
                report.created += 1
    return report


class Document(BaseModel):
    """A PDF attached to an employee by the admin (SK, etc.). The content lives in its own
    column and is read only for a download."""

    MAX_BYTES = 5 * 1024 * 1024

    employee = ForeignKeyField(Employee, backref="documents", on_delete="CASCADE")
    jenis = CharField()
    nomor = CharField(default="")
    tanggal = DateField(null=True)
    filename = CharField()
    size = IntegerField()
    content = BlobField()
    uploaded_at = DateTimeField(default=now)

    @classmethod
    def listing(cls, employee):
        return (cls.select(cls.id, cls.jenis, cls.nomor, cls.tanggal, cls.filename, cls.size, cls.uploaded_at)
                .where(cls.employee == employee).order_by(cls.tanggal.desc(), cls.id.desc()))

    @classmethod
    def owned(cls, document_id: int, employee):
        """The document if it belongs to `employee`; None otherwise (never another's)."""
        return cls.get_or_none((cls.id == document_id) & (cls.employee == employee))


def is_pdf(data: bytes) -> bool:
    """By content, not by name: a PDF header at the start and an EOF marker at the end."""
    return data[:5] == b"%PDF-" and b"%%EOF" in data[-1024:]


LEAVE_TYPES = {
    "tahunan": "Cuti tahunan",
    "sakit": "Cuti sakit",
    "besar": "Cuti besar",
    "melahirkan": "Cuti melahirkan",
    "alasan_penting": "Cuti karena alasan penting",
}
ANNUAL_LEAVE_DAYS = 12


def working_days(start: date, end: date) -> int:
    """Monday to Friday between start and end inclusive (national holidays not known here)."""
    days = (end - start).days + 1
    return sum(1 for i in range(days) if (start + timedelta(days=i)).weekday() < 5)


class LeaveRequest(BaseModel):
    """Pengajuan cuti."""

    employee = ForeignKeyField(Employee, backref="leave_requests", on_delete="CASCADE")
    jenis = CharField()
    start = DateField()
    end = DateField()
    reason = TextField()
    status = CharField(default="diajukan", index=True)  # diajukan | disetujui | ditolak
    decision_note = TextField(default="")
    decided_by = CharField(default="")  # the admin's NIP
    created_at = DateTimeField(default=now)
    decided_at = DateTimeField(null=True)

    STATUS_LABELS = {"diajukan": "Menunggu persetujuan", "disetujui": "Disetujui", "ditolak": "Ditolak"}

    @property
    def days(self) -> int:
        return working_days(self.start, self.end)

    @classmethod
    def of(cls, employee):
        return cls.select().where(cls.employee == employee).order_by(cls.start.desc(), cls.id.desc())

    @classmethod
    def owned(cls, request_id: int, employee):
        return cls.get_or_none((cls.id == request_id) & (cls.employee == employee))

    @classmethod
    def with_status(cls, status: str):
        return cls.select(cls, Employee).join(Employee).where(cls.status == status).order_by(cls.start, cls.id)

    def clashes_with_approved(self) -> bool:
        return LeaveRequest.select().where(
            (LeaveRequest.employee == self.employee_id) & (LeaveRequest.status == "disetujui")
            & (LeaveRequest.id != self.id) & (LeaveRequest.start <= self.end) & (LeaveRequest.end >= self.start)
        ).exists()

    def decide(self, status: str, note: str, admin_nip: str) -> None:
        self.status, self.decision_note, self.decided_by, self.decided_at = status, note, admin_nip, now()
        self.save()

    @classmethod
    def annual_days_used(cls, employee, year: int) -> int:
        """Working days of annual leave approved or waiting, in `year`."""
        requests = cls.select().where((cls.employee == employee) & (cls.jenis == "tahunan")
                                      & (cls.status != "ditolak")
                                      & (cls.start <= date(year, 12, 31)) & (cls.end >= date(year, 1, 1)))
        return sum(r.days for r in requests)

    @classmethod
    def validate(cls, employee, jenis: str, start, end, reason: str) -> dict:
        """Errors by field name, in Bahasa Indonesia; empty when the request is acceptable."""
        errors = {}
        if jenis not in LEAVE_TYPES:
            errors["jenis"] = "Pilih jenis cuti."
        if start is None:
            errors["start"] = "Isi tanggal mulai (format TTTT-BB-HH)."
        if end is None:
            errors["end"] = "Isi tanggal selesai (format TTTT-BB-HH)."
        if not reason.strip():
            errors["reason"] = "Tuliskan alasan cuti."
        elif len(reason) > 500:
            errors["reason"] = "Alasan paling banyak 500 karakter."
        if errors:
            return errors
        if end < start:
            errors["end"] = "Tanggal selesai tidak boleh sebelum tanggal mulai."
            return errors
        if working_days(start, end) == 0:
            errors["end"] = "Rentang tanggal ini tidak memuat hari kerja (Senin–Jumat)."
            return errors
        clash = cls.select().where((cls.employee == employee) & (cls.status == "disetujui")
                                   & (cls.start <= end) & (cls.end >= start)).first()
        if clash:
            errors["start"] = (f"Bertabrakan dengan cuti yang sudah disetujui "
                               f"({clash.start:%d-%m-%Y} s.d. {clash.end:%d-%m-%Y}).")
            return errors
        if jenis == "tahunan":
            if start.year != end.year:
                errors["end"] = ("Cuti tahunan diajukan per tahun: pisahkan pengajuan yang "
                                 "melewati 31 Desember.")
                return errors
            used = cls.annual_days_used(employee, start.year)
            asked = working_days(start, end)
            if used + asked > ANNUAL_LEAVE_DAYS:
                errors["end"] = (f"Melebihi jatah cuti tahunan {ANNUAL_LEAVE_DAYS} hari kerja: sudah "
                                 f"terpakai atau diajukan {used} hari, pengajuan ini {asked} hari, sisa "
                                 f"{max(ANNUAL_LEAVE_DAYS - used, 0)} hari.")
        return errors


class Notification(BaseModel):
    """A message in the employee's dashboard (also sent by mail where it matters)."""

    employee = ForeignKeyField(Employee, backref="notifications", on_delete="CASCADE")
    title = CharField()
    body = TextField(default="")
    link = CharField(default="")
    created_at = DateTimeField(default=now, index=True)
    read_at = DateTimeField(null=True)

    @classmethod
    def of(cls, employee):
        return cls.select().where(cls.employee == employee).order_by(cls.id.desc())

    @classmethod
    def unread_count(cls, employee) -> int:
        return cls.select().where((cls.employee == employee) & cls.read_at.is_null()).count()

    @classmethod
    def mark_read(cls, employee, notification_id=None) -> int:
        query = cls.update(read_at=now()).where((cls.employee == employee) & cls.read_at.is_null())
        if notification_id is not None:
            query = query.where(cls.id == notification_id)
        return query.execute()


# --------------------------------------------------------------------------- accounts

ROLES = ("pegawai", "helpdesk", "admin")


LOCK_CAP_MINUTES = 24 * 60


class Lockable(BaseModel):
    """A failure counter and the lock it leads to, for whatever a failure is counted
    against: an account (from browsers it does not know), one known browser of an account,
    or a NIP that is not in the data (which must behave exactly like one that is).

    A check is first *taken* (one UPDATE that also tests the lock), then either given back
    (it passed) or failed. So parallel guesses get exactly `max_failures` checks: the
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

    def take_attempt(self, max_failures: int) -> bool:
        """Reserve one check; False when locked, or when the checks already under way would
        use up the remaining tries."""
        cls = type(self)
        taken = cls.update(failed_count=cls.failed_count + 1).where(
            (cls.id == self.id) & (cls.locked_until.is_null() | (cls.locked_until <= now()))
            & (cls.failed_count < max_failures)).execute()
        self._reload_lock()
        return bool(taken)

    def give_back_attempt(self) -> None:
        """The reserved check passed: it was no failure (nor does it clear earlier ones;
        only a completed sign-in does)."""
        cls = type(self)
        cls.update(failed_count=cls.failed_count - 1).where((cls.id == self.id) & (cls.failed_count > 0)).execute()
        self._reload_lock()

    def fail_attempt(self, max_failures: int, lock_minutes: int) -> bool:
        """The reserved check failed. Returns True when it used up the tries and locked:
        for `lock_minutes`, doubled for every lock since the last completed sign-in, at
        most a day."""
        cls = type(self)
        self._reload_lock()
        minutes = min(lock_minutes * 2 ** min(self.lock_count, 16), LOCK_CAP_MINUTES)
        locked = cls.update(failed_count=0, locked_until=now() + timedelta(minutes=minutes),
                            lock_count=cls.lock_count + 1).where(
            (cls.id == self.id) & (cls.failed_count >= max_failures)).execute()
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
    Its failure counter is for browsers the account does not know (TrustedDevice)."""

    employee = ForeignKeyField(Employee, unique=True, backref="accounts", on_delete="CASCADE")
    password_hash = CharField(null=True)
    must_change_password = BooleanField(default=True)
    role = CharField(default="pegawai")
    created_at = DateTimeField(default=now)
    password_changed_at = DateTimeField(null=True)
    must_activate = BooleanField(default=False)  # registered; activation link not yet followed
    temp_password_expires_at = DateTimeField(null=True)  # set while a helpdesk password is in use
    subject = CharField(max_length=43, null=True, unique=True)  # OpenID Connect "sub": opaque, never the NIP

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
        """The account's own (or a helpdesk's temporary) password. Without one, nothing
        matches here, in the time a real check takes: the first sign-in is proved by
        `first_password`."""
        return security.verify_password(self.password_hash, password, cost)

    def upgrade_password_hash(self, password: str, cost) -> bool:
        """After a correct password: a hash made with other argon2 parameters (an older
        default) is replaced by one with `cost`. Compare-and-set, so a password changed
        meanwhile is kept. Returns True when it was replaced."""
        old_hash = self.password_hash
        if not old_hash or not security.needs_rehash(old_hash, cost):
            return False
        new_hash = security.hash_password(password, cost)
        replaced = Account.update(password_hash=new_hash).where(
            (Account.id == self.id) & (Account.password_hash == old_hash)).execute()
        if replaced:
            self.password_hash = new_hash
        return bool(replaced)

    def first_password(self, typed: str, secret_key: str, policy: str) -> str | None:
        """Before the employee has a password: "letter" when `typed` is the code of an
        unused activation letter (in any policy), "nik" when it is the NIK (except in the
        letter policy), else None. The caller has spent a hash's time already."""
        if self.password_hash is not None:
            return None
        if ActivationLetter.use(self.employee, typed, secret_key):
            return "letter"
        if policy != "letter" and self.employee.nik_matches(typed):
            return "nik"
        return None

    def set_password(self, password: str, cost) -> None:
        self.password_hash = security.hash_password(password, cost)
        self.must_change_password = False
        self.password_changed_at = now()
        self.temp_password_expires_at = None
        self.save()

    def register_success(self) -> None:
        """A completed sign-in (or a reset by e-mail or the helpdesk): every counter of the
        account starts again, its known browsers' too."""
        self.clear_failures()
        TrustedDevice.update(failed_count=0, locked_until=None, lock_count=0).where(
            TrustedDevice.account == self.id).execute()

    @property
    def is_locked(self) -> bool:
        """Locked for unknown browsers, or on any of its known ones (for the console)."""
        return bool(self.lock_minutes_left()) or self.devices.where(TrustedDevice.locked_until > now()).exists()

    def confirmed_authenticators(self):
        return self.authenticators.where(Authenticator.confirmed_at.is_null(False))

    def use_otp(self, code: str, secret_key: str) -> str:
        """"ok" when one of the confirmed authenticators accepts `code` (and claims its
        time step), "replayed" when it was valid but already used, else "wrong"."""
        results = [a.use_code(code, secret_key) for a in self.confirmed_authenticators()]
        return "ok" if "ok" in results else "replayed" if "replayed" in results else "wrong"

    def check_second_factor(self, typed: str, secret_key: str) -> "SecondFactor":
        """An OTP or a recovery code, whichever `typed` is (people type what they have).
        A wrong OTP that one of the authenticators would have given a few minutes off is
        diagnosed (`skew`), and stays wrong. Counting failures is the caller's, against
        the counter of the browser that typed it."""
        code = security.normalize_otp(typed)
        if len(code) == 6 and code.isdigit():
            result = self.use_otp(code, secret_key)
            skew = None
            if result == "wrong":
                skew = next((minutes for a in self.confirmed_authenticators()
                             if (minutes := security.totp_skew_minutes(a.secret(secret_key), code, now()))
                             is not None), None)
            return SecondFactor("otp", result, skew)
        if len(normalize_recovery_code(typed)) == RECOVERY_CODE_LENGTH:
            return SecondFactor("recovery_code", "ok" if RecoveryCode.use(self, typed, secret_key) else "wrong")
        return SecondFactor("malformed", "wrong")

    @property
    def has_mfa(self) -> bool:
        return self.confirmed_authenticators().exists()

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

    def issue_temporary_password(self, cost) -> str:
        """A random password for the helpdesk to hand over; it must be changed at the
        next login and stops working after TEMPORARY_PASSWORD_HOURS. Also unlocks the
        account and signs every browser out. Returns the password (shown once)."""
        password = security.new_temporary_password()
        values = {"password_hash": security.hash_password(password, cost), "must_change_password": True,
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
        """The next login goes to enrollment again (lost or replaced phone). Every browser
        is signed out: one signed in with the lost phone's codes must not stay in."""
        with db.atomic():
            for model in MFA_MODELS:
                model.delete().where(model.account == self.id).execute()
            self.end_sessions()

    def end_sessions(self, keep=None) -> int:
        """Sign every browser out (but the session record `keep`); returns how many."""
        condition = SessionRecord.account == self.id
        if keep is not None:
            condition &= SessionRecord.id != keep.id
        return SessionRecord.end(condition)

    def subject_id(self) -> str:
        """The stable, opaque id apps know this account by (given on first use)."""
        if self.subject is None:
            Account.update(subject=secrets.token_urlsafe(24)).where(
                (Account.id == self.id) & Account.subject.is_null()).execute()
            self.subject = Account.get_by_id(self.id).subject
        return self.subject

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

    def check_enrollment(self, code: str, secret_key: str) -> SecondFactor:
        """The first code from the app being enrolled, with the same diagnosis of a skewed
        phone clock as at sign-in."""
        result = self.use_code(code, secret_key)
        skew = security.totp_skew_minutes(self.secret(secret_key), code, now()) if result == "wrong" else None
        return SecondFactor("otp", result, skew)

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


class KeyCheck(BaseModel):
    """A constant encrypted with the secret key on first start. A database restored under
    another ASN_SECRET_KEY is then refused at start-up, instead of failing at every OTP."""

    PLAINTEXT = "portal-asn key check"

    value = TextField()
    created_at = DateTimeField(default=now)

    @classmethod
    def matches(cls, secret_key: str) -> bool:
        """True if `secret_key` is the key the stored secrets were encrypted with; the first
        call stores the check value (tested first against an existing TOTP secret)."""
        with db.atomic():
            stored = cls.select().order_by(cls.id).first()
            if stored is None:
                sample = Authenticator.select().order_by(Authenticator.id).first()
                if sample is not None and not _decrypts(sample.secret_encrypted, secret_key):
                    return False
                cls.create(value=security.encrypt(cls.PLAINTEXT, secret_key))
                return True
        return _decrypts(stored.value, secret_key)


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
    def generate(cls, account: Account, secret_key: str) -> list:
        """Replace the account's codes with new ones; returns them (shown once)."""
        codes = []
        for _ in range(cls.COUNT):
            raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
            codes.append(f"{raw[:5]}-{raw[5:]}")
        with db.atomic():
            cls.delete().where(cls.account == account.id).execute()
            cls.insert_many([{"account": account.id, "code_hash": security.keyed_hash(
                normalize_recovery_code(c), secret_key)} for c in codes]).execute()
        return codes

    @classmethod
    def remaining(cls, account: Account) -> int:
        return cls.select().where((cls.account == account.id) & cls.used_at.is_null()).count()

    @classmethod
    def use(cls, account: Account, typed: str, secret_key: str) -> bool:
        """Accept an unused code once; a compare-and-set update so it can't be used twice."""
        code_hash = security.keyed_hash(normalize_recovery_code(typed), secret_key)
        return bool(cls.update(used_at=now()).where(
            (cls.account == account.id) & (cls.code_hash == code_hash) & cls.used_at.is_null()).execute())


# --------------------------------------------------------------------------- tokens


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
    auth_method = CharField(default="")  # the second factor of the sign-in: otp | recovery_code | mfa_enrolled

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
            OidcSignIn.queue_logouts(ids)
            OidcToken.update(revoked_at=now()).where(OidcToken.session.in_(ids) & OidcToken.revoked_at.is_null()
                                                      ).execute()
            return cls.delete().where(cls.id.in_(ids)).execute()

    def hand_over(self, successor: "SessionRecord") -> None:
        """The same person signed in again in this browser (an app asked for a fresh
        login): the apps signed in through this session now belong to `successor`."""
        with db.atomic():
            OidcSignIn.update(session=successor).where(OidcSignIn.session == self.id).execute()
            OidcToken.update(session=successor).where(OidcToken.session == self.id).execute()
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

    _with_account_sql = {}  # database class -> SQL of the query below

    @classmethod
    def _with_account(cls, token_hash: str):
        """One query for what every signed-in page needs: the session, its account and
        employee. Its SQL is built once: building it with the query builder took longer
        than running it."""
        kind = type(db.obj)
        if kind not in cls._with_account_sql:
            cls._with_account_sql[kind] = (cls.select(cls, Account, Employee).join(Account).join(Employee)
                                           .where(cls.token_hash == token_hash).limit(1).sql()[0])
        row = db.execute_sql(cls._with_account_sql[kind], [token_hash, 1]).fetchone()
        if row is None:
            return None
        values, loaded = iter(row), []
        for model in (cls, Account, Employee):  # the columns in the order select() lists them
            instance = model(__no_default__=1, **{f.name: f.python_value(next(values))
                                                  for f in model._meta.sorted_fields})
            loaded.append(instance)
        record, account, employee = loaded
        account.employee, record.account = employee, account
        for instance in loaded:
            instance._dirty.clear()
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
        device = cls.get_or_none((cls.token_hash == security.hash_token(token)) & (cls.account == account.id))
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


# --------------------------------------------------------------------------- first sign-in proof

ACTIVATION_LETTER_DAYS = 30
LETTER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L


def normalize_letter_code(typed: str) -> str:
    return re.sub(r"[\s\-]", "", typed or "").upper()


class ActivationLetter(BaseModel):
    """A printed letter with a single-use activation code that replaces the NIK at the
    first sign-in (for offices whose data has no e-mail). Only a keyed hash is stored."""

    employee = ForeignKeyField(Employee, backref="activation_letters", on_delete="CASCADE")
    code_hash = CharField(max_length=64)
    created_at = DateTimeField(default=now)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)

    @classmethod
    def issue(cls, employee: Employee, secret_key: str) -> str:
        """A new code for `employee` (earlier unused ones stop working); returns it."""
        raw = "".join(secrets.choice(LETTER_ALPHABET) for _ in range(12))
        with db.atomic():
            cls.update(used_at=now()).where((cls.employee == employee.id) & cls.used_at.is_null()).execute()
            cls.create(employee=employee, code_hash=security.keyed_hash(raw, secret_key),
                       expires_at=now() + timedelta(days=ACTIVATION_LETTER_DAYS))
        return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"

    @classmethod
    def use(cls, employee: Employee, typed: str, secret_key: str) -> bool:
        code = normalize_letter_code(typed)
        if len(code) != 12:
            return False
        return bool(cls.update(used_at=now()).where(
            (cls.employee == employee.id) & (cls.code_hash == security.keyed_hash(code, secret_key))
            & cls.used_at.is_null() & (cls.expires_at > now())).execute())

    @staticmethod
    def recipients(unit: str = ""):
        """Active employees who have no password yet, by unit and name; `unit` filters."""
        query = (Employee.select().join(Account, JOIN.LEFT_OUTER, on=(Account.employee == Employee.id))
                 .where((Employee.status == "aktif") & Account.password_hash.is_null())
                 .order_by(Employee.unit_kerja, Employee.nama, Employee.nip))
        return query.where(Employee.unit_kerja == unit) if unit else query


class RegistrationRequest(BaseModel):
    """A registration for an employee with no e-mail or phone on record: it waits until
    the helpdesk has checked the person's identity (Verifikasi pendaftaran); only then is
    the contact stored and the activation link sent."""

    STATUS_LABELS = {"menunggu": "Menunggu verifikasi", "disetujui": "Disetujui", "ditolak": "Ditolak"}

    employee = ForeignKeyField(Employee, backref="registration_requests", on_delete="CASCADE")
    email = CharField()
    telepon = CharField(default="")
    status = CharField(default="menunggu", index=True)
    created_at = DateTimeField(default=now)
    decided_at = DateTimeField(null=True)
    decided_by = CharField(default="")  # the operator's NIP
    note = CharField(default="")

    @classmethod
    def waiting(cls):
        return (cls.select(cls, Employee).join(Employee).where(cls.status == "menunggu")
                .order_by(cls.created_at, cls.id))

    @classmethod
    def submit(cls, employee: Employee, email: str, telepon: str) -> "RegistrationRequest":
        """One waiting request per employee: a new one replaces what was typed before."""
        with db.atomic():
            cls.delete().where((cls.employee == employee.id) & (cls.status == "menunggu")).execute()
            return cls.create(employee=employee, email=email, telepon=telepon)

    def decide(self, status: str, operator_nip: str, note: str) -> bool:
        """Compare-and-set, so two operators never both decide it."""
        return bool(RegistrationRequest.update(status=status, decided_at=now(), decided_by=operator_nip,
                                               note=note[:255]).where(
            (RegistrationRequest.id == self.id) & (RegistrationRequest.status == "menunggu")).execute())


# --------------------------------------------------------------------------- messages


SECRET_LINK_RE = re.compile(r"https?://\S+?/(?:reset|aktivasi)/[A-Za-z0-9_\-]+")


def redact_links(text: str) -> str:
    return SECRET_LINK_RE.sub("[tautan disembunyikan setelah terkirim]", text)


class Message(BaseModel):
    """Outgoing e-mail or SMS. With no mail server configured (and for SMS with no
    gateway) messages stay here with status "outbox"; otherwise "pending" until sent,
    retried with back-off, "failed" after MAX_ATTEMPTS."""

    MAX_ATTEMPTS = 8
    # A message still "sending" after this long was cut off (the process died mid-send).
    SENDING_TIMEOUT = timedelta(minutes=5)

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
    def _is_due(cls):
        """Pending and its time has come, or stuck in "sending" past SENDING_TIMEOUT (a
        claim sets next_attempt_at to the moment it counts as stuck)."""
        return cls.status.in_(("pending", "sending")) & (cls.next_attempt_at <= now())

    @classmethod
    def due(cls):
        return cls.select().where(cls._is_due())

    @classmethod
    def has_due_logouts(cls) -> bool:
        return cls.select().where(cls._is_due() & (cls.channel == "backchannel")).exists()

    def claim(self) -> bool:
        """Only one process or thread sends a given message."""
        return bool(Message.update(status="sending", next_attempt_at=now() + self.SENDING_TIMEOUT).where(
            (Message.id == self.id) & ((Message.status == "pending") | Message._is_due())).execute())

    def mark_sent(self) -> None:
        """Sent: a reset or activation link in it has done its job here, and a copy of the
        database must not be a way into accounts."""
        Message.update(status="sent", sent_at=now(), attempts=Message.attempts + 1, last_error="",
                       body=redact_links(self.body), html=redact_links(self.html)).where(
            Message.id == self.id).execute()

    def mark_failed(self, error: str) -> None:
        attempts = self.attempts + 1
        status = "failed" if attempts >= self.MAX_ATTEMPTS else "pending"
        delay = timedelta(minutes=min(2 ** attempts, 120))
        Message.update(status=status, attempts=attempts, last_error=error[:255],
                       next_attempt_at=now() + delay).where(Message.id == self.id).execute()

    @classmethod
    def with_status(cls, statuses):
        """For the console: oldest first, so what waits longest is on top."""
        return cls.select().where(cls.status.in_(statuses)).order_by(cls.id)

    @classmethod
    def outbox(cls, channel=None):
        query = cls.select().order_by(cls.id.desc())
        return query.where(cls.channel == channel) if channel else query


# --------------------------------------------------------------------------- single sign-on (OpenID Connect)
# The portal is the instansi's OpenID Connect provider (oidc.py speaks the protocol). Every
# code and token is stored as a hash; a client secret as a keyed hash.

OIDC_SCOPES = ("openid", "profile", "email", "phone", "asn")
# What an employee is told an app will receive, per scope (the consent page, the dashboard).
SCOPE_LABELS = {
    "openid": "Tanda pengenal akun (bukan NIP) dan waktu Anda masuk",
    "profile": "Nama lengkap",
    "email": "Alamat email kedinasan",
    "phone": "Nomor ponsel",
    "asn": "Data kepegawaian: NIP, jenis ASN, status, instansi, unit kerja, jabatan, pangkat dan golongan",
}


def scope_list(scope: str) -> list:
    return [s for s in OIDC_SCOPES if s in (scope or "").split()]


def client_secret_hash(secret: str) -> str:
    return security.keyed_hash("client:" + secret, _nik_key)


class OidcClient(BaseModel):
    """An app of the instansi that signs its users in through the portal. Public clients
    (apps in a browser or on a phone) have no secret and must use PKCE."""

    client_id = CharField(max_length=64, unique=True)
    name = CharField()
    secret_hash = CharField(default="")
    redirect_uris = TextField()  # one per line; a request must name one exactly
    post_logout_redirect_uris = TextField(default="")
    backchannel_logout_uri = CharField(default="")
    is_public = BooleanField(default=False)
    is_pre_approved = BooleanField(default=False)  # an internal app: no consent page
    is_disabled = BooleanField(default=False)
    created_at = DateTimeField(default=now)
    secret_changed_at = DateTimeField(null=True)

    @classmethod
    def register(cls, name: str, redirect_uris: list, *, is_public=False, is_pre_approved=False,
                 backchannel_logout_uri="", post_logout_redirect_uris=()) -> tuple:
        """A new client; returns (client, secret), the secret None for a public client."""
        secret = None if is_public else secrets.token_urlsafe(32)
        client = cls.create(client_id=secrets.token_urlsafe(16), name=name, redirect_uris="\n".join(redirect_uris),
                            post_logout_redirect_uris="\n".join(post_logout_redirect_uris),
                            backchannel_logout_uri=backchannel_logout_uri, is_public=is_public,
                            is_pre_approved=is_pre_approved,
                            secret_hash=client_secret_hash(secret) if secret else "")
        return client, secret

    @staticmethod
    def uri_problems(redirect_uris, backchannel_logout_uri="", post_logout_uris=()) -> list:
        """What is wrong with the addresses given for a client (Bahasa Indonesia)."""
        problems = []
        if not redirect_uris:
            problems.append("Isi paling sedikit satu alamat kembali (redirect URI).")
        for uri in [*redirect_uris, *post_logout_uris, *([backchannel_logout_uri] if backchannel_logout_uri else [])]:
            parsed = urlparse(uri)
            if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.fragment or " " in uri:
                problems.append(f"Alamat tidak valid: {uri[:200]} (harus alamat lengkap http:// atau https://, "
                                "tanpa #).")
        return problems

    def rotate_secret(self) -> str:
        secret = secrets.token_urlsafe(32)
        self.secret_hash, self.secret_changed_at = client_secret_hash(secret), now()
        self.save()
        return secret

    @classmethod
    def active(cls, client_id: str):
        return cls.get_or_none((cls.client_id == client_id[:64]) & (cls.is_disabled == False))  # noqa: E712

    @classmethod
    def listing(cls):
        return cls.select().order_by(cls.name)

    @property
    def redirect_uri_list(self) -> list:
        return [u for u in self.redirect_uris.splitlines() if u]

    @property
    def post_logout_uri_list(self) -> list:
        return [u for u in self.post_logout_redirect_uris.splitlines() if u]

    # Authlib's ClientMixin.
    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None  # OpenID Connect: every request names its redirect URI

    def get_allowed_scope(self, scope):
        return " ".join(scope_list(scope))

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uri_list

    def check_client_secret(self, client_secret):
        return bool(self.secret_hash) and security.constant_time_equals(client_secret_hash(client_secret),
                                                                          self.secret_hash)

    def check_endpoint_auth_method(self, method, endpoint):
        if self.is_public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")

    @property
    def client_metadata(self) -> dict:
        return {"post_logout_redirect_uris": self.post_logout_uri_list}


class OidcConsent(BaseModel):
    """What an employee agreed an app may receive."""

    account = ForeignKeyField(Account, backref="consents", on_delete="CASCADE")
    client = ForeignKeyField(OidcClient, backref="consents", on_delete="CASCADE")
    scope = CharField()
    granted_at = DateTimeField(default=now)
    last_used_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("account", "client"), True),)

    @classmethod
    def covers(cls, account, client, scope: str) -> bool:
        consent = cls.get_or_none((cls.account == account.id) & (cls.client == client.id))
        return consent is not None and set(scope_list(scope)) <= set(consent.scope.split())

    @classmethod
    def grant(cls, account, client, scope: str) -> None:
        with db.atomic():
            consent = cls.get_or_none((cls.account == account.id) & (cls.client == client.id))
            if consent is None:
                cls.create(account=account, client=client, scope=" ".join(scope_list(scope)))
                return
            consent.scope = " ".join(scope_list(consent.scope + " " + scope))
            consent.last_used_at = now()
            consent.save()

    @classmethod
    def of(cls, account):
        return (cls.select(cls, OidcClient).join(OidcClient).where(cls.account == account.id)
                .order_by(cls.last_used_at.desc()))

    @classmethod
    def revoke(cls, account, client) -> bool:
        """Withdraw the app's access: its consent and every token it holds for the account."""
        with db.atomic():
            OidcToken.update(revoked_at=now()).where((OidcToken.account == account.id)
                                                     & (OidcToken.client == client.id)
                                                     & OidcToken.revoked_at.is_null()).execute()
            return bool(cls.delete().where((cls.account == account.id) & (cls.client == client.id)).execute())

    @property
    def scope_labels(self) -> list:
        return [SCOPE_LABELS[s] for s in scope_list(self.scope)]


class OidcSignIn(BaseModel):
    """An app signed in through one portal session; `sid` is what its ID tokens and its
    back-channel logout tokens carry."""

    session = ForeignKeyField(SessionRecord, backref="app_sign_ins", on_delete="CASCADE")
    client = ForeignKeyField(OidcClient, backref="sign_ins", on_delete="CASCADE")
    sid = CharField(max_length=43)
    created_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("session", "client"), True),)

    @classmethod
    def sid_for(cls, session, client) -> str:
        row = cls.get_or_none((cls.session == session.id) & (cls.client == client.id))
        if row is None:
            try:
                with db.atomic():
                    row = cls.create(session=session, client=client, sid=secrets.token_urlsafe(24))
            except IntegrityError:
                row = cls.get((cls.session == session.id) & (cls.client == client.id))
        return row.sid

    @classmethod
    def queue_logouts(cls, session_ids: list) -> int:
        """One back-channel logout message in the outbox per app with a logout URI."""
        query = (cls.select(cls, OidcClient, SessionRecord, Account).join(OidcClient).switch(cls)
                 .join(SessionRecord).join(Account)
                 .where(cls.session.in_(session_ids) & (OidcClient.backchannel_logout_uri != "")))
        for row in query:
            body = json.dumps({"aud": row.client.client_id, "sub": row.session.account.subject_id(), "sid": row.sid})
            Message.create(channel="backchannel", recipient=row.client.backchannel_logout_uri,
                           subject=row.client.name, body=body, nip=row.session.account.employee.nip)
        return len(query)


class OidcCode(BaseModel):
    """An authorization code: single use, 60 seconds."""

    code_hash = CharField(max_length=64, unique=True)
    client = ForeignKeyField(OidcClient, on_delete="CASCADE")
    account = ForeignKeyField(Account, on_delete="CASCADE")
    session = ForeignKeyField(SessionRecord, null=True, on_delete="SET NULL")
    redirect_uri = TextField()
    scope = CharField()
    nonce = CharField(default="")
    code_challenge = CharField(default="")
    code_challenge_method = CharField(default="")
    auth_time = DateTimeField()
    auth_method = CharField(default="")
    sid = CharField(default="")
    created_at = DateTimeField(default=now)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)

    @classmethod
    def claim(cls, code: str, client) -> tuple:
        """(row, "ok") with the row marked used by this call, else (None, why): "unknown"
        (or another client's), "expired", or "replayed", when the code was used before:
        then whatever it issued is revoked (RFC 6749 section 4.1.2)."""
        row = cls.get_or_none((cls.code_hash == security.hash_token(code)) & (cls.client == client.id))
        if row is None:
            return None, "unknown"
        if not cls.update(used_at=now()).where((cls.id == row.id) & cls.used_at.is_null()).execute():
            OidcToken.update(revoked_at=now()).where((OidcToken.code == row.id)
                                                     & OidcToken.revoked_at.is_null()).execute()
            return None, "replayed"
        if row.expires_at <= now():
            return None, "expired"
        return row, "ok"

    # Authlib's AuthorizationCodeMixin (OpenID Connect).
    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce or None

    def get_auth_time(self):
        return int(self.auth_time.replace(tzinfo=UTC).timestamp())


class OidcToken(BaseModel):
    """An access token (10 minutes) and its refresh token, which rotates on use."""

    client = ForeignKeyField(OidcClient, backref="tokens", on_delete="CASCADE")
    account = ForeignKeyField(Account, backref="app_tokens", on_delete="CASCADE")
    session = ForeignKeyField(SessionRecord, null=True, on_delete="SET NULL")
    code = ForeignKeyField(OidcCode, null=True, on_delete="SET NULL")
    access_token_hash = CharField(max_length=64, unique=True)
    refresh_token_hash = CharField(max_length=64, null=True, unique=True)
    scope = CharField()
    issued_at = DateTimeField(default=now)
    expires_at = DateTimeField()
    refresh_expires_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True, index=True)

    @classmethod
    def by_access_token(cls, token: str):
        return cls.get_or_none(cls.access_token_hash == security.hash_token(token))

    @classmethod
    def by_refresh_token(cls, token: str):
        return cls.get_or_none(cls.refresh_token_hash == security.hash_token(token))

    def revoke(self) -> bool:
        return bool(OidcToken.update(revoked_at=now()).where((OidcToken.id == self.id)
                                                             & OidcToken.revoked_at.is_null()).execute())

    @property
    def is_usable_refresh(self) -> bool:
        return (self.revoked_at is None and self.refresh_expires_at is not None and self.refresh_expires_at > now()
                and self.account.employee.is_active)

    # Authlib's TokenMixin.
    def check_client(self, client):
        return self.client_id == client.id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self):
        return self.expires_at <= now()

    def is_revoked(self):
        return self.revoked_at is not None or not self.account.employee.is_active

    def get_user(self):
        return self.account

    def get_client(self):
        return self.client


# --------------------------------------------------------------------------- audit


class AuditEvent(BaseModel):
    """Every authentication decision. Never holds a password, OTP or secret."""

    created_at = DateTimeField(default=now, index=True)
    event = CharField()
    nip = CharField(default="")
    account = ForeignKeyField(Account, null=True, backref="audit_events", on_delete="SET NULL")
    ip = CharField(default="")
    user_agent = CharField(default="")
    detail = CharField(default="")
    actor_nip = CharField(null=True)  # the helpdesk/admin operator, if any

    class Meta:
        # Each filter of the audit page walks one index newest first, whatever the table's size.
        indexes = ((("event", "created_at"), False), (("nip", "created_at"), False),
                   (("actor_nip", "created_at"), False))

    @classmethod
    def record(cls, event: str, *, nip="", account=None, ip="", user_agent="", detail="",
               actor_nip=None):
        return cls.create(event=event, nip=nip[:32], account=account, ip=ip[:64],
                          user_agent=user_agent[:255], detail=detail[:255], actor_nip=actor_nip)

    SIGN_IN_EVENTS = ("login.ok", "login.failed", "login.locked", "login.inactive", "otp.failed",
                      "otp.replayed", "recovery_code.used", "recovery_code.failed", "account.locked",
                      "logout")

    @classmethod
    def for_nip(cls, nip: str):
        return cls.select().where(cls.nip == nip).order_by(cls.created_at.desc(), cls.id.desc())

    @classmethod
    def sign_ins(cls, account, limit=20):
        return (cls.select().where((cls.account == account) & cls.event.in_(cls.SIGN_IN_EVENTS))
                .order_by(cls.id.desc()).limit(limit))

    @classmethod
    def search(cls, *, nip="", event="", start=None, end=None):
        """Newest first. `nip` matches the employee concerned or the operator who acted;
        `start` and `end` are datetimes, `end` exclusive."""
        query = cls.select().order_by(cls.created_at.desc(), cls.id.desc())
        if nip:
            query = query.where((cls.nip == nip) | (cls.actor_nip == nip))
        if event:
            query = query.where(cls.event == event)
        if start:
            query = query.where(cls.created_at >= start)
        if end:
            query = query.where(cls.created_at < end)
        return query


ALL_MODELS = [Employee, PositionHistory, RankHistory, Document, LeaveRequest, Notification, Account,
              Authenticator, KeyCheck, RecoveryCode, Token, SessionRecord, TrustedDevice, UnknownNip,
              ActivationLetter, RegistrationRequest, Message, AuditEvent, OidcClient, OidcConsent, OidcSignIn,
              OidcCode, OidcToken]


# --------------------------------------------------------------------------- admin console

TEMPORARY_PASSWORD_HOURS = 24

# What "reset MFA" removes.
MFA_MODELS = (Authenticator, RecoveryCode)


# --------------------------------------------------------------------------- retention

PURGE_BATCH = 5000  # rows per transaction: short write locks while the portal keeps serving
TOKEN_KEEP = timedelta(days=1)  # used or expired tokens stay a day for the helpdesk to see


@dataclass
class PurgeReport:
    sessions: int = 0
    tokens: int = 0
    mail_bodies: int = 0
    audit_events: int = 0
    unknown_nips: int = 0


def purge(idle: timedelta, lifetime: timedelta, audit_days: int, batch: int = PURGE_BATCH) -> PurgeReport:
    """Removes what is no longer needed: sessions past their idle time or lifetime, used or
    expired tokens after a day, the text of sent messages (codes and links; the row
    stays for the record), audit events older than `audit_days`, and the failure counters
    of unknown NIPs once a day has passed and no lock holds."""
    current = now()
    return PurgeReport(
        sessions=_in_batches(SessionRecord, (SessionRecord.last_seen_at < current - idle)
                                    | (SessionRecord.created_at < current - lifetime), batch),
        tokens=_in_batches(Token, (Token.used_at < current - TOKEN_KEEP)
                                  | (Token.expires_at < current - TOKEN_KEEP), batch)
        + _in_batches(OidcToken, (OidcToken.revoked_at < current - TOKEN_KEEP)
                      | ((OidcToken.expires_at < current - TOKEN_KEEP)
                         & (OidcToken.refresh_expires_at.is_null()
                            | (OidcToken.refresh_expires_at < current - TOKEN_KEEP))), batch)
        + _in_batches(OidcCode, OidcCode.expires_at < current - TOKEN_KEEP, batch),
        mail_bodies=_in_batches(Message, (Message.status == "sent") & ((Message.body != "") | (Message.html != "")),
                                batch, values={Message.body: "", Message.html: ""}),
        audit_events=_in_batches(AuditEvent, AuditEvent.created_at < current - timedelta(days=audit_days),
                                        batch),
        unknown_nips=_in_batches(UnknownNip, (UnknownNip.created_at < current - timedelta(days=1))
                                 & (UnknownNip.locked_until.is_null() | (UnknownNip.locked_until < current)), batch))


def _in_batches(model, condition, batch: int, values: dict | None = None) -> int:
    """Deletes the rows matching `condition` (or sets `values` on them, which must make
    them stop matching), `batch` rows per transaction; returns how many."""
    total = 0
    while True:
        with db.atomic():
            ids = [row.id for row in model.select(model.id).where(condition).limit(batch)]
            if ids:
                query = model.update(values) if values else model.delete()
                query.where(model.id.in_(ids)).execute()
        total += len(ids)
        if len(ids) < batch:
            return total
