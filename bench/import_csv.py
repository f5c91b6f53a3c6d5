"""How long the admin's CSV upload takes for a large instansi.

Generates a valid CSV of N employees (default 50,000; bench/out/pegawai-N.csv), starts
the portal on a fresh SQLite database in a temporary folder, makes an admin with
`create-admin`, signs in through the real journey (temporary password, new password,
MFA enrollment, CSRF tokens included) and uploads the file to /admin/pegawai/unggah with
Flask's test client. Prints the time of the upload request: first as new employees,
then again as updates.

    .venv/bin/python bench/import_csv.py [ROWS]
"""

import re
import sys
import tempfile
import time
from datetime import UTC, date, timedelta
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pyotp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import app as app_module  # noqa: E402
import models  # noqa: E402
import security  # noqa: E402

ADMIN_NIP, ADMIN_NIK = "198001012005011001", "3201010101800001"
NEW_PASSWORD = "Bench!Impor2026"  # noqa: S105 - a throwaway account in a temporary database


def employee_rows(count: int):
    """Valid, distinct NIPs: each run of 90 rows shares a birth date and differs in the
    sequence number; every fifth employee is PPPK."""
    for i in range(count):
        birth = date(1965, 1, 1) + timedelta(days=i // 90)
        month, gender, sequence = 1 + i % 12, 1 + (i // 12) % 2, i % 90 + 1
        if i % 5 == 4:
            jenis, year = "PPPK", birth.year + 25
            nip = f"{birth:%Y%m%d}{year}21{gender}{sequence:03d}"
        else:
            jenis, year = "PNS", birth.year + 22
            nip = f"{birth:%Y%m%d}{year}{month:02d}{gender}{sequence:03d}"
        yield (f"{nip},32{i:014d},Pegawai Contoh {i},pegawai{i}@contoh.go.id,0812{i:08d},{jenis},"
               f"aktif,Pemerintah Kabupaten Contoh,Dinas Pendidikan dan Kebudayaan,"
               f"Guru Ahli Pertama,Penata Muda,III/a,{year}-{month:02d}-01,")


def write_csv(count: int) -> Path:
    path = ROOT / "bench" / "out" / f"pegawai-{count}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(",".join(models.CSV_HEADER) + "\n")
        for row in employee_rows(count):
            out.write(row + "\n")
    return path


def token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def post(client, url: str, data: dict, expect: str):
    data["csrf_token"] = token(client.get(url).get_data(as_text=True))
    response = client.post(url, data=data)
    assert response.status_code == 303 and response.location == expect, response.get_data(as_text=True)[:2000]


def sign_in_as_admin(app):
    with models.db.connection_context():
        models.Employee.create(nip=ADMIN_NIP, nik=ADMIN_NIK, nama="Admin Kepegawaian", jenis_asn="PNS",
                               tmt_cpns=date(2005, 1, 1))
    output = app.test_cli_runner().invoke(args=["create-admin", ADMIN_NIP]).output
    temporary = re.search(r"saat masuk\): (\S+)", output).group(1)
    client = app.test_client()
    post(client, "/login", {"nip": ADMIN_NIP, "password": temporary}, "/password/new")
    post(client, "/password/new", {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
         "/mfa/setup")
    page = client.get("/mfa/setup").get_data(as_text=True)
    uri = unescape(re.search(r'href="(otpauth://[^"]+)"', page).group(1))
    totp = pyotp.TOTP(parse_qs(urlparse(uri).query)["secret"][0])
    code = totp.at(security.now().replace(tzinfo=UTC).timestamp())
    post(client, "/mfa/setup", {"device_name": "Bench", "otp": code}, "/mfa/kode-pemulihan")
    return client


def upload(client, path: Path):
    page = client.get("/admin/pegawai/unggah").get_data(as_text=True)
    with path.open("rb") as file:
        started = time.perf_counter()
        response = client.post("/admin/pegawai/unggah", content_type="multipart/form-data",
                               data={"csrf_token": token(page), "berkas": (file, path.name)})
        elapsed = time.perf_counter() - started
    text = response.get_data(as_text=True)
    summary = re.search(r"\d+ pegawai baru, \d+ diperbarui, \d+ baris ditolak", text)
    assert response.status_code == 200 and summary, text[:2000]
    return elapsed, summary.group(0)


def main(count: int):
    started = time.perf_counter()
    path = write_csv(count)
    size_mb = path.stat().st_size / 2**20
    print(f"{path.relative_to(ROOT)}: {count:,} baris, {size_mb:.1f} MB "
          f"(dibuat dalam {time.perf_counter() - started:.1f} s)")
    with tempfile.TemporaryDirectory() as folder:
        app = app_module.create_app({"DATABASE_URL": f"sqlite:///{folder}/bench.db",
                                     "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                                     "BASE_URL": "http://localhost"})
        client = sign_in_as_admin(app)
        for label in ("unggah pertama (semua baru)", "unggah ulang (semua diperbarui)"):
            elapsed, summary = upload(client, path)
            print(f"{label}: {elapsed:.2f} s, {count / elapsed:,.0f} baris/s — {summary}")
        if not models.db.is_closed():
            models.db.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
