"""Steps of the sign-in journey for the Flask test client, done the way a user would.
The OTP is computed here with pyotp from the secret in the page's otpauth:// link,
independently of the server's code."""

import re
from datetime import UTC, date
from html import unescape
from urllib.parse import parse_qs, urlparse

import pyotp

import models
from security import clock

NIP = "199001012020011001"
NIK = "3273010101900001"
PASSWORD = "Kopi!Pagi2026"


def make_employee(**overrides) -> models.Employee:
    data = dict(nip=NIP, nik=NIK, nama="Budi Santoso", email="budi@example.go.id",
                telepon="081234567890", jenis_asn="PNS", status="aktif",
                instansi="Pemerintah Kota Bandung", unit_kerja="Diskominfo",
                jabatan="Pranata Komputer Ahli Pertama", pangkat="Penata Muda", golongan="III/a",
                tmt_cpns=date(2020, 1, 1), tmt_pangkat=date(2021, 4, 1))
    data.update(overrides)
    return models.Employee.create(**data)


def otpauth_uri(html: str) -> str:
    match = re.search(r'href="(otpauth://totp/[^"]+)"', html)
    assert match, "the enrollment page has an open-in-app otpauth:// link"
    return unescape(match.group(1))


def secret_from(html: str) -> str:
    return parse_qs(urlparse(otpauth_uri(html)).query)["secret"][0]


def code(secret: str, seconds_offset: int = 0) -> str:
    """The code an authenticator app shows now (the portal's clock is naive UTC)."""
    return pyotp.TOTP(secret).at(clock.now().replace(tzinfo=UTC).timestamp() + seconds_offset)


def login(client, nip=NIP, password=NIK, **headers):
    return client.post("/login", data={"nip": nip, "password": password}, headers=headers)


def change_password(client, new=PASSWORD, confirm=None):
    return client.post("/password/new", data={"new_password": new,
                                              "confirm_password": new if confirm is None else confirm})


def enroll(client, device_name="Ponsel pribadi") -> str:
    """Open the enrollment page, read the secret from it, confirm with a fresh code."""
    assert client.get("/mfa/setup").status_code == 200
    page = client.get("/mfa/setup/akun")
    assert page.status_code == 200
    secret = secret_from(page.get_data(as_text=True))
    response = client.post("/mfa/setup", data={"device_name": device_name, "otp": code(secret)})
    assert response.status_code == 303, response.get_data(as_text=True)
    return secret


def last_code(nip=NIP, channel="email") -> str:
    """The newest 6-digit code the portal sent to `nip`'s contact (the outbox keeps every
    message when no mail server is configured)."""
    with models.db.connection_context():
        message = (models.Message.select().where((models.Message.nip == nip) & (models.Message.channel == channel)
                                                 & (models.Message.subject.contains("Kode")
                                                    | models.Message.body.startswith("Kode")))
                   .order_by(models.Message.id.desc()).first())
    assert message is not None, f"no {channel} message for {nip}"
    match = re.search(r"\b(\d{6})\b", message.body)
    assert match, message.body
    return match.group(1)


def prove_first_login(client, nip=NIP):
    """The code step of a first sign-in, the code alone (as a page from before the new
    password joined it posts): the code from the mailbox on record."""
    return client.post("/login/kode", data={"code": last_code(nip)})


def prove_and_set_password(client, nip=NIP, new=PASSWORD, confirm=None, typed_code=None):
    """The code step of a first sign-in as its page asks now: the code from the mailbox
    on record and the new password, in one form."""
    return client.post("/login/kode", data={"code": last_code(nip) if typed_code is None else typed_code,
                                            "new_password": new,
                                            "confirm_password": new if confirm is None else confirm})


def to_password_step(client, nip=NIP, nik=NIK):
    """NIP + NIK, then the code from the mailbox on record: the response of the code step."""
    assert login(client, nip, nik).location == "/login/kode"
    return prove_first_login(client, nip)


def first_login(client, nip=NIP, nik=NIK) -> str:
    """Default password -> code from the contact on record with the new password -> MFA
    enrollment -> recovery codes. Returns the secret."""
    assert login(client, nip, nik).location == "/login/kode"
    assert prove_and_set_password(client, nip).location == "/mfa/setup"
    return enroll(client)


def next_step(clk):
    """Move the frozen clock to the next 30-second TOTP step (a used code can't be reused)."""
    clk.advance(seconds=30)


ADMIN_NIP, ADMIN_NIK = "198507152010012002", "3578015507850002"
HELPDESK_NIP, HELPDESK_NIK = "197803202005011003", "7371012003780003"


def sign_in_as(client, role, nip=ADMIN_NIP, nik=ADMIN_NIK, **fields) -> models.Employee:
    """A new employee with `role` who completes the first sign-in on `client`."""
    with models.db.connection_context():
        employee = make_employee(nip=nip, nik=nik, nama=f"Petugas {role}", email=f"{role}@example.go.id",
                                 **fields)
        models.Account.for_employee(employee).set_role(role)
    first_login(client, nip, nik)
    return employee


# Employee CSV rows (the phone typed with dashes, as people do) for the import tests.
HEADER = ",".join(models.CSV_HEADER)
ROW_BUDI = ("199001012020011001,3273010101900001,Budi Santoso,budi@example.go.id,0812-3456-7890,"
            "PNS,aktif,Pemkot Bandung,Diskominfo,Pranata Komputer,Penata Muda,III/a,2020-01-01,2021-04-01")
ROW_AYU = ("199505102023212004,5171015005950004,Ayu Lestari,,,PPPK,aktif,Pemprov Bali,SMAN 1,"
           "Guru Ahli Pertama,,IX,2023-03-01,")


def csv_bytes(*rows, header=HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


# English that has a plain Indonesian word in docs/glossary.md (checked on every page and
# mail). Paths and help slugs (/login, gagal-login-setelah-reset) are addresses, not words.
BANNED_ENGLISH = re.compile(r"(?<![\w/.-])(login|log in|logout|log out|username|error|click|klik|submit|password|"
                            r"reset|upload|download|cek email|please|cancel|loading)(?![\w/-])", re.I)
BANNED_ABBREVIATIONS = re.compile(r"\bHP\b")  # "ponsel"
UTC_TIME = re.compile(r"\b(UTC|GMT)\b|\+00:00")


def banned_words(text: str) -> list:
    return [m.group(0) for m in (*BANNED_ENGLISH.finditer(text), *BANNED_ABBREVIATIONS.finditer(text))]


def run_statements(monkeypatch) -> list:
    """Records every SQL statement the database is given from now on, BEGIN and COMMIT
    of explicit transactions included."""
    statements = []
    database = models.db.obj

    def recording(name, sql=None):
        real = getattr(database, name)

        def record(*args, **kwargs):
            statements.append(sql or args[0])
            return real(*args, **kwargs)
        monkeypatch.setattr(database, name, record)

    recording("execute_sql")
    recording("begin", "BEGIN")
    recording("commit", "COMMIT")
    return statements
