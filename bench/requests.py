"""Server time of the pages of pengajuan layanan at 10,000 employees and 100,000 service
requests: the employee's dashboard, request list and leave page, and the console's queue
(every filter) and review screen.

Builds the database of bench/dashboard.py (10,000 employees imported through the real
import, 1,000 of them with their own records and leave requests), adds 100,000 requests
of kenaikan pangkat, mutasi and pemutakhiran data spread over the employees, submitted
over two years, most of them decided (as a real queue ages), then times each page as
bench/dashboard.py does: 20 warm-up requests, 200 timed, with gzip; a page over budget is
measured again, up to 3 runs.

Budget: median and p95 under 20 ms per page, gzip at most 30 KB. Exits 1 when one is over.

    .venv/bin/python bench/requests.py
"""

import random
import sys
import tempfile
import time
from datetime import datetime, timedelta

import dashboard as bench  # bench/dashboard.py: the database, the timing and the verdict

import app as app_module
import models
from tests.helpers import first_login, sign_in_as

REQUESTS = 100_000
KINDS = [("kenaikan_pangkat", "reguler"), ("mutasi", "antar_unit"), ("pemutakhiran_data", "data_pribadi")]
STATUSES = ["disetujui"] * 12 + ["ditolak"] * 3 + ["perlu_perbaikan", "diajukan", "diverifikasi", "draf"]
UNITS = bench.UNIT


def add_requests(rng) -> None:
    employees = [e.id for e in models.Employee.select(models.Employee.id)]
    start = datetime(2025, 1, 1, 1, 0)
    rows = []
    for i in range(REQUESTS):
        kind, subkind = KINDS[i % len(KINDS)]
        status = rng.choice(STATUSES)
        created = start + timedelta(minutes=i * 10)
        rows.append({"employee": rng.choice(employees), "kind": kind, "subkind": subkind, "status": status,
                     "data": '{"alasan": "Mendekatkan tempat tinggal", "tujuan": "Dinas Kesehatan"}',
                     "created_at": created, "submitted_at": None if status == "draf" else created,
                     "decided_at": created + timedelta(days=9) if status in ("disetujui", "ditolak") else None})
    with models.db.atomic():
        for i in range(0, len(rows), 1000):
            models.ServiceRequest.insert_many(rows[i:i + 1000]).execute()
    models.db.execute_sql("ANALYZE")


def main() -> int:
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory(prefix="bench-requests-") as folder:
        app = app_module.create_app({
            "SECRET_KEY": "bench-secret-key", "DATABASE_URL": f"sqlite:///{folder}/portal.db", "DEMO": False,
            "MAIL_URL": "", "SMS_SENDER": "", "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False,
            "BASE_URL": "http://localhost", "ARGON2_COST": (1, 64)})
        line = bench.employee_csv(bench.EMPLOYEES).decode().splitlines()[5001].split(",")
        employee_nip, employee_nik = line[0], line[1]
        started = time.perf_counter()
        with models.db.connection_context():
            bench.build(employee_nip, rng)
            add_requests(rng)
            counts = {"employees": models.Employee.select().count(),
                      "requests": models.ServiceRequest.select().count()}
            waiting = (models.ServiceRequest.select(models.ServiceRequest.id)
                       .where((models.ServiceRequest.kind == "mutasi") & (models.ServiceRequest.status == "diajukan"))
                       .order_by(models.ServiceRequest.submitted_at).first().id)
        built = time.perf_counter() - started

        employee = app.test_client()
        employee.environ_base["HTTP_USER_AGENT"] = bench.USER_AGENT
        first_login(employee, employee_nip, employee_nik)
        employee.post("/mfa/kode-pemulihan/selesai")
        reviewer = app.test_client()
        reviewer.environ_base["HTTP_USER_AGENT"] = bench.USER_AGENT
        sign_in_as(reviewer, "admin")
        reviewer.post("/mfa/kode-pemulihan/selesai")
        bench.restore_default_hashing(app)

        rows = [bench.measure_page(employee, path) for path in ("/dashboard", "/layanan", "/dashboard/cuti")]
        rows += [bench.measure_page(reviewer, path) for path in (
            "/admin/layanan", "/admin/layanan?jenis=mutasi&status=diajukan",
            "/admin/layanan?jenis=kenaikan_pangkat&status=disetujui&page=40",
            f"/admin/layanan?jenis=mutasi&status=diajukan&unit={UNITS[0]}",
            "/admin/layanan?jenis=pemutakhiran_data&umur=30", f"/admin/layanan/{waiting}")]
        if not models.db.is_closed():
            models.db.close()

    print(f"Database: {counts['employees']:,} employees, {counts['requests']:,} service requests "
          f"(built in {built:.1f} s)")
    print(f"Budget: median and p95 < {bench.TIME_BUDGET_MS:.0f} ms, gzip <= {bench.GZIP_BUDGET:,} B.\n")
    header = f"{'page':<66} {'median ms':>9} {'p95 ms':>7} {'cpu ms':>6} {'queries':>7} {'gzip B':>7}  verdict"
    print(header)
    print("-" * len(header))
    failed = False
    for row in rows:
        result = bench.verdict(row)
        failed |= result != "ok"
        print(f"{row['path']:<66} {row['median']:>9.2f} {row['p95']:>7.2f} {row['cpu']:>6.2f} {row['queries']:>7} "
              f"{row['gzip']:>7,}  {'PASS' if result == 'ok' else 'FAIL ' + result}")
    print("\nFAIL: over budget." if failed else "\nPASS: every page within budget.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
