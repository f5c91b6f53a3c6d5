"""Application plumbing: headers, compression, static caching, errors, config, CLI."""

import gzip
import re
import time

import flask
import pytest

import app as app_module
import models
from tests.databases import ON_POSTGRES
from tests.helpers import NIK, NIP, first_login, login, make_employee, run_statements, to_password_step


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_headers_a_response_already_has_are_not_doubled(app):
    """The security headers are appended when absent, replaced when a view set them
    (e.g. an OpenID Connect library's Cache-Control), and Vary keeps what was there."""
    app.add_url_rule("/t/own-headers", "own_headers", lambda: ("ok", 200, {
        "Cache-Control": "private", "X-Frame-Options": "SAMEORIGIN", "Vary": "Cookie",
        "Content-Security-Policy": "default-src 'none'"}))
    response = app.test_client().get("/t/own-headers", headers={"Accept-Encoding": "gzip"})
    headers = response.headers
    for name in ("Cache-Control", "X-Frame-Options", "Content-Security-Policy", "Vary", "Referrer-Policy"):
        assert len(headers.getlist(name)) == 1, name
    assert headers["Cache-Control"] == "no-store" and headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Security-Policy"] == "default-src 'none'"  # a page's own policy stays
    assert [v.strip() for v in headers["Vary"].split(",")] == ["Cookie", "HX-Request"]
    app_module.add_vary(headers, "hx-request")  # already there, in other letters
    assert headers["Vary"] == "Cookie, HX-Request"


def test_session_cookie_signature_and_age_are_checked_for_a_cookie_seen_before(app, monkeypatch):
    """A cookie's good signature is remembered (a browser sends the same cookie with every
    request); a forged one never opens a session, an old one stops working when it
    outlives the session lifetime, and no request sees another's changes."""
    def opened(cookie):
        with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
            return app.session_interface.open_session(app, flask.request)

    cookie = app.session_interface.get_signing_serializer(app).dumps({"pending": {"stage": "otp"}})
    first = opened(cookie)
    assert first == {"pending": {"stage": "otp"}}
    first["pending"]["stage"] = "mfa_setup"  # changed in place by one request...
    assert opened(cookie) == {"pending": {"stage": "otp"}}  # ...not by the next one
    payload, timestamp, signature = cookie.rsplit(".", 2)
    for forged in (f"{payload}.{timestamp}.{signature[:-3]}abc", f"{payload[:-3]}abc.{timestamp}.{signature}",
                   f"{payload}.{timestamp}", "junk"):
        assert opened(forged) == {}
    lifetime = app.permanent_session_lifetime.total_seconds()
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + lifetime + 5)
    assert opened(cookie) == {}


def test_no_inline_script_or_style_in_pages(client, employee):
    pages = [client.get("/login").get_data(as_text=True)]
    login(client)
    pages.append(client.get("/password/new").get_data(as_text=True))
    for page in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
        assert " style=" not in page and " onclick=" not in page


def test_pages_are_gzipped(client):
    plain = client.get("/login")
    zipped = client.get("/login", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert "Accept-Encoding" in zipped.headers["Vary"]


def test_static_files_fingerprinted_cached_and_gzipped(client):
    page = client.get("/login").get_data(as_text=True)
    src = re.search(r'<script src="(/static/vendor/htmx-2\.0\.\d+\.min\.js\?v=[0-9a-f]{10})"', page).group(1)
    response = client.get(src, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(response.data) < 20_000


def test_login_page_cold_cache_fits_30_kb_with_htmx_and_css(client):
    """DESIGN.md §4: the login page, compressed, with what it links, headers counted."""
    def cost(response):
        headers = sum(len(f"{name}: {value}\r\n") for name, value in response.headers.items())
        return len(response.data) + headers

    page = client.get("/login", headers={"Accept-Encoding": "gzip"})
    html = gzip.decompress(page.data).decode()
    linked = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', html)
    assert any("htmx" in url for url in linked) and any(".css" in url for url in linked)
    total = cost(page) + sum(cost(client.get(url.replace("&amp;", "&"), headers={"Accept-Encoding": "gzip"}))
                             for url in linked)
    assert total <= 30 * 1024


def test_static_files_are_compressed_once(client, monkeypatch):
    calls = []
    real = gzip.compress
    monkeypatch.setattr(app_module.gzip, "compress", lambda data, **kw: calls.append(len(data)) or real(data, **kw))
    app_module._gzipped_static.clear()
    src = "/static/css/app.css"
    bodies = [client.get(src, headers={"Accept-Encoding": "gzip"}) for _ in range(3)]
    assert len(calls) == 1
    assert all(b.headers["Content-Encoding"] == "gzip" and b.data == bodies[0].data for b in bodies)
    assert gzip.decompress(bodies[0].data) == client.get(src).data


def test_signed_in_page_loads_session_account_and_employee_in_one_query(client, employee, clock, monkeypatch):
    first_login(client)
    statements = run_statements(monkeypatch)
    assert client.get("/dashboard/kontak").status_code == 200
    loading = [s for s in statements if any(f'"{t}"' in s for t in ("sessionrecord", "account", "employee"))]
    assert len(loading) == 1 and "JOIN" in loading[0]


def test_dashboard_runs_three_queries(client, employee, clock, monkeypatch):
    """The session with its account and employee, the unread notifications, the recovery
    codes left: nothing else is read for the page everyone opens after signing in."""
    first_login(client)
    client.get("/dashboard")
    statements = run_statements(monkeypatch)
    assert client.get("/dashboard").status_code == 200
    assert len(statements) <= 3, statements


def test_session_cookies_use_one_signing_serializer(client, employee, clock, monkeypatch):
    import flask.sessions

    built = []
    real = flask.sessions.URLSafeTimedSerializer
    monkeypatch.setattr(flask.sessions, "URLSafeTimedSerializer",
                        lambda *args, **kwargs: built.append(1) or real(*args, **kwargs))
    first_login(client)  # a dozen requests reading and writing the session
    assert client.get("/dashboard").status_code == 200
    assert len(built) == 1


def test_views_and_hooks_are_checked_for_coroutines_once(client, employee, clock, monkeypatch):
    import flask.app

    first_login(client)
    assert client.get("/dashboard").status_code == 200
    checked = []
    real = flask.app.iscoroutinefunction
    monkeypatch.setattr(flask.app, "iscoroutinefunction", lambda func: checked.append(func) or real(func))
    for _ in range(2):
        assert client.get("/dashboard").status_code == 200
    assert checked == []


def test_a_new_secret_key_signs_new_cookies(app, client, employee, clock):
    first_login(client)
    assert client.get("/dashboard").status_code == 200
    app.secret_key = app.config["SECRET_KEY"] = "another-secret-key"
    assert client.get("/dashboard").status_code == 302  # the old cookie no longer verifies


def test_vendored_htmx_is_pinned_with_licence(app):
    from pathlib import Path

    vendor = Path(app.root_path) / "static" / "vendor"
    assert [p.name for p in vendor.glob("htmx-*.min.js")] == ["htmx-2.0.11.min.js"]
    assert "Zero-Clause BSD" in (vendor / "htmx-LICENSE.txt").read_text()


def test_not_found_in_indonesian(client):
    response = client.get("/tidak-ada")
    assert response.status_code == 404 and "Halaman tidak ditemukan" in response.get_data(as_text=True)


def test_config_from_environment(monkeypatch, tmp_path):
    import app as app_module

    monkeypatch.setenv("ASN_DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    monkeypatch.setenv("ASN_LOCKOUT_MINUTES", "20")
    monkeypatch.setenv("ASN_SECRET_KEY", "from-env")
    monkeypatch.setenv("ASN_BASE_URL", "https://asn.example.go.id/")
    app = app_module.create_app({"TESTING": True})
    assert app.config["LOCKOUT_MINUTES"] == 20 and app.config["SECRET_KEY"] == "from-env"
    assert app.config["BASE_URL"] == "https://asn.example.go.id"
    assert app.config["TRUSTED_HOSTS"] == ["asn.example.go.id"]
    assert (tmp_path / "env.db").exists()


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite only")
def test_sqlite_runs_in_wal_mode(db):
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_demo_mode_banner_and_accounts(make_app):
    page = make_app(DEMO=True).test_client().get("/login").get_data(as_text=True)
    assert "MODE DEMO / PELATIHAN" in page
    assert "199001012020011001" in page and "3273010101900001" in page
    assert "PPPK" in page and "pensiun" in page


def test_demo_employee_can_sign_in_with_nik(make_app):
    client = make_app(DEMO=True).test_client()
    assert to_password_step(client, "199505102023212004", "5171015005950004").location == "/password/new"


def test_cli_import_employees(app, tmp_path):
    path = tmp_path / "pegawai.csv"
    path.write_text(",".join(models.CSV_HEADER) + "\n"
                    f"{NIP},{NIK},Budi,,,PNS,aktif,Pemkot,Unit,Jabatan,Penata Muda,III/a,2020-01-01,\n"
                    "123,456,Salah,,,PNS,aktif,,,,,,2020-01-01,\n")
    result = app.test_cli_runner().invoke(args=["import-employees", str(path)])
    assert "1 pegawai baru, 0 diperbarui, 1 baris ditolak" in result.output
    assert "baris 3" in result.output and result.exit_code == 1
    with models.db.connection_context():
        assert models.Employee.by_nip(NIP).nama == "Budi"


def test_cli_seed_and_reset_demo(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0 and "199001012020011001" in result.output
    client = app.test_client()
    to_password_step(client, "199001012020011001", "3273010101900001")
    client.post("/password/new", data={"new_password": "Kopi!Pagi2026", "confirm_password": "Kopi!Pagi2026"})
    assert runner.invoke(args=["reset-demo"]).exit_code == 0
    client.post("/logout")
    assert to_password_step(client, "199001012020011001", "3273010101900001").location == "/password/new"


def test_cli_init_db_creates_every_table_and_a_second_run_keeps_the_data(app):
    import migrations

    tables = {model._meta.table_name for model in models.ALL_MODELS}
    with models.db.connection_context():
        models.db.drop_tables(models.ALL_MODELS)
        models.db.execute_sql(f"DROP TABLE {migrations.HISTORY_TABLE}")
        assert models.is_empty()
    first = app.test_cli_runner().invoke(args=["init-db"])
    assert first.exit_code == 0 and "Basis data siap." in first.output
    with models.db.connection_context():
        assert tables <= set(models.db.get_tables())
        assert migrations.pending(models.db.obj) == []  # a new database needs no migration
        make_employee()
    again = app.test_cli_runner().invoke(args=["init-db"])
    assert again.exit_code == 0 and "Basis data siap." in again.output
    with models.db.connection_context():
        assert [e.nama for e in models.Employee.select()] == ["Budi Santoso"]


def test_demo_seed_has_history_and_valid_pdfs(make_app):
    make_app(DEMO=True)
    with models.db.connection_context():
        budi = models.Employee.by_nip("199001012020011001")
        assert models.PositionHistory.of(budi).count() == 2 and models.RankHistory.of(budi).count() == 1
        documents = list(models.Document.select().where(models.Document.employee == budi))
        assert len(documents) == 2 and all(models.is_pdf(bytes(d.content)) for d in documents)
    make_app(DEMO=True)  # seeding again adds nothing twice
    with models.db.connection_context():
        assert models.PositionHistory.of(models.Employee.by_nip("199001012020011001")).count() == 2


def test_nul_characters_never_reach_the_views(app):
    """PostgreSQL refuses text holding NUL: a typed or pasted one would be a 500 there."""
    from flask import request

    with app.test_request_context("/login?next=/dash%00board", method="POST", data={"nip": "1990\x000101"}):
        assert request.args["next"] == "/dash\ufffdboard" and request.form["nip"] == "1990\ufffd0101"
    response = app.test_client().get("/admin/pegawai/1990%000101")
    assert response.status_code == 404 and "Halaman tidak ditemukan" in response.get_data(as_text=True)
