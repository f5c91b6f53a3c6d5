"""Flat with size: the pages an instansi uses most, at 1,000 and at 1,000,000 employees
and audit events.

Builds two temporary SQLite databases through the real import (`models.import_employees`,
the CSV of bench/import_csv.py) with as many audit events as employees (sign-ins spread
over the employees and a year), an admin and an employee each with a session. Then times,
with Flask's test client, the server side of: the password step of a sign-in, the
dashboard, the console's employee list, a search by name prefix, a search by NIP prefix,
and the audit log (first page, and filtered by an event). argon2 runs at its cheapest cost
here: this benchmark is about the database (bench/login.py measures hashing).

Each page is timed 20 times per round (median), in 3 rounds alternating the two
databases; the best round counts (other processes share the machine).

Targets: each page at a million rows within 2× of its time at a thousand, and < 20 ms.

    .venv/bin/python bench/scale.py
"""

import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402
from import_csv import write_csv  # noqa: E402

import app as app_module  # noqa: E402
import models  # noqa: E402
import security  # noqa: E402

SIZES = (1_000, 1_000_000)
ROUNDS = 3
REQUESTS = 20
PASSWORD = "Bench!Masuk2026"  # noqa: S105 - a throwaway database
CHEAP = (1, 64, 1)
EVENTS = ("login.ok", "login.failed", "login.password_ok", "otp.failed", "logout", "password.changed")


def build(folder: Path, size: int):
    """(app, its database, the admin's and the employee's session cookies, an employee's NIP)."""
    url = f"sqlite:///{folder / f'portal-{size}.db'}"
    app = app_module.create_app({"DATABASE_URL": url, "SECRET_KEY": harness.SECRET_KEY, "BASE_URL": "http://localhost",
                                 "ARGON2_COST": CHEAP, "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
    database = models.db.obj
    started = time.perf_counter()
    with models.db.connection_context():
        with write_csv(size).open("rb") as csv_file:
            models.import_employees(csv_file)
        admin, employee = models.Employee.select().order_by(models.Employee.id).limit(2)
        hashed = security.hash_password(PASSWORD, CHEAP)
        cookies = []
        for person, role in ((admin, "admin"), (employee, "pegawai")):
            account = models.Account.create(employee=person, role=role, password_hash=hashed,
                                            must_change_password=False)
            token = models.SessionRecord.start(account, ip="127.0.0.1", user_agent="bench").token
            cookies.append(app.session_interface.get_signing_serializer(app).dumps({"_user_id": token}))
        add_audit_events(size)
    print(f"  {size:,} pegawai dan {size:,} peristiwa audit siap dalam {time.perf_counter() - started:.0f} s",
          flush=True)
    return app, database, cookies, employee.nip


def add_audit_events(count: int) -> None:
    """`count` events over the last year, each about a NIP of the data."""
    nips = [e.nip for e in models.Employee.select(models.Employee.nip).limit(10_000)]
    start = datetime(2026, 1, 1)
    step = timedelta(days=365) / count
    sql = (f"INSERT INTO auditevent (created_at, event, nip, ip, user_agent, detail) VALUES "  # noqa: S608
           f"({', '.join([models.db.param] * 6)})")
    for first in range(0, count, 20_000):
        rows = [(start + step * i, EVENTS[i % len(EVENTS)], nips[i % len(nips)], "10.0.0.1",
                 "Mozilla/5.0 (Linux; Android 10)", "") for i in range(first, min(first + 20_000, count))]
        with models.db.atomic():
            models.db.cursor().executemany(sql, [(models.AuditEvent.created_at.db_value(r[0]), *r[1:]) for r in rows])


def pages(nip: str):
    """(name, method, path, form, which cookie, expected status)."""
    return [
        ("login (password step)", "post", "/login", {"nip": nip, "password": PASSWORD}, None, 303),
        ("dashboard", "get", "/dashboard", None, 1, 200),
        ("admin list", "get", "/admin/pegawai", None, 0, 200),
        ("search by name prefix", "get", "/admin/pegawai?q=pegawai contoh 12", None, 0, 200),
        ("search by NIP prefix", "get", f"/admin/pegawai?q={nip[:8]}", None, 0, 200),
        ("audit page", "get", "/admin/audit", None, 0, 200),
        ("audit page by event", "get", "/admin/audit?event=otp.failed", None, 0, 200),
    ]


def time_page(app, cookies, method, path, form, cookie, status) -> float:
    client = app.test_client(use_cookies=False)
    headers = {"Cookie": f"session={cookies[cookie]}"} if cookie is not None else {}
    timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = getattr(client, method)(path, data=form, headers=headers)
        timings.append(time.perf_counter() - started)
        assert response.status_code == status, (path, response.status_code)
    return statistics.median(timings) * 1000


def main() -> int:
    results = harness.Results("Flat with size (server time, median of the best round)")
    best = {}
    with tempfile.TemporaryDirectory() as folder:
        built = {size: build(Path(folder), size) for size in SIZES}
        for _ in range(ROUNDS):
            for size, (app, database, cookies, nip) in built.items():
                models.db.initialize(database)
                for name, method, path, form, cookie, status in pages(nip):
                    ms = time_page(app, cookies, method, path, form, cookie, status)
                    best[name, size] = min(best.get((name, size), ms), ms)
        for database in (b[1] for b in built.values()):
            database.close_all()
    small, large = SIZES
    for name, *_ in pages("0" * 18):
        ratio = best[name, large] / best[name, small]
        results.add(f"{name}: ≤ 2× and < 20 ms at {large:,}", f"{best[name, large]:.1f} ms ({ratio:.1f}×)",
                    f"{best[name, small]:.1f} ms at {small:,}", ratio <= 2 and best[name, large] < 20)
    return results.report()


if __name__ == "__main__":
    sys.exit(main())
