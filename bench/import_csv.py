"""Importing a large instansi: the command line with a million rows, the console upload
with 200,000, both streamed in batches.

Generates valid CSVs (bench/out/pegawai-N.csv, made once), then:

- runs `flask --app app import-employees` on 1,000,000 rows into a fresh SQLite database
  in its own process: wall time and that process's peak RSS. Baselines in the same run:
  a bare `csv` pass over the same file (the floor for reading it) and the peak RSS of
  `flask --app app init-db` (the command line doing nothing much);
- starts the portal (`python app.py`) and uploads 200,000 rows to /admin/pegawai/unggah
  as a signed-in admin, the body streamed from disk: time and the server's peak RSS,
  against its RSS before the upload.

Targets: 1,000,000 rows in < 60 s with peak RSS < 200 MB; 200,000 rows within the upload
limit; the server's peak RSS < 200 MB during the upload.

    .venv/bin/python bench/import_csv.py
"""

import csv
import http.client
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import harness  # noqa: E402

import app as app_module  # noqa: E402
import models  # noqa: E402

CLI_ROWS = 1_000_000
UPLOAD_ROWS = 200_000


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
    """bench/out/pegawai-COUNT.csv, made once (the rows are always the same)."""
    path = ROOT / "bench" / "out" / f"pegawai-{count}.csv"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="\n") as out:
        out.write(",".join(models.CSV_HEADER) + "\n")
        for row in employee_rows(count):
            out.write(row + "\n")
    partial.rename(path)
    return path


def peak_of(command, env) -> tuple[float, float, float, str]:
    """(seconds, CPU seconds, peak RSS in MB, output) of `command` run in its own process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status:
        raise RuntimeError(f"{command} failed: {output[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output


def csv_pass(path: Path) -> float:
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as file:
        for _ in csv.reader(file):
            pass
    return time.perf_counter() - started


def admin_session(url: str) -> str:
    """A database holding one admin with a server-side session; returns the session cookie."""
    app = app_module.create_app({"DATABASE_URL": url, "SECRET_KEY": harness.SECRET_KEY, "BASE_URL": "http://127.0.0.1"})
    with models.db.connection_context():
        admin = models.Employee.create(nip="198001012005011001", nik="3201010101800001", nama="Admin Kepegawaian",
                                       jenis_asn="PNS", tmt_cpns=date(2005, 1, 1))
        account = models.Account.create(employee=admin, role="admin", must_change_password=False)
        token = models.SessionRecord.start(account, ip="127.0.0.1", user_agent="bench").token
    models.db.close()
    return app.session_interface.get_signing_serializer(app).dumps({"_user_id": token})


def upload(port: int, cookie: str, path: Path) -> str:
    """POST the file as the form field `berkas`, streamed from disk; returns the page."""
    boundary = "benchboundary7f3a"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"berkas\"; filename=\"{path.name}\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body():
        yield head
        with path.open("rb") as file:
            yield from iter(lambda: file.read(1 << 20), b"")
        yield tail

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request("POST", "/admin/pegawai/unggah", body=body(), headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": f"session={cookie}",
        "Content-Length": str(len(head) + path.stat().st_size + len(tail))})
    response = connection.getresponse()
    page = response.read().decode()
    if response.status != 200:
        raise RuntimeError(f"upload answered {response.status}: {page[:2000]}")
    return page


def main() -> int:
    results = harness.Results("Importing employees")
    big, medium = write_csv(CLI_ROWS), write_csv(UPLOAD_ROWS)
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, **harness.BASE_ENV, "ASN_DATABASE_URL": f"sqlite:///{folder}/cli.db",
               "ASN_BASE_URL": "http://127.0.0.1"}
        flask = [str(Path(sys.executable).with_name("flask")), "--app", "app"]
        _, _, idle_peak, _ = peak_of([*flask, "init-db"], env)
        reading = csv_pass(big)
        seconds, cpu, peak, output = peak_of([*flask, "import-employees", str(big)], env)
        print(f"  {output.strip()}", flush=True)
        results.add(f"command line, {CLI_ROWS:,} rows < 60 s", f"{seconds:.1f} s, CPU {cpu:.1f} s",
                    f"csv pass over the file {reading:.1f} s", seconds < 60)
        results.add(f"command line, {CLI_ROWS:,} rows: peak RSS < 200 MB", f"{peak:.0f} MB",
                    f"init-db {idle_peak:.0f} MB", peak < 200)

        url = f"sqlite:///{folder}/web.db"
        cookie = admin_session(url)
        limit = app_module.DEFAULTS["MAX_UPLOAD_LENGTH"]
        size = medium.stat().st_size
        results.add(f"{UPLOAD_ROWS:,} rows fit the upload limit", f"{size / 2**20:.0f} MB",
                    f"limit {limit / 2**20:.0f} MB", size <= limit)
        with harness.Server(["app.py"], {"ASN_DATABASE_URL": url}) as server:
            before = server.memory_mb()
            started = time.perf_counter()
            page = upload(server.port, cookie, medium)
            seconds = time.perf_counter() - started
            peak = server.memory_mb("VmHWM")
        summary = f"{UPLOAD_ROWS:,} pegawai baru".replace(",", "")
        results.add(f"console upload, {UPLOAD_ROWS:,} rows: server peak RSS < 200 MB",
                    f"{peak:.0f} MB in {seconds:.1f} s ({UPLOAD_ROWS / seconds:,.0f} rows/s)",
                    f"server before {before:.0f} MB", peak < 200 and summary in page)
    return results.report()


if __name__ == "__main__":
    sys.exit(main())
