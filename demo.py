"""Demo employees for trainers and for trying the portal, and the trainer's tools: the
eight common problems as scenarios, a virtual phone (an authenticator app) for a
classroom without real phones, and e-Kinerja (demo), an app that signs in through the
portal. Only used in demo mode: its two tables exist only in a demo database."""

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, date, timedelta

import pyotp
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from peewee import CharField, DateTimeField, IntegerField, TextField

import mail
import models
import security
from security import now

# NIP layout: lahir YYYYMMDD + TMT YYYYMM (PNS) or YYYY21 (PPPK) + gender + sequence.
DEMO_EMPLOYEES = [
    dict(nip="199001012020011001", nik="3273010101900001", nama="Budi Santoso",
         email="budi.santoso@demo.asn.local", telepon="081234560001", jenis_asn="PNS",
         status="aktif", instansi="Pemerintah Kota Bandung",
         unit_kerja="Dinas Komunikasi dan Informatika",
         jabatan="Pranata Komputer Ahli Pertama", pangkat="Penata Muda", golongan="III/a",
         tmt_cpns=date(2020, 1, 1), tmt_pangkat=date(2021, 4, 1)),
    dict(nip="198507152010012002", nik="3578015507850002", nama="Siti Rahmawati, S.E.",
         email="siti.rahmawati@demo.asn.local", telepon="081234560002", jenis_asn="PNS",
         status="aktif", instansi="Pemerintah Kota Surabaya",
         unit_kerja="Badan Kepegawaian dan Pengembangan SDM",
         jabatan="Analis Sumber Daya Manusia Aparatur Ahli Muda", pangkat="Penata Tingkat I",
         golongan="III/d", tmt_cpns=date(2010, 1, 1), tmt_pangkat=date(2022, 10, 1)),
    dict(nip="197803202005011003", nik="7371012003780003", nama="Andi Mappasessu",
         email="andi.mappasessu@demo.asn.local", telepon="081234560003", jenis_asn="PNS",
         status="aktif", instansi="Pemerintah Provinsi Sulawesi Selatan", unit_kerja="Biro Umum",
         jabatan="Kepala Bagian Tata Usaha", pangkat="Pembina", golongan="IV/a",
         tmt_cpns=date(2005, 1, 1), tmt_pangkat=date(2019, 4, 1)),
    dict(nip="199505102023212004", nik="5171015005950004", nama="Ni Luh Putu Ayu Lestari",
         email="ayu.lestari@demo.asn.local", telepon="081234560004", jenis_asn="PPPK",
         status="aktif", instansi="Pemerintah Provinsi Bali", unit_kerja="SMA Negeri 1 Denpasar",
         jabatan="Guru Ahli Pertama", pangkat="", golongan="IX",
         tmt_cpns=date(2023, 3, 1), tmt_pangkat=None),
    dict(nip="199208172022211005", nik="1271011708920005", nama="Rizky Pratama Nasution",
         email="rizky.nasution@demo.asn.local", telepon="081234560005", jenis_asn="PPPK",
         status="aktif", instansi="Pemerintah Kota Medan", unit_kerja="Puskesmas Medan Johor",
         jabatan="Perawat Terampil", pangkat="", golongan="VII",
         tmt_cpns=date(2022, 6, 1), tmt_pangkat=None),
    dict(nip="196512251990031006", nik="3471012512650006", nama="Drs. Hartono Wibowo",
         email="hartono.wibowo@demo.asn.local", telepon="081234560006", jenis_asn="PNS",
         status="pensiun", instansi="Pemerintah Daerah Istimewa Yogyakarta",
         unit_kerja="Dinas Pendidikan, Pemuda, dan Olahraga", jabatan="Pengawas Sekolah",
         pangkat="Pembina Utama Muda", golongan="IV/c",
         tmt_cpns=date(1990, 3, 1), tmt_pangkat=date(2014, 4, 1)),
]
MAX_PARTICIPANTS = 60  # a class is 20-40 people


def participant(number: int) -> dict:
    """Numbered participant account `number` of a class: born 1 January 1995, PNS since
    January 2022 (the NIP and the NIK carry that date, as real ones do)."""
    return dict(nip=f"199501012022011{number:03d}", nik=f"32730101019500{number:02d}",
                nama=f"Peserta {number:02d}", email=f"peserta{number:02d}@demo.asn.local",
                telepon=f"0812345611{number:02d}", jenis_asn="PNS", status="aktif",
                instansi="Pemerintah Kota Bandung", unit_kerja="Badan Kepegawaian dan Pengembangan SDM",
                jabatan="Pranata Komputer Ahli Pertama", pangkat="Penata Muda", golongan="III/a",
                tmt_cpns=date(2022, 1, 1), tmt_pangkat=date(2023, 4, 1))


PARTICIPANTS = [participant(number) for number in range(1, MAX_PARTICIPANTS + 1)]
DEMO_NIPS = [e["nip"] for e in DEMO_EMPLOYEES + PARTICIPANTS]
# The portal itself keeps only a keyed hash of a NIK; the trainer's lists need the NIK typed.
DEMO_NIKS = {e["nip"]: e["nik"] for e in DEMO_EMPLOYEES + PARTICIPANTS}


# Career history of the first three demo employees: (jabatan, unit kerja, TMT) and (golongan, pangkat, TMT).
DEMO_POSITIONS = {
    "199001012020011001": [("CPNS Pranata Komputer", "Dinas Komunikasi dan Informatika", date(2020, 1, 1)),
                           ("Pranata Komputer Ahli Pertama", "Dinas Komunikasi dan Informatika", date(2021, 4, 1))],
    "198507152010012002": [("Pengelola Kepegawaian", "Bagian Umum", date(2010, 1, 1)),
                           ("Analis Kepegawaian Ahli Pertama", "BKPSDM", date(2014, 10, 1)),
                           ("Analis Sumber Daya Manusia Aparatur Ahli Muda", "BKPSDM", date(2019, 1, 2))],
    "197803202005011003": [("Staf Tata Usaha", "Biro Umum", date(2005, 1, 1)),
                           ("Kepala Subbagian Rumah Tangga", "Biro Umum", date(2012, 7, 2)),
                           ("Kepala Bagian Tata Usaha", "Biro Umum", date(2019, 4, 1))],
}
DEMO_RANKS = {
    "199001012020011001": [("III/a", "Penata Muda", date(2021, 4, 1))],
    "198507152010012002": [("III/a", "Penata Muda", date(2010, 1, 1)),
                           ("III/b", "Penata Muda Tingkat I", date(2014, 4, 1)),
                           ("III/c", "Penata", date(2018, 4, 1)), ("III/d", "Penata Tingkat I", date(2022, 10, 1))],
    "197803202005011003": [("III/a", "Penata Muda", date(2005, 1, 1)),
                           ("III/d", "Penata Tingkat I", date(2015, 4, 1)), ("IV/a", "Pembina", date(2019, 4, 1))],
}


def seed(participants: int = 0):
    """Create the demo employees (or bring them back to their listed data), with their
    career history and a few small generated PDF documents; and the first `participants`
    numbered participant accounts of a class (those made before are kept)."""
    models.db.create_tables(TABLES, safe=True)
    with models.db.atomic():
        for listed in DEMO_EMPLOYEES + PARTICIPANTS[:participants]:
            data = {k: v for k, v in listed.items() if k != "nik"}
            data.update(nik_hash=models.nik_hash(listed["nik"]), nik_last4=listed["nik"][-4:],
                        nama_cari=security.normalize_name(listed["nama"]))
            (models.Employee.insert(**data)
             .on_conflict(conflict_target=[models.Employee.nip],
                          preserve=[getattr(models.Employee, k) for k in data if k != "nip"])
             .execute())
        for nip, positions in DEMO_POSITIONS.items():
            employee = models.Employee.by_nip(nip)
            if models.PositionHistory.of(employee).exists():
                continue
            for jabatan, unit, tmt in positions:
                models.PositionHistory.create(employee=employee, jabatan=jabatan, unit_kerja=unit, tmt=tmt,
                                              nomor_sk=f"821/{tmt.year}/{employee.id:03d}")
            for golongan, pangkat, tmt in DEMO_RANKS[nip]:
                models.RankHistory.create(employee=employee, golongan=golongan, pangkat=pangkat, tmt=tmt,
                                          nomor_sk=f"823/{tmt.year}/{employee.id:03d}")
            for jenis, tmt in (("SK CPNS", positions[0][2]), ("SK Pangkat Terakhir", DEMO_RANKS[nip][-1][2])):
                content = tiny_pdf([jenis, employee.nama, f"NIP {employee.nip}", f"TMT {tmt:%d-%m-%Y}",
                                    "DOKUMEN CONTOH - MODE DEMO"])
                models.Document.create(employee=employee, jenis=jenis, nomor=f"800/{tmt.year}/{employee.id:03d}",
                                       tanggal=tmt, filename=f"{jenis.lower().replace(' ', '-')}-{nip}.pdf",
                                       size=len(content), content=content)


    cfg = current_app.config
    demo_app_client(cfg["BASE_URL"] or f"http://{cfg['HOST']}:{cfg['PORT']}", cfg["SECRET_KEY"])


def tiny_pdf(lines) -> bytes:
    """A valid one-page PDF with a few lines of text (Helvetica, no embedded fonts)."""
    def escape(text):
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    text = "BT /F1 14 Tf 72 760 Td 18 TL " + " ".join(f"({escape(line)}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        "/Contents 4 0 R >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = "%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n"
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out.encode("latin-1")


def employees():
    return list(models.Employee.select().where(models.Employee.nip.in_(DEMO_NIPS))
                .order_by(models.Employee.id))


def login_table(everyone=False) -> list:
    """The demo employees (and with `everyone` the participants) with the NIK a trainee
    types, for the login page and the trainer's printable list."""
    listed = {e["nip"] for e in DEMO_EMPLOYEES}
    return [{"nama": e.nama, "nip": e.nip, "nik": DEMO_NIKS[e.nip], "jenis_asn": e.jenis_asn,
             "status": e.status, "email": e.email} for e in employees() if everyone or e.nip in listed]


def reset():
    """Every demo account back to the first-login state (NIK as password, no MFA), with
    no scenario, phone entries, tokens, messages, leave requests or notifications."""
    seed()
    for employee in employees():
        reset_account(employee)


def reset_account(employee):
    models.Account.delete().where(models.Account.employee == employee.id).execute()
    models.Token.delete().where(models.Token.employee == employee.id).execute()
    models.ActivationLetter.delete().where(models.ActivationLetter.employee == employee.id).execute()
    models.RegistrationRequest.delete().where(models.RegistrationRequest.employee == employee.id).execute()
    models.Message.delete().where(models.Message.nip == employee.nip).execute()
    models.ServiceRequest.delete().where(models.ServiceRequest.employee == employee.id).execute()
    models.Notification.delete().where(models.Notification.employee == employee.id).execute()
    DemoScenario.delete().where(DemoScenario.nip == employee.nip).execute()
    PhoneEntry.delete().where(PhoneEntry.nip == employee.nip).execute()


def demo_employee(nip: str):
    """A demo employee by NIP; None for anyone else, so trainer tools never touch real data."""
    return models.Employee.by_nip(nip) if nip in DEMO_NIPS else None


def status(employee) -> list:
    """The account's state in words, for the trainer console."""
    account = models.Account.get_or_none(models.Account.employee == employee.id)
    labels = [] if employee.is_active else [f"status {employee.status}: tidak bisa masuk"]
    if account is None or account.password_hash is None:
        labels.append("masuk pertama kali (kata sandi = NIK)")
    elif account.must_activate:
        labels.append("menunggu aktivasi email")
    elif account.must_change_password:
        labels.append("wajib ganti kata sandi")
    elif account.has_mfa:
        names = ", ".join(a.name for a in account.confirmed_authenticators())
        labels.append(f"MFA aktif ({names})")
    else:
        labels.append("kata sandi sudah diganti, MFA belum aktif")
    passkeys = models.Passkey.of(account).count() if account else 0
    if passkeys:
        labels.append(f"{passkeys} passkey")
    minutes = max([account.lock_minutes_left(), *(d.lock_minutes_left() for d in account.devices)]) if account else 0
    if minutes:
        labels.append(f"terkunci {minutes} menit lagi")
    elif account and account.failed_count:
        labels.append(f"{account.failed_count} kali gagal berturut-turut")
    if account and account.sessions.exists():
        labels.append("sedang masuk")
    return labels


# --------------------------------------------------------------------------- scenarios

PASSWORD = "Latihan!2026"  # noqa: S105 - published to trainees: every scenario account uses it
DEVICE = "Ponsel pribadi"


class DemoScenario(models.BaseModel):
    """A demo account the trainer put into one of the common problems."""

    nip = CharField(unique=True)
    slug = CharField()  # a Problem slug, also the help topic that explains it
    recovery_codes = TextField(default="")  # encrypted JSON: the learner's printed sheet
    created_at = DateTimeField(default=now)


class PhoneEntry(models.BaseModel):
    """An account in the virtual phone's authenticator app, for a demo account in a
    scenario. (Outside a scenario the phone shows an account's authenticator as if its QR
    code had just been scanned.)"""

    nip = CharField(index=True)
    device = CharField(default="Ponsel peserta")
    secret_encrypted = TextField()
    skew_seconds = IntegerField(default=0)  # this phone's clock minus the real time
    note = CharField(default="")


TABLES = [DemoScenario, PhoneEntry]


@dataclass(frozen=True)
class Problem:
    slug: str
    title: str
    setup: str  # what one click prepares
    learner_sees: str
    fix: str


PROBLEMS = [
    Problem("qr-tidak-muncul", "Kode QR tidak muncul",
            "Kata sandi sudah diganti, MFA belum aktif. Halaman aktivasi tidak menampilkan kode QR; "
            "ponsel virtual belum punya akun ini.",
            "Pesan “Kode QR tidak dapat ditampilkan” dengan tautan bantuan; kunci manual langsung terbuka.",
            "Di ponsel virtual, ketik kunci dari halaman aktivasi, lalu masukkan kode yang muncul."),
    Problem("kode-otp-tidak-valid", "Kode OTP tidak valid: jam ponsel 3 menit lebih lambat",
            "MFA aktif. Jam ponsel virtual 3 menit lebih lambat.",
            "Pesan bahwa jam ponsel sekitar 3 menit lebih lambat, dengan cara menyalakan waktu otomatis.",
            "Di ponsel virtual tekan “Atur waktu otomatis”, lalu masukkan kode yang baru."),
    Problem("salah-memasukkan-otp", "Salah memasukkan OTP: akun terkunci",
            "MFA aktif. Akun terkunci seperti setelah 5 kali salah memasukkan kode OTP.",
            "Pesan akun terkunci dengan sisa menit, dan tautan bantuan Akun terkunci.",
            "Tunggu sampai kunci berakhir; atau Lupa kata sandi, buka email di kotak surat peserta "
            "(tautannya di kartu akun), buat kata sandi baru (kunci langsung terbuka)."),
    Problem("gagal-login-setelah-reset", "Gagal masuk setelah atur ulang kata sandi",
            "MFA aktif. Peserta lupa kata sandi: dua email atur ulang kata sandi ada di kotak surat peserta; yang lama "
            "sudah tidak berlaku.",
            "Tautan di email lama: “Tautan tidak berlaku” dengan tautan bantuan; kata sandi lama ditolak.",
            "Buka email terbaru, buat kata sandi baru, masuk: kode OTP tetap diminta."),
    Problem("autentikator-hilang", "Google Authenticator terhapus",
            "MFA aktif. Aplikasi di ponsel virtual terhapus; lembar kode pemulihan peserta ada di "
            "konsol ini.",
            "Tidak ada kode di ponsel; halaman OTP menautkan “Tidak bisa mengakses aplikasi autentikator?”.",
            "Masuk dengan kode pemulihan; lalu “Atur ulang MFA (helpdesk)” dan daftarkan ponsel baru."),
    Problem("otp-tidak-muncul", "OTP tidak muncul di aplikasi",
            "Kata sandi sudah diganti, MFA belum aktif. Pemindaian gagal: aplikasi di ponsel virtual kosong.",
            "Ponsel virtual: belum ada akun; halaman aktivasi menautkan bantuan Kode OTP tidak muncul.",
            "Di ponsel virtual tekan “Pindai kode QR” (aplikasi dipasang ulang), lalu masukkan kodenya."),
    Problem("perangkat-tidak-terdaftar", "Perangkat tidak terdaftar",
            "MFA aktif di “Ponsel kantor”. Ponsel virtual juga menampilkan “Ponsel baru” dengan akun dari "
            "aktivasi lain.",
            "Kode dari Ponsel baru ditolak; halaman OTP menyebut perangkat terdaftar: Ponsel kantor.",
            "Pakai kode dari Ponsel kantor."),
    Problem("error-aktivasi-mfa", "Gagal aktivasi MFA",
            "Kata sandi sudah diganti, MFA belum aktif. Aplikasi di ponsel virtual menyimpan kode QR lama.",
            "“Kode tidak cocok” dengan tautan bantuan Gagal aktivasi MFA.",
            "Hapus entri lama di ponsel virtual, pindai kode QR yang tampil sekarang, masukkan kode baru."),
]
PROBLEMS_BY_SLUG = {p.slug: p for p in PROBLEMS}


def apply(slug: str, employee, settings) -> None:
    """Put a demo account into a common problem (see PROBLEMS), from a clean start."""
    key = settings.secret_key
    reset_account(employee)
    account = models.Account.for_employee(employee)
    account.set_password(PASSWORD, settings)
    scenario = DemoScenario.create(nip=employee.nip, slug=slug)
    if slug in ("qr-tidak-muncul", "otp-tidak-muncul"):
        return  # nothing on the phone yet
    if slug == "error-aktivasi-mfa":
        _add_to_phone(employee, security.new_totp_secret(), key,
                      note="kode QR lama dari percobaan sebelumnya")
        return
    device = "Ponsel kantor" if slug == "perangkat-tidak-terdaftar" else DEVICE
    secret = security.new_totp_secret()
    models.Authenticator.create(account=account, name=device, confirmed_at=now(),
                                secret_encrypted=security.encrypt(secret, key))
    codes = models.RecoveryCode.generate(account, settings)
    scenario.recovery_codes = security.encrypt(json.dumps(codes), key)
    scenario.save()
    if slug == "perangkat-tidak-terdaftar":
        _add_to_phone(employee, security.new_totp_secret(), key, device="Ponsel baru",
                      note="akun dari aktivasi di perangkat lain")
    if slug != "autentikator-hilang":
        _add_to_phone(employee, secret, key, device=device,
                      skew_seconds=-180 if slug == "kode-otp-tidak-valid" else 0)
    if slug == "salah-memasukkan-otp":
        models.Account.update(failed_count=0, locked_until=now() + timedelta(
            minutes=settings.lockout_minutes)).where(models.Account.id == account.id).execute()
    if slug == "gagal-login-setelah-reset":
        mail.send_reset_link(employee)
        mail.send_reset_link(employee)  # the first link stops working, as with a real second request


def prepare_passkey_practice(employee, settings) -> None:
    """A demo account ready to add a passkey: password PASSWORD, MFA active with its
    authenticator on the virtual phone, no passkey yet."""
    key = settings.secret_key
    reset_account(employee)
    account = models.Account.for_employee(employee)
    account.set_password(PASSWORD, settings)
    secret = security.new_totp_secret()
    models.Authenticator.create(account=account, name=DEVICE, confirmed_at=now(),
                                secret_encrypted=security.encrypt(secret, key))
    models.RecoveryCode.generate(account, settings)
    _add_to_phone(employee, secret, key, device=DEVICE)


def _add_to_phone(employee, secret, key, **fields):
    PhoneEntry.create(nip=employee.nip, secret_encrypted=security.encrypt(secret, key), **fields)


def scenario_of(employee):
    return DemoScenario.get_or_none(DemoScenario.nip == employee.nip)


def hides_qr(nip: str) -> bool:
    return DemoScenario.select().where((DemoScenario.nip == nip)
                                       & (DemoScenario.slug == "qr-tidak-muncul")).exists()


def recovery_sheet(scenario, key) -> list:
    return json.loads(security.decrypt(scenario.recovery_codes, key)) if scenario.recovery_codes else []


def reset_mfa(employee) -> None:
    """What the helpdesk does for a lost phone: the next login enrolls a new authenticator."""
    account = models.Account.get_or_none(models.Account.employee == employee.id)
    if account:
        account.reset_mfa()
    DemoScenario.update(recovery_codes="").where(DemoScenario.nip == employee.nip).execute()


# --------------------------------------------------------------------------- virtual phone


@dataclass
class PhoneCode:
    device: str
    code: str
    seconds_left: int
    phone_time: object  # the phone's own clock (UTC, shown in the portal's time zone)
    skew_minutes: int
    note: str = ""
    entry_id: int | None = None


@dataclass
class PhoneScreen:
    employee: object
    scenario: object
    codes: list


def phone(settings) -> list:
    """What the virtual phone shows now: for each demo account with something on it, the
    current code of every entry and the seconds it stays valid."""
    at = now()
    screens = []
    for employee in employees():
        scenario = scenario_of(employee)
        if scenario:
            entries = PhoneEntry.select().where(PhoneEntry.nip == employee.nip).order_by(PhoneEntry.id)
            key = settings.secret_key
            codes = [_phone_code(e.device, security.decrypt(e.secret_encrypted, key), at, e.skew_seconds,
                                 e.note, e.id) for e in entries]
        else:
            authenticator = (models.Authenticator.select().join(models.Account)
                             .where(models.Account.employee == employee.id)
                             .order_by(models.Authenticator.id.desc()).first())
            if authenticator is None:
                continue
            note = "" if authenticator.confirmed_at else "menunggu aktivasi di portal"
            codes = [_phone_code(authenticator.name or "Ponsel peserta", authenticator.secret(settings),
                                 at, 0, note)]
        screens.append(PhoneScreen(employee, scenario, codes))
    return screens


def _phone_code(device, secret, at, skew_seconds, note="", entry_id=None) -> PhoneCode:
    moment = at + timedelta(seconds=skew_seconds)
    timestamp = moment.replace(tzinfo=UTC).timestamp()
    return PhoneCode(device=device, code=pyotp.TOTP(secret).at(timestamp),
                     seconds_left=security.TOTP_PERIOD - int(timestamp) % security.TOTP_PERIOD,
                     phone_time=moment, skew_minutes=round(skew_seconds / 60),
                     note=note, entry_id=entry_id)


def sms(limit=5) -> list:
    return list(models.Message.outbox("sms").where(models.Message.nip.in_(DEMO_NIPS)).limit(limit))


def emails(limit=30, nip=None) -> list:
    """The newest e-mails to demo accounts; with `nip`, only that account's mailbox."""
    return list(models.Message.outbox("email").where(models.Message.nip.in_([nip] if nip else DEMO_NIPS))
                .limit(limit))


def scan_qr(employee) -> str | None:
    """The phone scans the QR code on the enrollment page; returns why it can't, or None."""
    account = models.Account.get_or_none(models.Account.employee == employee.id)
    pending = account and (account.authenticators.where(models.Authenticator.confirmed_at.is_null())
                           .order_by(models.Authenticator.id.desc()).first())
    if not pending:
        return "Belum ada kode QR untuk dipindai: buka dulu halaman aktivasi MFA dengan akun ini."
    if hides_qr(employee.nip):
        return "Kode QR tidak tampil di layar peserta, jadi tidak bisa dipindai. Ketik kuncinya."
    PhoneEntry.create(nip=employee.nip, secret_encrypted=pending.secret_encrypted)
    return None


def add_key(employee, typed: str, key: str) -> str | None:
    """The learner types the manual key into the phone; returns why it is refused, or None."""
    secret = re.sub(r"[\s-]", "", typed or "").upper()
    try:
        valid = len(secret) >= 16 and len(base64.b32decode(secret + "=" * (-len(secret) % 8))) >= 10
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        return "Kunci tidak valid: ketik 32 huruf dan angka persis seperti di halaman aktivasi."
    _add_to_phone(employee, secret, key, note="ditambahkan dengan mengetik kunci")
    return None


def phone_entry(entry_id: int):
    return PhoneEntry.get_or_none(PhoneEntry.id == entry_id)


# --------------------------------------------------------------------------- e-Kinerja (demo)
# An app of the instansi as a class sees it: it signs in through the portal with a real
# OpenID Connect code flow (its own HTTP requests to the portal's token endpoint and keys),
# shows the claims it received, and signs out through the portal.

DEMO_APP_ID = "ekinerja-demo"
DEMO_APP_NAME = "e-Kinerja (demo)"
DEMO_APP_SCOPE = "openid profile email phone asn"
DEMO_APP_PATH = "/pelatih/ekinerja/"
DEMO_APP_CALLBACK = "/pelatih/ekinerja/kembali"
# What the demo app shows of each claim it received, in the order shown.
DEMO_APP_CLAIM_LABELS = {
    "sub": "Tanda pengenal untuk aplikasi ini (sub, bukan NIP)", "name": "Nama", "nip": "NIP",
    "jenis_asn": "Jenis ASN", "status": "Status", "instansi": "Instansi", "unit_kerja": "Unit kerja",
    "jabatan": "Jabatan", "pangkat": "Pangkat", "golongan": "Golongan", "email": "Email",
    "email_verified": "Email terverifikasi", "phone_number": "Nomor ponsel",
    "phone_number_verified": "Nomor ponsel terverifikasi", "amr": "Cara masuk (amr)",
    "acr": "Tingkat keamanan (acr)", "auth_time": "Waktu masuk di portal (auth_time)", "iss": "Penerbit (iss)",
}


class DemoAppError(Exception):
    """The demo app could not complete a sign-in (the portal's answer was refused)."""


def demo_app_secret(secret_key) -> str:
    """The demo app's client secret, derived from the portal's key: nothing to store."""
    key = secret_key if isinstance(secret_key, bytes) else str(secret_key).encode()
    return hmac.new(key, b"ekinerja-demo client secret", hashlib.sha256).hexdigest()


def demo_app_client(address: str, secret_key):
    """The demo app as a registered client, with the callback at `address` (the portal's
    address as the class opens it: a trainer's laptop, a room's IP address)."""
    address = address.rstrip("/")
    secret_hash = models.client_secret_hash(demo_app_secret(secret_key))
    client = models.OidcClient.get_or_none(models.OidcClient.client_id == DEMO_APP_ID)
    if client is None:
        client = models.OidcClient.create(client_id=DEMO_APP_ID, name=DEMO_APP_NAME, redirect_uris="",
                                          secret_hash=secret_hash)
    redirects, after_logout = client.redirect_uri_list, client.post_logout_uri_list
    if (address + DEMO_APP_CALLBACK not in redirects or address + DEMO_APP_PATH not in after_logout
            or client.secret_hash != secret_hash):
        client.redirect_uris = "\n".join(sorted({*redirects, address + DEMO_APP_CALLBACK}))
        client.post_logout_redirect_uris = "\n".join(sorted({*after_logout, address + DEMO_APP_PATH}))
        client.secret_hash = secret_hash
        client.save()
    return client


def demo_app_request(address: str) -> tuple:
    """Where the demo app sends the browser to sign in, and what it keeps until it comes back
    (state, nonce and the PKCE verifier)."""
    pending = {"state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16),
               "verifier": secrets.token_urlsafe(48)}
    challenge = base64.urlsafe_b64encode(hashlib.sha256(pending["verifier"].encode()).digest()).rstrip(b"=")
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": DEMO_APP_ID, "redirect_uri": address + DEMO_APP_CALLBACK,
        "scope": DEMO_APP_SCOPE, "state": pending["state"], "nonce": pending["nonce"],
        "code_challenge": challenge.decode(), "code_challenge_method": "S256"})
    return f"{address}/oidc/authorize?{query}", pending


def _fetch(url: str, data: dict | None = None, secret: str = "") -> dict:
    headers = {"Accept": "application/json"}
    if secret:  # client_secret_basic
        credentials = f"{urllib.parse.quote(DEMO_APP_ID)}:{urllib.parse.quote(secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    # The portal's own address (ASN_BASE_URL, or in demo mode the one the class opened).
    call = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(call, timeout=10) as answer:  # noqa: S310
            return json.loads(answer.read())
    except (OSError, ValueError) as exc:
        raise DemoAppError(f"{url}: {exc}") from exc


def demo_app_sign_in(address: str, secret_key, code: str, pending: dict) -> tuple:
    """The code exchanged at the portal's token endpoint (found by discovery), the ID token
    checked with the portal's published keys; returns (claims, ID token)."""
    discovery = _fetch(address + "/.well-known/openid-configuration")
    tokens = _fetch(discovery["token_endpoint"], secret=demo_app_secret(secret_key), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": address + DEMO_APP_CALLBACK,
        "code_verifier": pending["verifier"]})
    if "id_token" not in tokens:
        raise DemoAppError("no ID token")
    try:
        keys = KeySet.import_key_set(_fetch(discovery["jwks_uri"]))
        token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"])
        jwt.JWTClaimsRegistry(now=int(now().replace(tzinfo=UTC).timestamp()), leeway=60,
                              iss={"essential": True, "value": discovery["issuer"]},
                              aud={"essential": True, "value": DEMO_APP_ID},
                              nonce={"essential": True, "value": pending["nonce"]}).validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise DemoAppError(f"ID token: {exc}") from exc
    return dict(token.claims), tokens["id_token"]


def demo_app_logout_url(address: str, id_token: str) -> str:
    """RP-Initiated Logout: the portal signs the browser out and comes back to the demo app."""
    return f"{address}/oidc/logout?" + urllib.parse.urlencode({
        "id_token_hint": id_token, "post_logout_redirect_uri": address + DEMO_APP_PATH, "state": "keluar"})
