"""The CSV import of employees and their history: streamed in batches, every row checked
with the same field rules as the console, rejected rows reported by line."""

import codecs
import csv
import io
import re
import shutil
import tempfile
from dataclasses import dataclass, field

from peewee import CharField, TextField

import fields
import security

from .base import db
from .employee import JENIS_ASN, STATUSES, Employee, PositionHistory, RankHistory, nik_hash

CSV_HEADER = ("nip", "nik", "nama", "email", "telepon", "jenis_asn", "status", "instansi",
              "unit_kerja", "jabatan", "pangkat", "golongan", "tmt_cpns", "tmt_pangkat")
OPTIONAL_COLUMNS = ("akhir_kontrak",)  # left unchanged when a file does not have them



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
        marks = ", ".join([db.param] * len(nips))
        existing = db.execute_sql(f"SELECT COUNT(*) FROM {Employee._meta.table_name} WHERE nip IN ({marks})",  # noqa: S608
                                  nips).fetchone()[0]
        # One upsert statement run for every row: building the SQL row by row with the
        # query builder took most of the time of a large import.
        columns = (tuple(k for k in CSV_HEADER if k != "nik") + ("nik_hash", "nik_last4", "nama_cari")
                   + tuple(k for k in OPTIONAL_COLUMNS if k in rows[0]))
        fields = [getattr(Employee, k) for k in columns]
        upsert, _ = (Employee.insert_many([[None] * len(fields)], fields=fields).returning()
                     .on_conflict(conflict_target=[Employee.nip], preserve=fields[1:]).sql())
        # Text columns get the CSV's text as it is; only the others go through their field.
        convert = [(f.name, None if type(f) in (CharField, TextField) else f.db_value) for f in fields]
        cursor = db.cursor()
        cursor.executemany(upsert, [[row[name] if to_db is None else to_db(row[name]) for name, to_db in convert]
                                    for row in rows])
        cursor.executemany(f"INSERT INTO import_line (nip, line) VALUES ({db.param}, {db.param})",  # noqa: S608
                           [(nip, lines[nip]) for nip in nips])
    report.updated += existing
    report.created += len(rows) - existing






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




