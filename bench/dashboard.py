"""Server time and size of the signed-in employee's pages, on a realistic database.

Builds a temporary SQLite database with 10,000 employees imported from a generated CSV
through `models.import_employees` (the real import), then gives one employee a
realistic amount of own data (career history, PDFs, leave requests, notifications,
sessions, audit events) and gives 1,000 other employees data of their own too, so that
every query has to filter. Signs that employee in through Flask's test client the way a
person does it the first time (NIK as password, new password, MFA enrollment with a
code computed by pyotp from the page's otpauth:// link), then, for each page, warms up
with 20 requests and times 200 more (time.perf_counter around `client.get`, with
`Accept-Encoding: gzip` as browsers send it). Also reports the SQL queries one request
makes, the median CPU time of a request (time.thread_time: the share of the wall time
that is the portal's own work, not waiting for a CPU on a busy machine) and the body
size, plain and gzip-compressed.

A page over the time budget is measured again, up to 3 runs in all, and its best run is
reported ("runs" column): other processes on the machine make single runs noisy, but a
page that is really slow is slow every time.

Budgets: median and p95 under 20 ms per page; at most 30 KB (30,720 B) gzip-compressed.
Exits with status 1 when a page is over budget or does not answer 200.

    .venv/bin/python bench/dashboard.py
"""

import csv
import dataclasses
import io
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import app as app_module  # noqa: E402
import demo  # noqa: E402
import models  # noqa: E402
import security  # noqa: E402
from tests.helpers import first_login  # noqa: E402

EMPLOYEES = 10_000
OTHERS_WITH_DATA = 1_000
WARMUP = 20
ATTEMPTS = 3  # a page over the time budget is measured again (other processes add noise)
ROUNDS = 200
TIME_BUDGET_MS = 20.0
GZIP_BUDGET = 30 * 1024
PAGES = ["/dashboard", "/dashboard/riwayat", "/dashboard/dokumen", "/dashboard/cuti", "/dashboard/notifikasi",
         "/dashboard/keamanan", "/dashboard/kontak", "/mfa/kode-pemulihan"]
USER_AGENT = ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/124.0 Mobile Safari/537.36")
SIGN_IN_EVENTS = list(models.AuditEvent.SIGN_IN_EVENTS)
OTHER_EVENTS = ["password.changed", "document.downloaded", "leave.requested", "session.ended", "mfa.added"]
JABATAN = ["Pranata Komputer Ahli Pertama", "Pranata Komputer Ahli Muda", "Analis Kebijakan Ahli Muda",
           "Kepala Seksi Infrastruktur TIK", "Kepala Bidang Aplikasi Informatika", "Pengelola Data"]
UNIT = ["Diskominfo", "BKPSDM", "Bappeda", "Dinas Pendidikan", "Sekretariat Daerah"]
GOLONGAN = [("Pengatur", "II/c"), ("Pengatur Tingkat I", "II/d"), ("Penata Muda", "III/a"),
            ("Penata Muda Tingkat I", "III/b"), ("Penata", "III/c"), ("Penata Tingkat I", "III/d"),
            ("Pembina", "IV/a"), ("Pembina Tingkat I", "IV/b"), ("Pembina Utama Muda", "IV/c"),
            ("Pembina Utama Madya", "IV/d")]


# --------------------------------------------------------------------------- data


def employee_csv(count: int) -> bytes:
    """`count` employees with valid, unique NIPs (every tenth a PPPK) and NIKs."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(models.CSV_HEADER)
    for i in range(count):
        birth = date(1966, 1, 1) + timedelta(days=i)  # unique: 1966 to 1993
        pppk = i % 10 == 9
        year = min(birth.year + 23, 2024)
        month = i % 12 + 1
        middle = f"{year}21" if pppk else f"{year}{month:02d}"
        nip = f"{birth:%Y%m%d}{middle}{i % 2 + 1}{i % 999 + 1:03d}"
        pangkat, golongan = GOLONGAN[i % len(GOLONGAN)]
        writer.writerow([nip, f"32{i:014d}", f"Pegawai Nomor {i}", f"pegawai{i}@example.go.id", f"0812{i:08d}",
                         "PPPK" if pppk else "PNS", "aktif", "Pemerintah Kota Bandung", UNIT[i % len(UNIT)],
                         JABATAN[i % len(JABATAN)], "" if pppk else pangkat, "" if pppk else golongan,
                         f"{year}-{month:02d}-01", "" if pppk else f"{min(year + 4, 2025)}-04-01"])
    return out.getvalue().encode()


def insert(model, rows):
    for i in range(0, len(rows), 500):
        model.insert_many(rows[i:i + 500]).execute()


def career_and_records(employee_ids, sizes, pdf, rng):
    """Rows for the employees in `employee_ids` (in id order, so one employee's rows sit
    among the others'); `sizes[id]` says how many of each kind that employee gets."""
    rows = {m: [] for m in (models.PositionHistory, models.RankHistory, models.Document,
                            models.ServiceRequest, models.Notification)}
    base = datetime(2025, 1, 6, 1, 0)
    for employee_id in employee_ids:
        n = sizes[employee_id]
        for k in range(n["positions"]):
            rows[models.PositionHistory].append({
                "employee": employee_id, "jabatan": JABATAN[k % len(JABATAN)], "unit_kerja": UNIT[k % len(UNIT)],
                "tmt": date(1995 + k * 3, 1 + k % 12, 1), "nomor_sk": f"821.2/{k + 1:03d}/BKPSDM/{1995 + k * 3}"})
        for k in range(n["ranks"]):
            pangkat, golongan = GOLONGAN[k % len(GOLONGAN)]
            rows[models.RankHistory].append({
                "employee": employee_id, "pangkat": pangkat, "golongan": golongan,
                "tmt": date(1995 + k * 3, 4, 1), "nomor_sk": f"823.3/{k + 1:03d}/BKPSDM/{1995 + k * 3}"})
        for k in range(n["documents"]):
            rows[models.Document].append({
                "employee": employee_id, "jenis": ["SK CPNS", "SK PNS", "SK Kenaikan Pangkat", "SK Jabatan",
                                                   "Ijazah"][k % 5],
                "nomor": f"800/{k + 1:03d}/BKPSDM", "tanggal": date(2000 + k * 4, 3, 1),
                "filename": f"dokumen-{employee_id}-{k + 1}.pdf", "size": len(pdf), "content": pdf,
                "uploaded_at": base + timedelta(days=k)})
        for k in range(n["leave"]):
            start = date(2022, 1, 3) + timedelta(days=k * 45)
            status = ["disetujui", "ditolak", "disetujui", "diajukan"][k % 4]
            rows[models.ServiceRequest].append({
                "employee": employee_id, "kind": "cuti",
                "subkind": ["tahunan", "sakit", "tahunan", "alasan_penting"][k % 4],
                "start": start, "end": start + timedelta(days=rng.randint(0, 4)),
                "data": models.ServiceRequest.encode({"reason": "Keperluan keluarga di luar kota" if k % 2
                                                      else "Istirahat sesuai surat dokter"}),
                "status": status, "note": "" if k % 4 == 3 else "Sesuai ketentuan",
                "decided_by": "" if k % 4 == 3 else "198001012005011001",
                "created_at": base + timedelta(days=k * 45), "submitted_at": base + timedelta(days=k * 45),
                "decided_at": None if k % 4 == 3 else base + timedelta(days=k * 45 + 2)})
        for k in range(n["notifications"]):
            created = base + timedelta(hours=k * 37)
            rows[models.Notification].append({
                "employee": employee_id, "title": f"Pengajuan cuti nomor {k + 1} telah diproses",
                "body": "Pengajuan cuti Anda telah diputuskan oleh atasan. Lihat rinciannya di halaman cuti.",
                "link": "/dashboard/cuti", "created_at": created,
                "read_at": created + timedelta(hours=3) if k % 3 else None})
    for model, model_rows in rows.items():
        insert(model, model_rows)


def accounts_sessions_audit(employee_ids, sizes, rng):
    """An account per employee (first login already done elsewhere), sessions and audit
    events; returns {employee id: account id}."""
    accounts = {}
    for employee_id in employee_ids:
        accounts[employee_id] = models.Account.for_employee(models.Employee.get_by_id(employee_id)).id
    sessions, events = [], []
    now = security.now()
    nips = dict(models.Employee.select(models.Employee.id, models.Employee.nip)
                .where(models.Employee.id.in_(list(employee_ids))).tuples())
    for employee_id in employee_ids:
        n = sizes[employee_id]
        for k in range(n["sessions"]):
            sessions.append({"account": accounts[employee_id], "token_hash": security.hash_token(f"{employee_id}-{k}"),
                             "created_at": now - timedelta(hours=k + 1), "last_seen_at": now - timedelta(minutes=k),
                             "ip": f"10.1.{k}.{employee_id % 250}", "user_agent": USER_AGENT,
                             "verified_at": now - timedelta(hours=k + 1)})
        for k in range(n["audit"]):
            event = SIGN_IN_EVENTS[k % len(SIGN_IN_EVENTS)] if k % 3 else OTHER_EVENTS[k % len(OTHER_EVENTS)]
            events.append({"created_at": now - timedelta(hours=n["audit"] - k), "event": event,
                           "nip": nips[employee_id], "account": accounts[employee_id],
                           "ip": f"10.2.{k % 250}.{employee_id % 250}", "user_agent": USER_AGENT,
                           "detail": "password" if event == "login.ok" else ""})
    rng.shuffle(events)  # interleaved in id order, as real traffic is
    insert(models.SessionRecord, sessions)
    insert(models.AuditEvent, events)
    return accounts


def build(employee_nip: str, rng) -> dict:
    """Import employees, add everyone's rows; returns row counts by table."""
    report = models.import_employees(employee_csv(EMPLOYEES))
    assert not report.errors, report.errors[:5]
    assert report.created == EMPLOYEES, report
    ids = [e.id for e in models.Employee.select(models.Employee.id).order_by(models.Employee.id)]
    target = models.Employee.by_nip(employee_nip).id
    others = set(rng.sample([i for i in ids if i != target], OTHERS_WITH_DATA))
    sizes = {i: {"positions": rng.randint(1, 6), "ranks": rng.randint(1, 6), "documents": rng.randint(0, 3),
                 "leave": rng.randint(0, 10), "notifications": rng.randint(0, 40), "sessions": rng.randint(0, 3),
                 "audit": rng.randint(5, 60)} for i in others}
    sizes[target] = {"positions": 10, "ranks": 10, "documents": 5, "leave": 20, "notifications": 50,
                     "sessions": 5, "audit": 200}
    with_data = sorted(others | {target})
    pdf = demo.tiny_pdf(["SURAT KEPUTUSAN", "Nomor 800/001/BKPSDM", "Pemerintah Kota Bandung"])
    assert models.is_pdf(pdf)
    with models.db.atomic():
        career_and_records(with_data, sizes, pdf, rng)
        accounts_sessions_audit(with_data, sizes, rng)
    return {m.__name__: m.select().count() for m in models.ALL_MODELS}


# --------------------------------------------------------------------------- measuring


class QueryCounter(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        self.count += 1


def count_queries(client, path: str) -> int:
    """SQL statements one request runs (peewee logs each at DEBUG); not while timing."""
    logger = logging.getLogger("peewee")
    counter, level = QueryCounter(), logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        client.get(path)
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
    return counter.count


def measure(client, path: str) -> dict:
    headers = {"Accept-Encoding": "gzip", "User-Agent": USER_AGENT}
    statuses = set()
    for _ in range(WARMUP):
        statuses.add(client.get(path, headers=headers).status_code)
    times, cpu = [], []
    for _ in range(ROUNDS):
        cpu_start = time.thread_time()
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - cpu_start) * 1000)
        statuses.add(response.status_code)
    plain = client.get(path, headers={"User-Agent": USER_AGENT})
    gzipped = client.get(path, headers=headers)
    assert gzipped.headers.get("Content-Encoding") == "gzip", f"{path} was not compressed"
    times.sort()
    return {"path": path, "status": ",".join(str(s) for s in sorted(statuses | {plain.status_code})),
            "median": statistics.median(times), "p95": times[int(len(times) * 0.95) - 1], "max": times[-1],
            "cpu": statistics.median(cpu),
            "queries": count_queries(client, path), "body": len(plain.get_data()),
            "gzip": len(gzipped.get_data())}


def slow(row) -> bool:
    return row["median"] >= TIME_BUDGET_MS or row["p95"] >= TIME_BUDGET_MS


def measure_page(client, path: str) -> dict:
    """The first run within the time budget, else the run with the lowest p95 of ATTEMPTS:
    a page that is really slow is slow every time, a busy machine only now and then."""
    runs = []
    while len(runs) < ATTEMPTS and (not runs or slow(runs[-1])):
        runs.append(measure(client, path))
    best = min(runs, key=lambda r: (slow(r), r["p95"]))
    best["runs"] = len(runs)
    return best


def verdict(row) -> str:
    problems = []
    if row["status"] != "200":
        problems.append(f"status {row['status']}")
    if slow(row):
        problems.append("slow")
    if row["gzip"] > GZIP_BUDGET:
        problems.append("large")
    return "OVER: " + ", ".join(problems) if problems else "ok"


def restore_default_hashing(app) -> None:
    """Back to the default argon2 cost once the cheap sign-ins of the set-up are done."""
    app.extensions["settings"] = dataclasses.replace(app.extensions["settings"],
                                                     argon2_cost=app_module.DEFAULTS["ARGON2_COST"])


def main() -> int:
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as folder:
        app = app_module.create_app({
            "SECRET_KEY": "bench-secret-key", "DATABASE_URL": f"sqlite:///{folder}/portal.db", "DEMO": False,
            "MAIL_URL": "", "SMS_SENDER": "", "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False,
            "BASE_URL": "http://localhost",
            "ARGON2_COST": (1, 64)})  # cheap hashing for the sign-in only; restored below
        nip = employee_csv(EMPLOYEES).decode().splitlines()[5001].split(",")
        employee_nip, employee_nik = nip[0], nip[1]
        started = time.perf_counter()
        with models.db.connection_context():
            counts = build(employee_nip, rng)
        built = time.perf_counter() - started

        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
        first_login(client, employee_nip, employee_nik)  # NIK -> new password -> MFA enrollment
        # "Saya sudah menyimpan kode ini": the end of the first sign-in, and the recovery
        # codes page in its everyday state. The first dashboard says "Akun Anda siap"
        # (once); the dashboards measured below are the everyday ones.
        assert client.post("/mfa/kode-pemulihan/selesai").location == "/dashboard"
        restore_default_hashing(app)
        assert client.get("/dashboard").status_code == 200, "not signed in"
        with models.db.connection_context():
            employee = models.Employee.by_nip(employee_nip)
            own = {"positions": models.PositionHistory.of(employee).count(),
                   "ranks": models.RankHistory.of(employee).count(),
                   "documents": models.Document.listing(employee).count(),
                   "leave": models.LeaveRequest.of(employee).count(),
                   "notifications": models.Notification.of(employee).count(),
                   "sessions": models.Account.for_employee(employee).active_sessions().count(),
                   "audit": models.AuditEvent.for_nip(employee_nip).count()}

        rows = [measure_page(client, path) for path in PAGES]
        if not models.db.is_closed():
            models.db.close()

    print(f"Database: {', '.join(f'{k} {v:,}' for k, v in counts.items() if v)} (built in {built:.1f} s)")
    print(f"Measured employee {employee_nip}: "
          + ", ".join(f"{k} {v}" for k, v in own.items()))
    print(f"Per page: {WARMUP} warm-up requests, then {ROUNDS} timed (Accept-Encoding: gzip). "
          f"Budget: median and p95 < {TIME_BUDGET_MS:.0f} ms, gzip <= {GZIP_BUDGET:,} B.")
    print(f"cpu ms: median CPU time of the request (a busy machine inflates wall time far more than this). "
          f"Load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs.\n")
    header = (f"{'page':<22} {'status':>6} {'median ms':>9} {'p95 ms':>7} {'max ms':>7} {'cpu ms':>6} {'runs':>4} "
              f"{'queries':>7} {'body B':>8} {'gzip B':>7}  verdict")
    print(header)
    print("-" * len(header))
    failed = False
    for row in rows:
        result = verdict(row)
        failed |= result != "ok"
        print(f"{row['path']:<22} {row['status']:>6} {row['median']:>9.2f} {row['p95']:>7.2f} {row['max']:>7.2f} "
              f"{row['cpu']:>6.2f} {row['runs']:>4} {row['queries']:>7} {row['body']:>8,} {row['gzip']:>7,}  {result}")
    print("\nOver budget." if failed else "\nAll pages within budget.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
