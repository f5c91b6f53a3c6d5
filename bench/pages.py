"""Requests per second of the portal's pages against a bare Flask page on the same waitress.

Builds a temporary SQLite database (1,000 employees through the real import, an admin
with a server-side session, a few hundred audit events), starts the portal
(`python app.py`, rate limits off) and a bare Flask app (bench/bare_app.py) with the same
waitress options, then loads each with 16 keep-alive connections asking for gzip, turn
about with the bare page: each page's figure is a ratio to the bare page measured just
before it, the better of two rounds (the machine is shared).

Targets: anonymous pages (/login, /bantuan/) ≥ 0.35× the bare page; signed-in pages
(dashboard, console list, search, audit log) ≥ 0.25×. Then, not a target, the portal's own
floor: the bare page behind the portal's request pipeline (bench/floor_app.py), anonymous
and signed in, the most any page could reach.

    .venv/bin/python bench/pages.py
"""

import secrets
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402
from import_csv import employee_rows  # noqa: E402

import app as app_module  # noqa: E402
import models  # noqa: E402

USERS = 16
SECONDS = 3
ROUNDS = 2
ANONYMOUS = ["/login", "/bantuan/"]
SIGNED_IN = ["/dashboard", "/admin/pegawai", "/admin/pegawai?q=pegawai%20contoh%201", "/admin/audit"]


def build_database(folder: Path) -> tuple[str, str]:
    """The database's URL and the session cookie of a signed-in admin."""
    url = f"sqlite:///{folder / 'portal.db'}"
    app = app_module.create_app({"DATABASE_URL": url, "SECRET_KEY": harness.SECRET_KEY,
                                 "BASE_URL": "http://127.0.0.1"})
    csv = ",".join(models.CSV_HEADER) + "\n" + "\n".join(employee_rows(1000)) + "\n"
    with models.db.connection_context():
        models.import_employees(csv.encode())
        admin = models.Employee.select().order_by(models.Employee.id).first()
        account = models.Account.create(employee=admin, role="admin", must_change_password=False,
                                        password_hash=None)  # signed in through the session below
        for i in range(300):
            models.AuditEvent.record("login.failed" if i % 3 else "login.ok", nip=admin.nip, ip="10.0.0.1")
        token = models.SessionRecord.start(account, ip="127.0.0.1", user_agent="bench").token
    models.db.close()
    # The session a browser holds after its first page: signed in, with its CSRF token (without
    # one, every page would make a token and send a new cookie, which a browser sees once).
    cookie = app.session_interface.get_signing_serializer(app).dumps(
        {"_user_id": token, "_fresh": True, "csrf_token": secrets.token_hex(20)})
    return url, cookie


def rate(port: int, path: str, cookie: str = "") -> float:
    request = harness.request_bytes("GET", path, headers={"Cookie": f"session={cookie}"} if cookie else None)
    per_second, _ = harness.load(port, lambda user, n: request, USERS, SECONDS)
    return per_second


def best_round(portal_port: int, bare_port: int, path: str, cookie: str = "") -> tuple[float, float]:
    """(portal's rate, bare page's rate) of the round, out of ROUNDS, with the best ratio:
    the two measured turn about, after one warm-up of `path`."""
    rate(portal_port, path, cookie)  # warm up
    return max(((rate(portal_port, path, cookie), rate(bare_port, "/")) for _ in range(ROUNDS)),
               key=lambda pair: pair[0] / pair[1])


def main() -> int:
    results = harness.Results(f"Pages against a bare Flask page on the same waitress ({USERS} connections)")
    with tempfile.TemporaryDirectory() as folder:
        url, cookie = build_database(Path(folder))
        with harness.Server(["app.py"], {"ASN_DATABASE_URL": url}) as portal, \
                harness.Server(["bench/bare_app.py"]) as bare:
            for path in ANONYMOUS + SIGNED_IN:
                signed_in = path in SIGNED_IN
                best = best_round(portal.port, bare.port, path, cookie if signed_in else "")
                target = 0.25 if signed_in else 0.35
                results.add(f"{path} ≥ {target}× bare", f"{best[0] / best[1]:.2f}× ({best[0]:.0f}/s)",
                            f"bare page {best[1]:.0f}/s", best[0] / best[1] >= target)
        floors = measure_floors(url, cookie)
    status = results.report()
    print("\nThe portal's own floor (not a target): the bare page behind its request pipeline")
    for path, (portal_rate, bare_rate) in floors.items():
        print(f"  {path:28s} {portal_rate / bare_rate:.2f}× ({portal_rate:.0f}/s)  bare page {bare_rate:.0f}/s")
    return status


def measure_floors(url: str, cookie: str) -> dict:
    """bench/floor_app.py's bare page, anonymous and signed in, against the bare Flask page:
    the most any page of the portal could reach."""
    with harness.Server(["bench/floor_app.py"], {"ASN_DATABASE_URL": url}) as portal, \
            harness.Server(["bench/bare_app.py"]) as bare:
        return {path: best_round(portal.port, bare.port, path, session)
                for path, session in (("/bench/floor", ""), ("/bench/floor-signed-in", cookie))}


if __name__ == "__main__":
    sys.exit(main())
