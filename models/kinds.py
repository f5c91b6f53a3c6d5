"""The kinds of pengajuan, declared in one place: each kind's label, subkinds, the fields
the employee fills in (with the rules of fields.py), the documents each subkind needs,
which roles review it, who may file it, what the reviewer records at approval and what
approval does to the employee's data.

An instansi switches kinds off and rewords the checklist in the file named by
ASN_LAYANAN_FILE (TOML, see README "Pengajuan layanan"); `configure` applies it."""

import tomllib
from dataclasses import dataclass, replace
from datetime import date

import fields

from .employee import PositionHistory, RankHistory

# Golongan ruang of a PNS, lowest first, with their pangkat: the next one is the regular promotion.
GOLONGAN = [
    ("I/a", "Juru Muda"), ("I/b", "Juru Muda Tingkat I"), ("I/c", "Juru"), ("I/d", "Juru Tingkat I"),
    ("II/a", "Pengatur Muda"), ("II/b", "Pengatur Muda Tingkat I"), ("II/c", "Pengatur"),
    ("II/d", "Pengatur Tingkat I"), ("III/a", "Penata Muda"), ("III/b", "Penata Muda Tingkat I"),
    ("III/c", "Penata"), ("III/d", "Penata Tingkat I"), ("IV/a", "Pembina"), ("IV/b", "Pembina Tingkat I"),
    ("IV/c", "Pembina Utama Muda"), ("IV/d", "Pembina Utama Madya"), ("IV/e", "Pembina Utama"),
]
PANGKAT = dict(GOLONGAN)


def next_golongan(golongan: str):
    names = [g for g, _ in GOLONGAN]
    if golongan not in names or golongan == names[-1]:
        return None
    return names[names.index(golongan) + 1]


@dataclass(frozen=True)
class Field:
    """A value typed on a form. `rule(text)` returns the clean value or raises
    fields.FieldError; `profile` names the Employee column it proposes to change."""

    name: str
    label: str
    rule: object
    widget: str = "text"  # text | textarea | date | choice
    required: bool = True
    profile: str = ""
    choices: tuple = ()
    hint: str = ""

    def clean(self, errors: dict, text):
        value = fields.check(errors, self.name, self.rule, text)
        if value in ("", None) and self.required and self.name not in errors:
            errors[self.name] = f"{self.label} wajib diisi."
        return value


def text(limit: int):
    def rule(value):
        cleaned = fields.squashed(value, limit + 1)
        if len(cleaned) > limit:
            raise fields.FieldError(f"Paling banyak {limit} karakter.")
        return cleaned
    return rule


def lines(limit: int):
    """Several lines kept as typed (family members, one a line)."""
    def rule(value):
        cleaned = "\n".join(fields.squashed(line, limit) for line in (value or "").splitlines() if line.strip())
        if len(cleaned) > limit:
            raise fields.FieldError(f"Paling banyak {limit} karakter.")
        return cleaned
    return rule


def a_date(label: str):
    def rule(value):
        found = fields.iso_date(value, label, required=False)
        return found.isoformat() if found else ""
    return rule


def golongan_rule(value):
    value = (value or "").strip()
    if value not in PANGKAT:
        raise fields.FieldError("Pilih golongan ruang dari daftar.")
    return value


@dataclass(frozen=True)
class Requirement:
    key: str
    label: str
    subkinds: tuple = ()  # empty: every subkind

    def applies_to(self, subkind: str) -> bool:
        return not self.subkinds or subkind in self.subkinds


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    summary: str
    subkinds: dict
    fields: tuple = ()
    requirements: tuple = ()
    reviewers: tuple = ("admin",)
    needs_verification: bool = True  # verified before it is approved (four-eyes applies)
    approval_fields: tuple = ()
    eligibility: object = None  # (employee, subkind, today) -> (is_eligible, sentence)
    approve: object = None  # (request, employee, values) -> sentence for the audit log
    is_enabled: bool = True

    def requirements_for(self, subkind: str):
        return [r for r in self.requirements if r.applies_to(subkind)]

    def check(self, employee, subkind: str, today: date):
        if self.eligibility is None:
            return True, ""
        return self.eligibility(employee, subkind, today)

    def profile_values(self, employee) -> dict:
        """The employee's current values of the fields that propose a profile change."""
        return {f.name: profile_value(employee, f.profile) for f in self.fields if f.profile}

    def clean(self, form, subkind: str, employee=None):
        """The fields of a form: (values, errors by field name)."""
        errors, values = {}, {}
        for f in self.fields:
            values[f.name] = f.clean(errors, form.get(f.name, "")[:4000])
        if (self.key == "pemutakhiran_data" and employee is not None and not errors
                and not changed_profile(employee, values)):
                errors["nama"] = "Tidak ada data yang berubah: ubah paling sedikit satu isian."
        return values, errors


# --------------------------------------------------------------------------- kenaikan pangkat


def promotion_eligibility(employee, subkind, today):
    if employee.jenis_asn != "PNS":
        return False, "Kenaikan pangkat hanya untuk PNS; PPPK tidak memiliki pangkat."
    if next_golongan(employee.golongan) is None:
        return False, f"Golongan {employee.golongan or '(kosong)'} tidak dapat dinaikkan lewat layanan ini."
    earliest = employee.next_regular_promotion()
    if subkind == "reguler":
        if earliest is None:
            return False, "TMT pangkat terakhir belum tercatat. Hubungi admin kepegawaian."
        if earliest > today:
            return False, (f"Belum memenuhi syarat: kenaikan pangkat reguler paling cepat {earliest:%d-%m-%Y} "
                           f"(4 tahun di pangkat terakhir).")
        return True, (f"Memenuhi syarat sejak {earliest:%d-%m-%Y}: sudah 4 tahun di pangkat "
                      f"{employee.pangkat} ({employee.golongan}).")
    return True, ("Kenaikan pangkat pilihan mengikuti jabatan: lampirkan SK jabatan"
                  + (" dan PAK." if subkind == "fungsional" else "."))


def approve_promotion(item, employee, values):
    golongan, tmt = values["golongan"], date.fromisoformat(values["tmt"])
    employee.update_data({"pangkat": PANGKAT[golongan], "golongan": golongan, "tmt_pangkat": tmt})
    RankHistory.create(employee=employee, pangkat=PANGKAT[golongan], golongan=golongan, tmt=tmt,
                       nomor_sk=values["nomor_sk"])
    return f"pangkat {PANGKAT[golongan]} ({golongan}) TMT {tmt:%d-%m-%Y}, SK {values['nomor_sk']}"


SK_FIELDS = (Field("nomor_sk", "Nomor SK", text(100)), Field("tmt", "TMT", a_date("TMT"), widget="date"))

KENAIKAN_PANGKAT = Kind(
    key="kenaikan_pangkat", label="Kenaikan pangkat",
    summary="Usul kenaikan pangkat reguler atau pilihan (jabatan struktural / fungsional).",
    subkinds={"reguler": "Reguler", "struktural": "Pilihan jabatan struktural",
              "fungsional": "Pilihan jabatan fungsional"},
    fields=(Field("keterangan", "Keterangan untuk pemeriksa", text(500), widget="textarea", required=False),),
    requirements=(
        Requirement("sk_pangkat", "SK pangkat terakhir"),
        Requirement("skp_1", "SKP satu tahun terakhir"),
        Requirement("skp_2", "SKP dua tahun terakhir"),
        Requirement("sk_jabatan", "SK jabatan struktural dan berita acara pelantikan", ("struktural",)),
        Requirement("sk_fungsional", "SK jabatan fungsional", ("fungsional",)),
        Requirement("pak", "Penetapan Angka Kredit (PAK)", ("fungsional",)),
    ),
    approval_fields=(Field("golongan", "Golongan ruang baru", golongan_rule, widget="choice",
                           choices=tuple(g for g, _ in GOLONGAN)), *SK_FIELDS),
    eligibility=promotion_eligibility, approve=approve_promotion)


# --------------------------------------------------------------------------- mutasi


def transfer_eligibility(employee, subkind, today):
    if not employee.is_active:
        return False, "Mutasi hanya untuk pegawai berstatus aktif."
    return True, ""


def approve_transfer(item, employee, values):
    tmt, destination = date.fromisoformat(values["tmt"]), item.values["tujuan"]
    if item.subkind == "antar_unit":
        employee.update_data({"unit_kerja": destination})
        PositionHistory.create(employee=employee, jabatan=employee.jabatan, unit_kerja=destination, tmt=tmt,
                               nomor_sk=values["nomor_sk"])
        return f"unit kerja {destination} TMT {tmt:%d-%m-%Y}, SK {values['nomor_sk']}"
    employee.update_data({"status": "nonaktif"})
    PositionHistory.create(employee=employee, jabatan=f"Pindah ke {destination}", unit_kerja=destination, tmt=tmt,
                           nomor_sk=values["nomor_sk"])
    return f"pindah ke {destination} TMT {tmt:%d-%m-%Y}, SK {values['nomor_sk']}; status nonaktif"


MUTASI = Kind(
    key="mutasi", label="Mutasi", summary="Pindah ke unit kerja lain di instansi ini, atau ke instansi lain.",
    subkinds={"antar_unit": "Antar unit kerja", "keluar_instansi": "Keluar instansi"},
    fields=(Field("tujuan", "Unit kerja atau instansi tujuan", text(150)),
            Field("alasan", "Alasan pindah", text(1000), widget="textarea")),
    requirements=(
        Requirement("surat_permohonan", "Surat permohonan pindah"),
        Requirement("persetujuan_asal", "Surat persetujuan pimpinan unit asal"),
        Requirement("persetujuan_tujuan", "Surat persetujuan menerima dari instansi tujuan", ("keluar_instansi",)),
    ),
    approval_fields=SK_FIELDS, eligibility=transfer_eligibility, approve=approve_transfer)


# --------------------------------------------------------------------------- pemutakhiran data mandiri

PROFILE_FIELDS = (
    Field("nama", "Nama (tanpa gelar)", text(100), profile="nama"),
    Field("gelar_depan", "Gelar depan", text(30), required=False, profile="gelar_depan"),
    Field("gelar_belakang", "Gelar belakang", text(50), required=False, profile="gelar_belakang"),
    Field("tempat_lahir", "Tempat lahir", text(60), required=False, profile="tempat_lahir"),
    Field("tanggal_lahir", "Tanggal lahir", a_date("Tanggal lahir"), widget="date", required=False,
          profile="tanggal_lahir"),
    Field("alamat", "Alamat", text(300), widget="textarea", required=False, profile="alamat"),
    Field("pendidikan", "Pendidikan terakhir", text(150), required=False, profile="pendidikan",
          hint="Jenjang, jurusan dan sekolah/perguruan tinggi, misalnya S1 Teknik Informatika ITB."),
    Field("keluarga", "Susunan keluarga", lines(1000), widget="textarea", required=False, profile="keluarga",
          hint="Satu anggota per baris: hubungan, nama, tanggal lahir. Misalnya: Istri, Siti Aminah, 1992-03-04."),
)


def profile_value(employee, name: str) -> str:
    value = getattr(employee, name)
    return value.isoformat() if isinstance(value, date) else (value or "")


def changed_profile(employee, values: dict) -> dict:
    """{field name: (old, new)} of the proposed values that differ from the profile."""
    return {name: (profile_value(employee, name), value) for name, value in values.items()
            if value != profile_value(employee, name)}


def approve_profile(item, employee, values):
    changes = changed_profile(employee, item.values)
    employee.update_data({name: (date.fromisoformat(new) if name == "tanggal_lahir" else new) if new else None
                          for name, (_, new) in changes.items()})
    return "diubah: " + ", ".join(changes)


PEMUTAKHIRAN_DATA = Kind(
    key="pemutakhiran_data", label="Pemutakhiran data",
    summary="Perbaiki ejaan nama dan gelar, tempat dan tanggal lahir, alamat, pendidikan, atau keluarga. "
            "NIP, NIK dan status kepegawaian tidak dapat diubah di sini.",
    subkinds={"data_pribadi": "Data pribadi"}, fields=PROFILE_FIELDS,
    requirements=(Requirement("bukti", "Dokumen bukti (ijazah, akta kelahiran, kartu keluarga, atau KTP)"),),
    approve=approve_profile)


# --------------------------------------------------------------------------- cuti

CUTI = Kind(key="cuti", label="Cuti", summary="Cuti tahunan, sakit, besar, melahirkan, alasan penting.",
            subkinds={}, needs_verification=False)

DECLARED = {k.key: k for k in (CUTI, KENAIKAN_PANGKAT, MUTASI, PEMUTAKHIRAN_DATA)}
KINDS = dict(DECLARED)


def kind_label(key: str) -> str:
    return DECLARED[key].label if key in DECLARED else key


def enabled_kinds() -> list:
    """The kinds employees may file, in their declared order (cuti has its own page)."""
    return [k for k in KINDS.values() if k.is_enabled and k.key != "cuti"]


class SettingsError(ValueError):
    """The message names the file and what is wrong, in Bahasa Indonesia."""


def parse_settings(content: str) -> dict:
    """Reads the ASN_LAYANAN_FILE text; returns the kinds as configured. Every key is
    checked, so a typo stops the start instead of being ignored."""
    try:
        table = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"bukan TOML yang valid ({exc})") from None
    configured = dict(DECLARED)
    for key, options in table.items():
        kind = DECLARED.get(key)
        if kind is None or not isinstance(options, dict):
            raise SettingsError(f"[{key}] bukan jenis layanan; pilih dari: {', '.join(DECLARED)}")
        for option in options:
            if option not in ("aktif", "pemeriksa", "dokumen"):
                raise SettingsError(f"[{key}] {option}: pilihan yang dikenal aktif, pemeriksa, dokumen")
        is_enabled = options.get("aktif", True)
        if not isinstance(is_enabled, bool):
            raise SettingsError(f"[{key}] aktif: isi true atau false")
        reviewers = options.get("pemeriksa", list(kind.reviewers))
        if (not isinstance(reviewers, list) or not reviewers
                or any(role not in ("helpdesk", "admin") for role in reviewers)):
            raise SettingsError(f"[{key}] pemeriksa: daftar peran, misalnya [\"admin\"] atau [\"helpdesk\", \"admin\"]")
        labels = options.get("dokumen", {})
        known = {r.key: r for r in kind.requirements}
        if not isinstance(labels, dict) or any(k not in known or not isinstance(v, str) or not v.strip()
                                               for k, v in labels.items()):
            raise SettingsError(f"[{key}.dokumen] kunci yang dikenal: {', '.join(known) or '(tidak ada)'}; "
                                "nilainya teks")
        requirements = tuple(replace(r, label=labels.get(r.key, r.label).strip()) for r in kind.requirements)
        configured[key] = replace(kind, is_enabled=is_enabled, reviewers=tuple(reviewers),
                                  requirements=requirements)
    return configured


def configure(configured: dict | None) -> None:
    """Called once by create_app with the parsed settings file (None: as declared)."""
    KINDS.clear()
    KINDS.update(configured or DECLARED)
