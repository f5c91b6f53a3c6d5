"""The console (views/admin.py): who may open which route, employees, roles, the audit
log, and the create-admin command."""

import csv
import io
import re
from dataclasses import replace
from datetime import date, datetime
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings

import models
from tests.helpers import (
    ADMIN_NIP,
    HELPDESK_NIK,
    HELPDESK_NIP,
    NIK,
    NIP,
    PASSWORD,
    code,
    first_login,
    login,
    make_employee,
)
from tests.strategies import junk
from views.admin import audit_log as admin_audit_log
from views.admin import employees as admin_employees
from views.admin.helpdesk import ACTIONS

# The least role each console endpoint needs. A route missing here fails
# test_every_console_route_is_in_the_matrix, so a new route cannot be forgotten.
MINIMUM_ROLE = {
    "admin.index": "helpdesk",
    "admin.employees": "helpdesk",
    "admin.employee": "helpdesk",
    "admin.action": "helpdesk",
    "admin.action_post": "helpdesk",
    "admin.employee_data_post": "admin",
    "admin.role_post": "admin",
    "admin.upload": "admin",
    "admin.upload_post": "admin",
    "admin.audit_log": "admin",
    "admin.audit_export": "admin",
    "admin.history_upload": "admin",
    "admin.history_upload_post": "admin",
    "admin.document_post": "admin",
    "admin.document_delete": "admin",
    "admin.document_download": "admin",
    "admin.leave_requests": "admin",
    "admin.leave_decide": "admin",
    "admin.registrations": "helpdesk",
    "admin.registration_decide": "helpdesk",
    "admin.activation_letters": "admin",
    "admin.activation_letters_post": "admin",
    "admin.messages": "admin",
    "admin.apps": "admin",
    "admin.app_add": "admin",
    "admin.app_secret_rotate": "admin",
    "admin.app_toggle": "admin",
    "admin.request_queue": "admin",  # the reviewers of every kind, unless ASN_LAYANAN_FILE says otherwise
    "admin.request_review": "admin",
    "admin.request_assign": "admin",
    "admin.request_decide": "admin",
    "admin.request_document": "admin",
    "admin.request_documents": "admin",
}
RANK = {"pegawai": 0, "helpdesk": 1, "admin": 2}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def console_routes(app, nip=NIP):
    """(method, url, endpoint) for every route of the console blueprint, every method,
    every value of the `action` argument."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] != "admin":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for action in ACTIONS if "action" in rule.arguments else [None]:
                # The target fixture's documents 1 and 2 (2 is the one deleted), leave request 1
                # and service request 2 (with document 1).
                values = {"nip": nip, "action": action, "document_id": 2 if "hapus" in rule.rule else 1,
                          "request_id": 2 if rule.endpoint.startswith("admin.request_") else 1, "client_id": 1}
                with app.test_request_context():
                    url = app.url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})
                routes.append((method, url, rule.endpoint))
    return routes


def is_login_redirect(response):
    return response.status_code == 302 and response.location.startswith("/login")


def audit_events(nip=NIP):
    with models.db.connection_context():
        return [e.event for e in models.AuditEvent.for_nip(nip)][::-1]


@pytest.fixture
def target(app, clock):
    """An ordinary employee with an account, the one operators act on."""
    with models.db.connection_context():
        employee = make_employee()
        models.Account.for_employee(employee)
        for jenis in ("SK CPNS", "SK PNS"):
            models.Document.create(employee=employee, jenis=jenis, filename="sk.pdf", size=len(PDF), content=PDF)
        models.LeaveRequest.create(employee=employee, jenis="tahunan", start=date(2026, 12, 7),
                                   end=date(2026, 12, 8), reason="Keluarga")
        transfer = models.ServiceRequest.create(employee=employee, kind="mutasi", subkind="antar_unit",
                                                status="diajukan", submitted_at=datetime(2026, 11, 20))
        models.RequestDocument.create(request=transfer, requirement="surat_permohonan", document=1)
        models.RegistrationRequest.submit(employee, "budi.baru@example.go.id", "")
        models.OidcClient.register("e-Kinerja", ["https://ekinerja.example.go.id/cb"])  # app 1
    return employee


def test_every_console_route_is_in_the_matrix(app):
    endpoints = {endpoint for _, _, endpoint in console_routes(app)}
    assert endpoints == set(MINIMUM_ROLE)
    assert len(console_routes(app)) >= 17  # four actions × GET and POST included


@pytest.mark.parametrize("identity", ["anonymous", "half-authenticated", "pegawai", "helpdesk", "admin"])
def test_access_matrix(app, client, target, clock, identity, as_role):
    if identity == "half-authenticated":
        as_role("admin", client=client)
        client.post("/logout")
        clock.advance(seconds=30)
        assert login(client, ADMIN_NIP, PASSWORD).location == "/login/otp"  # password only
    elif identity != "anonymous":
        client = as_role(identity)
    problems = []
    for method, url, endpoint in console_routes(app):
        response = client.open(url, method=method, data={})
        if identity in ("anonymous", "half-authenticated"):
            ok = is_login_redirect(response)
        elif RANK[identity] < RANK[MINIMUM_ROLE[endpoint]]:
            ok = response.status_code == 403
        else:
            ok = response.status_code in (200, 302, 303, 422) and not is_login_redirect(response)
        if not ok:
            problems.append(f"{identity} {method} {url}: {response.status_code}")
    assert not problems
    if identity in ("anonymous", "half-authenticated", "pegawai"):
        with models.db.connection_context():
            assert models.Account.get(models.Account.employee == target).role == "pegawai"


def test_denied_page_is_indonesian(as_role, target, clock):
    client = as_role("pegawai")
    response = client.get("/admin/pegawai")
    assert response.status_code == 403 and "Akses ditolak" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["helpdesk", "admin"])
def test_nobody_acts_on_their_own_account(app, as_role, clock, role):
    client = as_role(role)
    own = [(m, u, e) for m, u, e in console_routes(app, nip=ADMIN_NIP)
           if ADMIN_NIP in u and e != "admin.employee"]
    assert len(own) >= 10
    for method, url, _ in own:
        assert client.open(url, method=method, data={"role": "pegawai"}).status_code == 403, url
    page = client.get(f"/admin/pegawai/{ADMIN_NIP}").get_data(as_text=True)
    assert "akun Anda sendiri" in page and "Beri kata sandi sementara" not in page
    with models.db.connection_context():
        assert models.Account.get().role == role


def test_helpdesk_cannot_act_on_staff_accounts(app, as_role, clock):
    with models.db.connection_context():
        other = make_employee(nip=HELPDESK_NIP, nik=HELPDESK_NIK, nama="Admin Lain")
        models.Account.for_employee(other).set_role("admin")
    client = as_role("helpdesk")
    for method, url, endpoint in console_routes(app, nip=HELPDESK_NIP):
        if endpoint.startswith("admin.action"):
            assert client.open(url, method=method, data={}).status_code == 403, url
    page = client.get(f"/admin/pegawai/{HELPDESK_NIP}").get_data(as_text=True)
    assert "hanya dapat diubah oleh admin" in page


def test_every_change_is_a_post_with_csrf(app, as_role, target, clock):
    client = as_role("admin")
    app.config["WTF_CSRF_ENABLED"] = True
    posts = [(u, e) for m, u, e in console_routes(app) if m == "POST"]
    assert {e for _, e in posts} == {"admin.action_post", "admin.employee_data_post", "admin.role_post",
                                     "admin.upload_post", "admin.history_upload_post", "admin.document_post",
                                     "admin.document_delete", "admin.leave_decide", "admin.registration_decide",
                                     "admin.activation_letters_post", "admin.app_add", "admin.app_secret_rotate",
                                     "admin.app_toggle", "admin.request_assign", "admin.request_decide"}
    form = {"verifikasi": "ktp", "alasan": "ponsel hilang", "role": "admin", "status": "aktif",
            "email": "x@example.go.id"}
    for url, _ in posts:
        response = client.post(url, data=form)
        assert response.status_code == 400 and "tidak sah" in response.get_data(as_text=True), url
    page = client.get(f"/admin/pegawai/{NIP}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(f"/admin/pegawai/{NIP}/peran", data={"role": "helpdesk", "csrf_token": token})
    assert response.status_code == 303
    with models.db.connection_context():
        assert models.Account.get(models.Account.employee == target).role == "helpdesk"
        assert models.Employee.by_nip(NIP).email == "budi@example.go.id"


def test_console_link_only_for_staff(client, target, clock, as_role):
    first_login(client)
    assert "Konsol" not in client.get("/dashboard").get_data(as_text=True)
    client.post("/logout")
    as_role("helpdesk", client=client)
    assert 'href="/admin/pegawai">Konsol helpdesk' in client.get("/dashboard").get_data(as_text=True)


def test_role_taken_away_takes_effect_at_once(as_role, target, clock):
    client = as_role("helpdesk")
    assert client.get("/admin/pegawai").status_code == 200
    with models.db.connection_context():
        models.Account.get(models.Account.employee == models.Employee.by_nip(ADMIN_NIP)).set_role("pegawai")
    assert client.get("/admin/pegawai").status_code == 403


def test_deactivated_staff_refused(as_role, target, clock):
    client = as_role("admin")
    with models.db.connection_context():
        models.Employee.by_nip(ADMIN_NIP).update_data({"status": "pensiun"})
    assert client.get("/admin/pegawai").status_code == 403


# --------------------------------------------------------------------------- employees


def many_employees(n):
    with models.db.connection_context():
        for i in range(1, n + 1):
            make_employee(nip=f"19800101200501{1 + i % 2}{i:03d}", nik=f"32730101018{i:05d}",
                          nama=f"Pegawai {i:02d}")


def test_search_by_nip_or_name_without_javascript(as_role, target):
    as_admin = as_role("admin")
    many_employees(3)
    page = as_admin.get("/admin/pegawai").get_data(as_text=True)
    assert '<form method="get" action="/admin/pegawai" role="search"' in page
    assert 'name="q"' in page and "hx-get" in page
    by_name = as_admin.get("/admin/pegawai?q=budi").get_data(as_text=True)
    assert "Budi Santoso" in by_name and "Pegawai 01" not in by_name
    by_nip = as_admin.get("/admin/pegawai?q=1990 0101 2020").get_data(as_text=True)
    assert f'href="/admin/pegawai/{NIP}"' in by_nip and "Pegawai 01" not in by_nip
    assert "0 pegawai" in as_admin.get("/admin/pegawai?q=tidak-ada").get_data(as_text=True)


def test_live_search_answers_a_small_fragment(as_role, target):
    as_admin = as_role("admin")
    many_employees(30)
    response = as_admin.get("/admin/pegawai?q=pegawai", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.startswith('<div id="hasil">') and "<html" not in body
    assert body.count("<tr>") == admin_employees.EMPLOYEES_PER_PAGE + 1  # header row
    assert len(response.data) < 5 * 1024
    assert 'href="/admin/pegawai?page=2&amp;q=pegawai"' in body


def test_pagination(as_role, target):
    as_admin = as_role("admin")
    many_employees(45)  # 46 with Budi, the admin makes 47
    first = as_admin.get("/admin/pegawai").get_data(as_text=True)
    assert "Halaman 1 dari 3" in first and "Pegawai 01" in first and 'rel="prev"' not in first
    last = as_admin.get("/admin/pegawai?page=3").get_data(as_text=True)
    assert "Halaman 3 dari 3" in last and 'rel="next"' not in last and last.count('<td class="nowrap">') == 7
    assert "Halaman 3 dari 3" in as_admin.get("/admin/pegawai?page=99").get_data(as_text=True)
    assert "Halaman 1 dari 3" in as_admin.get("/admin/pegawai?page=x").get_data(as_text=True)


def test_employee_page_shows_master_data_account_state_and_events(client, target, clock, as_role):
    secret = first_login(client, NIP, NIK)
    client.post("/logout")
    clock.advance(seconds=30)
    stranger = client.application.test_client()
    for _ in range(5):
        login(stranger, NIP, "Salah!123")
    as_role("helpdesk", client=client)
    page = client.get(f"/admin/pegawai/{NIP}").get_data(as_text=True)
    assert "Budi Santoso" in page and "Diskominfo" in page and "III/a" in page
    # Only the last four digits: the other twelve are region and birth date, which the NIP gives away.
    assert "••••••••••••0001" in page and NIK[:12] not in page and "327301" not in page
    state = page.split('id="account-state"')[1].split("</dl>")[0]
    assert "pertama masuk 23-11-2026 09:00 WIB" in state
    assert "sudah dibuat" in state
    assert "Ponsel pribadi — diaktifkan 23-11-2026 09:00 WIB" in state
    assert "ya, untuk perangkat yang belum dikenal, sampai 23-11-2026 09:15 WIB" in state
    assert "akun terkunci" in page and "masuk gagal" in page and "MFA diaktifkan" in page
    assert "Buka kunci akun" in page and "Atur ulang MFA" in page
    assert "Ubah kontak dan status" not in page  # helpdesk: no admin forms
    assert secret not in page


def test_employee_page_without_account(as_role, target):
    as_admin = as_role("admin")
    with models.db.connection_context():
        make_employee(nip=HELPDESK_NIP, nik=HELPDESK_NIK, nama="Belum Masuk")
    page = as_admin.get(f"/admin/pegawai/{HELPDESK_NIP}").get_data(as_text=True)
    assert "belum pernah masuk" in page
    assert "Beri kata sandi sementara" in page and "Buka kunci akun" not in page


def test_unknown_employee_is_404(as_role, target):
    as_admin = as_role("admin")
    assert as_admin.get("/admin/pegawai/199901012020011999").status_code == 404


def test_admin_edits_contact_and_status(as_role, target):
    as_admin = as_role("admin")
    response = as_admin.post(f"/admin/pegawai/{NIP}/data", data={
        "email": "Budi.Baru@Example.go.id", "telepon": "0813-1111-2222", "status": "aktif"})
    assert response.status_code == 303 and response.location == f"/admin/pegawai/{NIP}"
    with models.db.connection_context():
        employee = models.Employee.by_nip(NIP)
        assert (employee.email, employee.telepon) == ("budi.baru@example.go.id", "081311112222")
    assert audit_events()[-1] == "employee.updated"
    assert "Data pegawai tersimpan" in as_admin.get(response.location).get_data(as_text=True)


def test_invalid_edit_shows_messages_next_to_fields(as_role, target):
    as_admin = as_role("admin")
    response = as_admin.post(f"/admin/pegawai/{NIP}/data", data={
        "email": "bukan-email", "telepon": "12345", "status": "cuti"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="email-error"' in page and 'id="telepon-error"' in page and 'id="status-error"' in page
    assert 'value="bukan-email"' in page and 'aria-invalid="true"' in page
    with models.db.connection_context():
        assert models.Employee.by_nip(NIP).email == "budi@example.go.id"


def test_deactivation_ends_the_sessions(client, target, clock, as_role):
    first_login(client)
    with models.db.connection_context():
        assert models.SessionRecord.select().count() == 1
    admin_client = as_role("admin")
    admin_client.post(f"/admin/pegawai/{NIP}/data", data={"email": "", "telepon": "", "status": "pensiun"})
    assert client.get("/dashboard").status_code == 302
    with models.db.connection_context():
        assert models.AuditEvent.get(models.AuditEvent.event == "employee.updated").detail.endswith(
            "status aktif → pensiun")


def test_admin_assigns_roles(as_role, target):
    as_admin = as_role("admin")
    response = as_admin.post(f"/admin/pegawai/{NIP}/peran", data={"role": "helpdesk"})
    assert response.status_code == 303
    with models.db.connection_context():
        assert models.Account.get(models.Account.employee == target).role == "helpdesk"
        event = models.AuditEvent.get(models.AuditEvent.event == "role.changed")
        assert (event.nip, event.actor_nip, event.detail) == (NIP, ADMIN_NIP, "pegawai → helpdesk")
    assert as_admin.post(f"/admin/pegawai/{NIP}/peran", data={"role": "raja"}).status_code == 422


def test_role_for_an_employee_who_never_signed_in(as_role, target):
    as_admin = as_role("admin")
    with models.db.connection_context():
        make_employee(nip=HELPDESK_NIP, nik=HELPDESK_NIK)
    as_admin.post(f"/admin/pegawai/{HELPDESK_NIP}/peran", data={"role": "helpdesk"})
    with models.db.connection_context():
        account = models.Account.get(models.Account.employee == models.Employee.by_nip(HELPDESK_NIP))
        assert account.role == "helpdesk" and account.password_hash is None


def test_console_pages_have_no_inline_script_or_style(as_role, target):
    as_admin = as_role("admin")
    for url in ["/admin/pegawai", f"/admin/pegawai/{NIP}", f"/admin/pegawai/{NIP}/reset-mfa",
                "/admin/pegawai/unggah", "/admin/audit"]:
        page = as_admin.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), url
        assert " style=" not in page and " onclick=" not in page, url
        assert 'name="viewport"' in page


# --------------------------------------------------------------------------- audit log


def failed_login_at(moment):
    with models.db.connection_context():
        models.AuditEvent.create(created_at=moment, event="login.failed", nip=NIP)


def test_audit_log_filters(as_role, target, clock):
    as_admin = as_role("admin")
    failed_login_at(datetime(2026, 11, 23, 2, 0))
    failed_login_at(datetime(2026, 11, 25, 2, 0))
    page = as_admin.get(f"/admin/audit?nip={NIP}").get_data(as_text=True)
    assert "2 peristiwa" in page and "masuk gagal" in page
    assert "1 peristiwa" in as_admin.get(f"/admin/audit?nip={NIP}&dari=2026-11-25").get_data(as_text=True)
    assert "1 peristiwa" in as_admin.get(f"/admin/audit?nip={NIP}&sampai=2026-11-23").get_data(as_text=True)
    by_event = as_admin.get("/admin/audit?event=mfa.enrolled").get_data(as_text=True)
    assert "1 peristiwa" in by_event and ADMIN_NIP in by_event
    # The operator's NIP finds what they did, too.
    as_admin.post(f"/admin/pegawai/{NIP}/peran", data={"role": "helpdesk"})
    assert "peran diubah" in as_admin.get(f"/admin/audit?nip={ADMIN_NIP}").get_data(as_text=True)


def test_audit_log_day_boundaries_are_wib(as_role, target, clock):
    # 23 Nov 2026 18:30 UTC is already 24 Nov in Western Indonesia Time.
    as_admin = as_role("admin")
    failed_login_at(datetime(2026, 11, 23, 18, 30))
    page = as_admin.get(f"/admin/audit?nip={NIP}&dari=2026-11-24&sampai=2026-11-24").get_data(as_text=True)
    assert "1 peristiwa" in page
    assert "0 peristiwa" in as_admin.get(f"/admin/audit?nip={NIP}&sampai=2026-11-23").get_data(as_text=True)


def test_audit_log_invalid_filters(as_role, target):
    as_admin = as_role("admin")
    response = as_admin.get("/admin/audit?nip=abc&dari=23/11/2026&sampai=")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "NIP hanya berisi angka" in page and "TTTT-BB-HH" in page
    response = as_admin.get("/admin/audit?dari=2026-11-24&sampai=2026-11-23")
    assert response.status_code == 422 and "tidak boleh sebelum" in response.get_data(as_text=True)
    assert as_admin.get("/admin/audit.csv?dari=kemarin").status_code == 422


def test_audit_log_pagination(as_role, target):
    as_admin = as_role("admin")
    with models.db.connection_context():
        for i in range(60):
            models.AuditEvent.record("login.failed", nip=NIP, detail=f"percobaan {i}")
    pages = -(-60 // admin_audit_log.EVENTS_PER_PAGE)
    first = as_admin.get(f"/admin/audit?nip={NIP}").get_data(as_text=True)
    assert "60 peristiwa" in first and f"Halaman 1 dari {pages}" in first and "percobaan 59" in first
    assert first.count("<tr>") == admin_audit_log.EVENTS_PER_PAGE + 1  # header row
    last = as_admin.get(f"/admin/audit?nip={NIP}&page={pages}").get_data(as_text=True)
    assert "percobaan 0<" in last and "percobaan 59" not in last and 'rel="next"' not in last
    assert f'href="/admin/audit?page=2&amp;nip={NIP}"' in first


def test_audit_export_csv(as_role, target):
    as_admin = as_role("admin")
    with models.db.atomic():
        for i in range(2500):  # more than one streamed chunk
            models.AuditEvent.record("login.failed", nip=NIP, detail=f"percobaan {i}")
        models.AuditEvent.record("login.failed", nip=NIP, user_agent="=HYPERLINK(\"http://x\")")
    response = as_admin.get(f"/admin/audit.csv?nip={NIP}&event=login.failed",
                            headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="log-audit-')
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffwaktu,peristiwa,nip,petugas,ip,user_agent,keterangan")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 2502 and rows[1][1] == "login.failed" and rows[1][2] == NIP
    assert rows[1][5] == "'=HYPERLINK(\"http://x\")"  # never a formula in a spreadsheet
    assert rows[-1][6] == "percobaan 0"
    with models.db.connection_context():
        exported = models.AuditEvent.get(models.AuditEvent.event == "audit.exported")
        assert exported.actor_nip == ADMIN_NIP and f"nip={NIP}" in exported.detail


# --------------------------------------------------------------------------- create-admin


def test_cli_create_admin_gives_a_temporary_password_once(app, clock):
    with models.db.connection_context():
        make_employee()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "19900101 202001 1 001"])
    assert result.exit_code == 0 and "sekarang admin" in result.output
    password = re.search(r"berlaku 24 jam, wajib diganti saat masuk\): (\S+)", result.output).group(1)
    client = app.test_client()
    assert login(client, NIP, NIK).status_code == 422  # the NIK no longer works
    assert login(client, NIP, password).location == "/password/new"
    with models.db.connection_context():
        account = models.Account.get()
        assert account.role == "admin" and account.must_change_password
    assert audit_events()[:2] == ["role.changed", "password.reset"]


def test_cli_create_admin_keeps_an_own_password(app, client, clock):
    with models.db.connection_context():
        make_employee()
    secret = first_login(client)
    client.post("/logout")
    result = app.test_cli_runner().invoke(args=["create-admin", NIP])
    assert result.exit_code == 0 and "Kata sandi sementara" not in result.output
    clock.advance(seconds=30)
    login(client, NIP, PASSWORD)
    assert client.post("/login/otp", data={"otp": code(secret)}).location == "/dashboard"
    assert client.get("/admin/pegawai").status_code == 200
    assert "sudah admin" in app.test_cli_runner().invoke(args=["create-admin", NIP]).output


@pytest.mark.parametrize("nip, message", [("123", "18 digit"), ("199901012020011999", "Tidak ada pegawai")])
def test_cli_create_admin_errors(app, nip, message):
    result = app.test_cli_runner().invoke(args=["create-admin", nip])
    assert result.exit_code != 0 and message in result.output


# --------------------------------------------------------------------------- junk

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=junk, b=junk, c=junk, d=junk)
def test_junk_in_console_forms_never_breaks_them(as_role, target, a, b, c, d):
    as_admin = as_role("admin")
    responses = [
        as_admin.get("/admin/pegawai", query_string={"q": a, "page": b}),
        as_admin.get(f"/admin/pegawai/{quote(a, safe='')}"),
        as_admin.get("/admin/audit", query_string={"nip": a, "event": b, "dari": c, "sampai": d, "page": a}),
        as_admin.get("/admin/audit.csv", query_string={"nip": b, "dari": c, "sampai": d}),
        as_admin.post(f"/admin/pegawai/{NIP}/data", data={"email": a, "telepon": b, "status": c}),
        as_admin.post(f"/admin/pegawai/{NIP}/peran", data={"role": d}),
        as_admin.post(f"/admin/pegawai/{NIP}/akhiri-sesi", data={"verifikasi": a, "alasan": b}),
        as_admin.post(f"/admin/pegawai/{NIP}/kata-sandi-sementara",
                      data={"verifikasi": [c, "sk"], "alasan": d}),
    ]
    for response in responses:
        assert response.status_code < 500
        if response.mimetype == "text/html":  # the CSV download is data, never rendered as a page
            assert "<script>alert(1)" not in response.get_data(as_text=True)


def test_console_menu_by_role(as_role, monkeypatch):
    def menu(client):
        page = client.get("/admin/pegawai").get_data(as_text=True)
        return re.findall(r">([^<]+)</a>", page.split('class="console-nav"')[1].split("</nav>")[0])

    everyone = ["Pegawai", "Verifikasi pendaftaran"]
    assert menu(as_role("admin")) == [*everyone, "Layanan", "Unggah", "Surat aktivasi", "Riwayat", "Cuti",
                                      "Log audit", "Pesan", "Aplikasi", "Beranda"]
    helpdesk = as_role("helpdesk", nip="199202022020011002", nik="3273010101900002")
    assert menu(helpdesk) == [*everyone, "Beranda"]
    monkeypatch.setitem(models.KINDS, "mutasi", replace(models.KINDS["mutasi"], reviewers=("helpdesk", "admin")))
    assert menu(helpdesk) == [*everyone, "Layanan", "Beranda"]
