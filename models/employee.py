"""Employees' master data from the instansi, their career history and their documents."""

import re
from collections import namedtuple
from datetime import date, timedelta

from peewee import (
    BlobField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

import security
from security import now

from .base import BaseModel, count_prebuilt, keyed_hash, run_prebuilt

JENIS_ASN = ("PNS", "PPPK")
STATUSES = ("aktif", "nonaktif", "cltn", "pensiun", "berhenti", "meninggal")



# The NIK is kept as a keyed hash and its last four digits: enough to check a typed NIK and
# to compare with a KTP, useless to a copy of the database.
def nik_hash(nik: str) -> str:
    return keyed_hash("nik:" + nik)


Listed = namedtuple("Listed", "nip nama unit_kerja status")  # an employee in the console's list


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
    # Kept up to date by the employee through an approved "pemutakhiran data" request (NULL: never
    # given; no default, so the importer's upsert leaves them alone).
    gelar_depan = CharField(null=True)
    gelar_belakang = CharField(null=True)
    tempat_lahir = CharField(null=True)
    tanggal_lahir = DateField(null=True)  # when it differs from the NIP's (a corrected record)
    alamat = TextField(null=True)
    pendidikan = CharField(null=True)
    keluarga = TextField(null=True)  # one member a line: hubungan, nama, tanggal lahir

    class Meta:
        indexes = ((("nama_cari", "nip"), False),  # the console's list and name search, in order
                   (("unit_kerja",), False))  # the request queue and activation letters of one unit

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
    def search(cls, text: str, limit: int, offset: int) -> list[Listed]:
        """By NIP (digits, typed with or without separators: a prefix is enough), in NIP
        order; by the start of the name (case, accents and punctuation ignored), in name
        order; everyone, in name order, when `text` is empty. Each is a range on an index,
        so it takes as long with a million employees as with a thousand. `limit` matches
        from `offset`, with only what the console's list shows."""
        kind, params = cls._search_terms(text)
        if kind == "none":
            return []
        columns = [getattr(cls, name) for name in Listed._fields]
        rows = run_prebuilt(f"employee search by {kind}",
                            lambda: cls._search_query(kind, columns).limit(1).offset(0), [*params, limit, offset])
        return [Listed._make(row) for row in rows]

    @classmethod
    def search_count(cls, text: str, cap: int) -> int:
        """How many employees `search` finds, counting at most `cap`."""
        kind, params = cls._search_terms(text)
        if kind == "none":
            return 0
        return count_prebuilt(f"employee search by {kind}", lambda: cls._search_query(kind, [cls.id]), params, cap)

    @classmethod
    def _search_terms(cls, text: str) -> tuple[str, list]:
        """Which kind of search `text` asks for, and its values in the order the query takes them."""
        text = " ".join((text or "").split())
        digits = security.normalize_nip(text)
        if digits.isdigit():
            return "nip", [digits.ljust(18, "0"), digits.ljust(18, "9")]
        if not text:
            return "everyone", []
        prefix = security.normalize_name(text)
        if not prefix:
            return "none", []
        # A normalised name holds only a-z, 0-9 and single spaces: no LIKE wildcard to escape.
        upper = security.after_prefix(prefix)
        return ("name prefix", [prefix, prefix + "%", upper]) if upper else ("name prefix to the end",
                                                                           [prefix, prefix + "%"])

    @classmethod
    def _search_query(cls, kind: str, columns: list):
        """The query of one kind of search, with stand-in values where _search_terms gives the real ones."""
        query = cls.select(*columns)
        if kind == "nip":
            return query.where(cls.nip.between("0", "9")).order_by(cls.nip)
        query = query.order_by(cls.nama_cari, cls.nip)
        if kind == "everyone":
            return query
        query = query.where((cls.nama_cari >= "a") & cls.nama_cari.startswith("a"))
        return query.where(cls.nama_cari < "b") if kind == "name prefix" else query

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




