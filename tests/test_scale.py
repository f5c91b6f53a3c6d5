"""Fast with a million employees and audit events: the queries behind sign-in, the
dashboard, the console's list and searches and the audit page read indexes, never the
whole employee or audit table (EXPLAIN QUERY PLAN on SQLite), and searching by NIP or
name prefix finds what it should. bench/scale.py times the same pages at a million rows."""

import re

import pytest

import models
import views
from tests.databases import ON_POSTGRES
from tests.helpers import NIP, PASSWORD, code, first_login, make_employee

BIG_TABLES = ("employee", "auditevent", "servicerequest")


def statements_of(client, monkeypatch, method, path, **kwargs):
    """The SQL statements (with their parameters) one request runs."""
    seen = []
    real = models.db.obj.execute_sql

    def recording(sql, params=None, *args, **more):
        seen.append((sql, params))
        return real(sql, params, *args, **more)

    monkeypatch.setattr(models.db.obj, "execute_sql", recording)
    response = getattr(client, method)(path, **kwargs)
    monkeypatch.setattr(models.db.obj, "execute_sql", real)
    assert response.status_code in (200, 303, 422), (path, response.status_code)
    return seen


def whole_table_reads(statements, allow_sort=False):
    """Plan lines reading all of employee or auditevent: a SCAN without an index, a walk
    along an index with no LIMIT to stop it, or a sort of every match."""
    found = []
    with models.db.connection_context():
        for sql, params in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            aliases = dict((alias, table) for table, alias in re.findall(r'"(\w+)" AS "(\w+)"', sql))
            if not any(table in BIG_TABLES for table in aliases.values()):
                continue
            plan = [row[3] for row in models.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params or ())]
            for line in plan:
                scanned = re.match(r"SCAN (\w+)", line)
                if scanned and aliases.get(scanned.group(1)) in BIG_TABLES and (
                        "INDEX" not in line or " LIMIT " not in sql):
                    found.append((sql, line))
                if "TEMP B-TREE" in line and not allow_sort:
                    found.append((sql, line))
    return found


@pytest.fixture
def crowd(app, clock):
    """Employees and audit events enough to page through (the plans do not depend on it)."""
    with models.db.connection_context():
        make_employee()
        for i in range(1, 60):
            make_employee(nip=f"19800101200501{1 + i % 2}{i:03d}", nik=f"32730101018{i:05d}",
                          nama=f"Pegawai {i:02d}")
            models.AuditEvent.record("login.failed", nip=f"19800101200501{1 + i % 2}{i:03d}")


pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="EXPLAIN QUERY PLAN is SQLite's")


def test_sign_in_and_dashboard_read_no_whole_table(client, crowd, clock, monkeypatch):
    secret = first_login(client)
    client.post("/logout")
    clock.advance(seconds=30)
    statements = statements_of(client, monkeypatch, "post", "/login", data={"nip": NIP, "password": PASSWORD})
    statements += statements_of(client, monkeypatch, "post", "/login/otp", data={"otp": code(secret)})
    statements += statements_of(client, monkeypatch, "get", "/dashboard")
    statements += statements_of(client, monkeypatch, "get", "/dashboard/keamanan")
    statements += statements_of(client, monkeypatch, "post", "/login", data={"nip": "199202022020011002",
                                                                          "password": PASSWORD})
    assert whole_table_reads(statements) == []


@pytest.mark.parametrize("path", ["/admin/pegawai", "/admin/pegawai?page=2", "/admin/pegawai?q=pegawai 0",
                                  "/admin/pegawai?q=Pégawai", "/admin/pegawai?q=1980 0101",
                                  "/admin/pegawai?q=198001012005011", f"/admin/pegawai/{NIP}",
                                  "/admin/audit", "/admin/audit?page=2", "/admin/audit?event=login.failed",
                                  "/admin/audit?dari=2026-11-01&sampai=2026-11-30"])
def test_console_pages_read_no_whole_table(as_role, crowd, monkeypatch, path):
    client = as_role("admin")
    assert whole_table_reads(statements_of(client, monkeypatch, "get", path)) == []


def test_audit_page_by_nip_reads_only_that_nips_events(as_role, crowd, monkeypatch):
    client = as_role("admin")
    statements = statements_of(client, monkeypatch, "get", f"/admin/audit?nip={NIP}")
    assert whole_table_reads(statements, allow_sort=True) == []


def test_search_by_nip_prefix_and_name_prefix(as_role, crowd):
    client = as_role("admin")
    with models.db.connection_context():
        make_employee(nip="199202022020012002", nik="3273010101900099", nama="Dr. Ásih Ramadhani-Putri, S.Kom.")
        make_employee(nip="199202022020012003", nik="3273010101900098", nama="Dra. Asih Zulaikha")

    def names(q):
        page = client.get("/admin/pegawai", query_string={"q": q}).get_data(as_text=True)
        return re.findall(r"<td>([^<]+)</td><td>[^<]*</td><td>[^<]*</td></tr>", page)

    assert names("dr asih") == ["Dr. Ásih Ramadhani-Putri, S.Kom."]
    assert names("DR. ÁSIH RAMADHANI PUTRI") == ["Dr. Ásih Ramadhani-Putri, S.Kom."]
    assert names("dra") == ["Dra. Asih Zulaikha"]
    assert names("pegawai 5") == [f"Pegawai {i}" for i in range(50, 60)]
    assert names("egawai") == [] and names("!!!") == []
    assert names("1992 0202") == ["Dr. Ásih Ramadhani-Putri, S.Kom.", "Dra. Asih Zulaikha"]  # in NIP order
    assert names("199202022020012003") == ["Dra. Asih Zulaikha"]
    assert names("1992020220200120031") == []


def test_counts_stop_at_the_cap(as_role, crowd, monkeypatch):
    client = as_role("admin")
    monkeypatch.setattr(views, "COUNT_CAP", 25)
    page = client.get("/admin/pegawai").get_data(as_text=True)
    assert "Lebih dari 25 pegawai" in page and "Persempit dengan NIP atau awal nama" in page
    assert "Halaman 1 dari 2" in page
    exact = client.get("/admin/pegawai?q=pegawai 1").get_data(as_text=True)
    assert "10 pegawai cocok" in exact and "Lebih dari" not in exact


def test_audit_filter_lists_every_labelled_event_without_reading_the_table(as_role, crowd, monkeypatch):
    client = as_role("admin")
    statements = statements_of(client, monkeypatch, "get", "/admin/audit")
    assert not any("DISTINCT" in sql for sql, _ in statements)
    page = client.get("/admin/audit").get_data(as_text=True)
    options = re.findall(r'<option value="([a-z_.]+)"', page)
    assert options == sorted(models.EVENT_LABELS)


def test_names_are_normalised_for_search(app):
    with models.db.connection_context():
        employee = make_employee(nama="  Ni  Luh Putu AYU-Lestari, S.Pd. ")
        assert models.Employee.get_by_id(employee.id).nama_cari == "ni luh putu ayu lestari s pd"


@pytest.fixture
def requests_crowd(crowd):
    """Service requests of every kind and status, most of them long decided."""
    with models.db.connection_context():
        employees = [e.id for e in models.Employee.select(models.Employee.id)]
        statuses = ["disetujui"] * 6 + ["ditolak", "diajukan", "diverifikasi", "perlu_perbaikan", "draf"]
        rows = [{"employee": employees[i % len(employees)], "kind": ("kenaikan_pangkat", "mutasi", "cuti")[i % 3],
                 "subkind": "reguler", "status": statuses[i % len(statuses)], "data": "{}",
                 "created_at": models.ServiceRequest.created_at.default(),
                 "submitted_at": models.ServiceRequest.created_at.default()} for i in range(600)]
        models.ServiceRequest.insert_many(rows).execute()
        models.db.execute_sql("ANALYZE")


@pytest.mark.parametrize("path", ["/admin/layanan", "/admin/layanan?jenis=mutasi&status=diajukan",
                                  "/admin/layanan?jenis=mutasi&status=disetujui&page=2",
                                  "/admin/layanan?jenis=kenaikan_pangkat&status=diverifikasi&umur=7",
                                  "/admin/layanan?jenis=kenaikan_pangkat&status=diajukan&unit=Diskominfo"])
def test_the_request_queue_walks_its_index_oldest_first(as_role, requests_crowd, monkeypatch, path):
    """One status: the (kind, status, submitted_at) index gives the rows in queue order.
    "Menunggu" is two statuses: two ranges of it, merged by a sort of the waiting rows only."""
    client = as_role("admin")
    statements = statements_of(client, monkeypatch, "get", path)
    assert any("servicerequest" in sql for sql, _ in statements)
    assert whole_table_reads(statements, allow_sort="status=" not in path) == []


@pytest.mark.parametrize("path", ["/admin/pegawai", "/admin/pegawai?q=pegawai", "/admin/pegawai?q=1980 0101",
                                  "/admin/pegawai?page=2", "/admin/audit", "/admin/audit?event=login.failed",
                                  f"/admin/audit?nip={NIP}&dari=2026-11-01&sampai=2026-11-30&page=2"])
def test_console_lists_run_the_same_statements_for_one_row_or_a_page_full(as_role, clock, monkeypatch, path):
    """One count and one page of rows, whatever the number of rows: nothing per row."""
    client = as_role("admin")
    with models.db.connection_context():
        make_employee(nama="Pegawai Pertama")
        models.AuditEvent.record("login.failed", nip=NIP)
    few = statements_of(client, monkeypatch, "get", path)
    with models.db.connection_context():
        for i in range(1, 120):
            make_employee(nip=f"19800101200501{1 + i % 2}{i:03d}", nik=f"32730101018{i:05d}", nama=f"Pegawai {i:03d}")
            models.AuditEvent.record("login.failed", nip=NIP)
    many = statements_of(client, monkeypatch, "get", path)
    assert [sql for sql, _ in many] == [sql for sql, _ in few]
    assert sum('AS "_wrapped"' in sql for sql, _ in many) == 1  # the count, capped
    assert sum(sql.endswith("LIMIT ? OFFSET ?") for sql, _ in many) == 1  # the page of rows


def test_audit_filter_shows_the_chosen_event(as_role, crowd):
    client = as_role("admin")
    page = client.get("/admin/audit?event=login.failed").get_data(as_text=True)
    assert re.findall(r'<option value="([a-z_.]*)" selected>', page) == ["login.failed"]
    for shown in ("", "no.such.event"):
        page = client.get("/admin/audit", query_string={"event": shown}).get_data(as_text=True)
        assert " selected>" not in page.split('id="event"')[1].split("</select>")[0]
