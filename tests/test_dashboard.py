"""The employee's own pages: projections, leave rules, no access to another employee's
data, sessions that really end, timeouts, notifications, security and contact changes."""

import re
from datetime import date

import pytest

import models
from tests.helpers import NIP, PASSWORD, code, first_login, login, make_employee

OTHER_NIP, OTHER_NIK = "198507152010012002", "3578015507850002"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def signed_in(client, employee, clock):
    """The employee fully signed in; returns the TOTP secret."""
    return first_login(client)


def other_employee():
    with models.db.connection_context():
        return make_employee(nip=OTHER_NIP, nik=OTHER_NIK, nama="Siti Rahmawati", email="siti@example.go.id")


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


# --------------------------------------------------------------------------- profile


@pytest.mark.parametrize("tmt_pangkat, expected", [
    (date(2021, 4, 1), date(2025, 4, 1)),
    (date(2020, 2, 29), date(2024, 2, 29)),   # leap day to leap day
    (date(2096, 2, 29), date(2100, 2, 28)),   # 2100 is not a leap year
    (date(2019, 10, 31), date(2023, 10, 31)),
])
def test_promotion_projection(tmt_pangkat, expected):
    employee = models.Employee(jenis_asn="PNS", tmt_pangkat=tmt_pangkat, tmt_cpns=date(2010, 1, 1))
    assert employee.next_regular_promotion() == expected


def test_promotion_projection_falls_back_to_tmt_cpns_and_skips_pppk():
    assert models.Employee(jenis_asn="PNS", tmt_cpns=date(2020, 1, 1)).next_regular_promotion() == date(2024, 1, 1)
    assert models.Employee(jenis_asn="PPPK", tmt_cpns=date(2023, 3, 1)).next_regular_promotion() is None


def test_profile_page(client, signed_in):
    html = page(client, "/dashboard")
    assert "Budi Santoso" in html and NIP in html
    assert re.search(r'id="masa-kerja">6 tahun 10 bulan', html)
    assert re.search(r'id="proyeksi-kp">01-04-2025', html) and "4 tahun" in html
    assert "Keluar" in html


def test_pppk_profile_shows_contract(make_app, clock):
    app = make_app()
    with models.db.connection_context():
        make_employee(nip="199505102023212004", nik="5171015005950004", jenis_asn="PPPK",
                      tmt_cpns=date(2023, 3, 1), tmt_pangkat=None, akhir_kontrak=date(2028, 2, 29))
    client = app.test_client()
    first_login(client, "199505102023212004", "5171015005950004")
    html = page(client, "/dashboard")
    assert "01-03-2023 s.d. 29-02-2028" in html and "proyeksi-kp" not in html


def test_history_chronological(client, signed_in):
    with models.db.connection_context():
        employee = models.Employee.by_nip(NIP)
        models.PositionHistory.create(employee=employee, jabatan="Pranata Komputer Ahli Pertama", tmt=date(2022, 1, 1))
        models.PositionHistory.create(employee=employee, jabatan="CPNS Pelaksana", tmt=date(2020, 1, 1))
        models.RankHistory.create(employee=employee, golongan="III/a", pangkat="Penata Muda", tmt=date(2021, 4, 1))
    html = page(client, "/dashboard/riwayat")
    assert html.index("CPNS Pelaksana") < html.index("Pranata Komputer Ahli Pertama")
    assert "III/a" in html


def test_history_import(db):
    make_employee()
    data = ("nip,jenis,jabatan_atau_pangkat,unit_kerja_atau_golongan,tmt,nomor_sk\n"
            f"{NIP},jabatan,Analis,Diskominfo,2020-01-01,SK-1\n"
            f"{NIP},pangkat,Penata Muda,III/a,2021-04-01,SK-2\n"
            f"{NIP},gaji,x,y,2021-04-01,\n"
            "198507152010012002,jabatan,Analis,,2020-01-01,\n").encode()
    report = models.import_history(data)
    assert report.created == 2 and [line for line, _ in report.errors] == [4, 5]
    report = models.import_history(data)
    assert report.updated == 2 and models.PositionHistory.select().count() == 1


# --------------------------------------------------------------------------- documents (IDOR)


def test_documents_only_for_their_owner(client, signed_in):
    other = other_employee()
    with models.db.connection_context():
        mine = models.Document.create(employee=models.Employee.by_nip(NIP), jenis="SK CPNS", nomor="800/1",
                                      filename="sk-cpns.pdf", size=len(PDF), content=PDF)
        theirs = models.Document.create(employee=other, jenis="SK PNS", nomor="800/2", filename="sk-siti.pdf",
                                        size=len(PDF), content=PDF)
    listing = page(client, "/dashboard/dokumen")
    assert "SK CPNS" in listing and "SK PNS" not in listing
    download = client.get(f"/dashboard/dokumen/{mine.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.mimetype == "application/pdf" and "attachment" in download.headers["Content-Disposition"]
    for guess in (theirs.id, theirs.id + 1, 0, 999999):
        assert client.get(f"/dashboard/dokumen/{guess}").status_code == 404


def test_pdf_checked_by_content():
    assert models.is_pdf(PDF)
    assert not models.is_pdf(b"MZ\x90\x00 not a pdf %%EOF")
    assert not models.is_pdf(b"%PDF-1.4 truncated")


# --------------------------------------------------------------------------- leave


def ask_leave(client, start, end, jenis="tahunan", reason="Keperluan keluarga"):
    return client.post("/dashboard/cuti", data={"jenis": jenis, "start": start, "end": end, "reason": reason})


def approve_all():
    with models.db.connection_context():
        models.LeaveRequest.update(status="disetujui").execute()


def test_leave_request_submitted_and_listed(client, signed_in):
    response = ask_leave(client, "2026-12-07", "2026-12-09")
    assert response.location == "/dashboard/cuti"
    html = page(client, "/dashboard/cuti")
    assert "3 hari kerja" in html and "Menunggu persetujuan" in html
    assert re.search(r'id="sisa-cuti">9<', html)


def test_leave_end_before_start(client, signed_in):
    response = ask_leave(client, "2026-12-09", "2026-12-07")
    assert response.status_code == 422
    assert "tidak boleh sebelum tanggal mulai" in response.get_data(as_text=True)


def test_leave_only_weekend(client, signed_in):
    response = ask_leave(client, "2026-12-05", "2026-12-06")
    assert response.status_code == 422 and "hari kerja" in response.get_data(as_text=True)


def test_leave_overlap_with_approved(client, signed_in):
    ask_leave(client, "2026-12-07", "2026-12-09")
    approve_all()
    response = ask_leave(client, "2026-12-09", "2026-12-10", jenis="alasan_penting")
    assert response.status_code == 422 and "Bertabrakan" in response.get_data(as_text=True)
    assert ask_leave(client, "2026-12-10", "2026-12-10", jenis="alasan_penting").status_code == 303


def test_annual_leave_quota_of_twelve_days(client, signed_in):
    assert ask_leave(client, "2026-03-02", "2026-03-13").status_code == 303  # 10 working days
    approve_all()
    over = ask_leave(client, "2026-06-01", "2026-06-03")  # 3 more: 13 > 12
    assert over.status_code == 422
    assert "sisa 2 hari" in over.get_data(as_text=True)
    assert ask_leave(client, "2026-06-01", "2026-06-02").status_code == 303  # exactly 12
    # Another year has its own quota; sick leave is not counted.
    assert ask_leave(client, "2027-01-04", "2027-01-08").status_code == 303
    assert ask_leave(client, "2026-07-06", "2026-07-10", jenis="sakit").status_code == 303


def test_annual_leave_across_new_year_split(client, signed_in):
    response = ask_leave(client, "2026-12-28", "2027-01-04")
    assert response.status_code == 422 and "31 Desember" in response.get_data(as_text=True)


@pytest.mark.parametrize("field, value, message", [
    ("jenis", "liburan", "Pilih jenis cuti"), ("start", "31-12-2026", "tanggal mulai"),
    ("reason", "", "alasan cuti")])
def test_leave_bad_input(client, signed_in, field, value, message):
    data = {"jenis": "tahunan", "start": "2026-12-07", "end": "2026-12-08", "reason": "x", field: value}
    response = client.post("/dashboard/cuti", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_leave_request_of_another_employee_invisible(client, signed_in):
    other = other_employee()
    with models.db.connection_context():
        theirs = models.LeaveRequest.create(employee=other, jenis="sakit", start=date(2026, 12, 1),
                                            end=date(2026, 12, 2), reason="Rahasia Siti")
    assert "Rahasia Siti" not in page(client, "/dashboard/cuti")
    for guess in (theirs.id, theirs.id - 1, theirs.id + 1):
        assert client.get(f"/dashboard/cuti/{guess}").status_code == 404


# --------------------------------------------------------------------------- notifications


def test_notifications_unread_count_and_mark_read(client, signed_in):
    with models.db.connection_context():
        employee = models.Employee.by_nip(NIP)
        first = models.Notification.create(employee=employee, title="Cuti disetujui")
        models.Notification.create(employee=employee, title="Dokumen baru")
    assert '<span class="badge">2</span>' in page(client, "/dashboard")
    fragment = client.post(f"/dashboard/notifikasi/{first.id}/baca", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and body.startswith(f'<li id="notification-{first.id}"')
    assert 'hx-swap-oob="true"' in body and '<span class="badge">1</span>' in body
    assert len(fragment.data) < 5 * 1024
    assert client.post("/dashboard/notifikasi/baca-semua").location == "/dashboard/notifikasi"
    assert "badge" not in page(client, "/dashboard").split("</header>")[0]


def test_notification_of_another_employee_cannot_be_touched(client, signed_in):
    other = other_employee()
    with models.db.connection_context():
        theirs = models.Notification.create(employee=other, title="Milik Siti")
    assert client.post(f"/dashboard/notifikasi/{theirs.id}/baca", headers={"HX-Request": "true"}).status_code == 404
    with models.db.connection_context():
        assert models.Notification.get_by_id(theirs.id).read_at is None


# --------------------------------------------------------------------------- sessions and timeouts


def test_revoking_a_session_ends_it_in_the_other_browser(app, client, signed_in, clock):
    laptop = app.test_client()
    login(laptop, NIP, PASSWORD)
    clock.advance(seconds=30)
    laptop.post("/login/otp", data={"otp": code(signed_in)})
    assert laptop.get("/dashboard").status_code == 200
    html = page(client, "/dashboard/keamanan")
    ids = re.findall(r'action="/dashboard/keamanan/sesi/(\d+)/akhiri"', html)
    assert len(ids) == 2
    with models.db.connection_context():
        laptop_id = max(r.id for r in models.SessionRecord.select())
    assert client.post(f"/dashboard/keamanan/sesi/{laptop_id}/akhiri").location == "/dashboard/keamanan"
    assert laptop.get("/dashboard").location.startswith("/login")
    assert client.get("/dashboard").status_code == 200


def test_sign_out_all_other_sessions(app, client, signed_in, clock):
    others = [app.test_client() for _ in range(2)]
    for other in others:
        login(other, NIP, PASSWORD)
        clock.advance(seconds=30)
        other.post("/login/otp", data={"otp": code(signed_in)})
    client.post("/dashboard/keamanan/sesi/akhiri-lainnya")
    assert all(o.get("/dashboard").status_code == 302 for o in others)
    assert client.get("/dashboard").status_code == 200


def test_cannot_end_another_accounts_session(client, signed_in, app, clock):
    other_employee()
    siti = app.test_client()
    first_login(siti, OTHER_NIP, OTHER_NIK)
    with models.db.connection_context():
        siti_session = max(r.id for r in models.SessionRecord.select())
    assert client.post(f"/dashboard/keamanan/sesi/{siti_session}/akhiri").status_code == 404
    assert siti.get("/dashboard").status_code == 200


def test_idle_timeout(client, signed_in, clock):
    clock.advance(minutes=29)
    assert client.get("/dashboard").status_code == 200
    clock.advance(minutes=31)
    response = client.get("/dashboard/riwayat")
    assert response.location.startswith("/login")
    assert "tidak ada aktivitas selama 30 menit" in page(client, "/login")


def test_absolute_lifetime(make_app, clock):
    app = make_app(SESSION_LIFETIME_HOURS=2)
    with models.db.connection_context():
        make_employee()
    client = app.test_client()
    first_login(client)
    for _ in range(4):
        clock.advance(minutes=25)
        assert client.get("/dashboard").status_code == 200
    clock.advance(minutes=25)
    assert client.get("/dashboard").location.startswith("/login")
    assert "sudah 2 jam" in page(client, "/login")


# --------------------------------------------------------------------------- account security


def test_change_password_needs_current_password(client, signed_in):
    new = "Teh!Sore2027"
    wrong = client.post("/dashboard/keamanan/kata-sandi",
                        data={"password": "Salah!123", "new_password": new, "confirm_password": new})
    assert wrong.status_code == 422 and "Kata sandi sekarang salah" in wrong.get_data(as_text=True)
    ok = client.post("/dashboard/keamanan/kata-sandi",
                     data={"password": PASSWORD, "new_password": new, "confirm_password": new})
    assert ok.location == "/dashboard/keamanan"
    client.post("/logout")
    assert login(client, NIP, new).location == "/login/otp"


def test_change_password_asks_otp_after_ten_minutes(client, signed_in, clock):
    clock.advance(minutes=11)
    client.get("/dashboard")  # stay active
    assert 'name="otp"' in page(client, "/dashboard/keamanan")
    new = "Teh!Sore2027"
    missing = client.post("/dashboard/keamanan/kata-sandi",
                          data={"password": PASSWORD, "new_password": new, "confirm_password": new})
    assert missing.status_code == 422 and "Kode OTP salah" in missing.get_data(as_text=True)
    ok = client.post("/dashboard/keamanan/kata-sandi", data={
        "password": PASSWORD, "otp": code(signed_in), "new_password": new, "confirm_password": new})
    assert ok.location == "/dashboard/keamanan"


def test_add_second_authenticator_and_remove_first(client, signed_in, clock):
    html = page(client, "/dashboard/keamanan/autentikator/baru")
    new_secret = re.search(r"secret=([A-Z2-7]+)", html).group(1)
    assert new_secret != signed_in
    response = client.post("/dashboard/keamanan/autentikator/baru", data={
        "device_name": "Ponsel kantor", "new_otp": code(new_secret), "password": PASSWORD})
    assert response.location == "/dashboard/keamanan"
    html = page(client, "/dashboard/keamanan")
    assert "Ponsel kantor" in html and "Ponsel pribadi" in html
    with models.db.connection_context():
        first = models.Authenticator.get(models.Authenticator.name == "Ponsel pribadi")
    assert client.post(f"/dashboard/keamanan/autentikator/{first.id}/hapus",
                       data={"password": PASSWORD}).location == "/dashboard/keamanan"
    # The remaining one is the last and can't go.
    with models.db.connection_context():
        last = models.Authenticator.get(models.Authenticator.name == "Ponsel kantor")
    refused = client.post(f"/dashboard/keamanan/autentikator/{last.id}/hapus", data={"password": PASSWORD})
    assert refused.status_code == 409 and "terakhir" in refused.get_data(as_text=True)
    client.post("/logout")
    login(client, NIP, PASSWORD)
    clock.advance(seconds=30)
    assert client.post("/login/otp", data={"otp": code(signed_in)}).status_code == 422  # removed device
    assert client.post("/login/otp", data={"otp": code(new_secret)}).location == "/dashboard"


def test_last_twenty_sign_in_events(client, signed_in):
    for _ in range(3):
        login(client, NIP, "Salah!123")
    html = page(client, "/dashboard/keamanan")
    rows = re.findall(r"<tr><td>", html.split('id="sign-in-list"')[1])
    assert 4 <= len(rows) <= 20 and "masuk gagal" in html and "masuk berhasil" in html
    assert "login.failed" not in html and "login.ok" not in html  # words, not event codes


# --------------------------------------------------------------------------- contact details


def newest_code(recipient: str) -> str:
    with models.db.connection_context():
        message = (models.Message.select().where(models.Message.recipient == recipient)
                   .order_by(models.Message.id.desc()).get())
    return re.search(r"^(\d{6})\b", message.body, re.M).group(1)


def test_change_email_verified_on_new_and_old_address(client, signed_in):
    requested = client.post("/dashboard/kontak", data={"field": "email", "value": "Budi.Baru@example.go.id",
                                                       "password": PASSWORD})
    assert requested.status_code == 303
    new, old = newest_code("budi.baru@example.go.id"), newest_code("budi@example.go.id")
    with models.db.connection_context():
        assert models.Employee.by_nip(NIP).email == "budi@example.go.id"  # not yet
    # The new address alone is not enough: the contact on record must confirm too.
    wrong = client.post("/dashboard/kontak/verifikasi", data={"code": new, "old_code": "000000" if old != "000000"
                                                              else "111111"})
    assert wrong.status_code == 422
    with models.db.connection_context():
        assert models.Employee.by_nip(NIP).email == "budi@example.go.id"
    assert client.post("/dashboard/kontak/verifikasi", data={"code": new, "old_code": old}).location == \
        "/dashboard/kontak"
    with models.db.connection_context():
        assert models.Employee.by_nip(NIP).email == "budi.baru@example.go.id"
        notice = models.Message.select().where(models.Message.recipient == "budi@example.go.id").order_by(
            models.Message.id.desc()).get()
    assert "telah diganti" in notice.body and NIP in notice.body


def test_contact_change_needs_the_password(client, signed_in):
    response = client.post("/dashboard/kontak", data={"field": "email", "value": "pencuri@example.com",
                                                      "password": "Salah!123"})
    assert response.status_code == 422 and "Kata sandi sekarang salah" in response.get_data(as_text=True)
    with models.db.connection_context():
        assert not models.Message.select().where(models.Message.recipient == "pencuri@example.com").exists()


def test_change_phone_by_sms(client, signed_in):
    client.post("/dashboard/kontak", data={"field": "telepon", "value": "0813-1111-2222", "password": PASSWORD})
    with models.db.connection_context():
        sms = models.Message.get((models.Message.channel == "sms") & (models.Message.recipient == "081311112222"))
    verification = re.search(r"(\d{6})", sms.body).group(1)
    old = newest_code("budi@example.go.id")
    client.post("/dashboard/kontak/verifikasi", data={"code": verification, "old_code": old})
    with models.db.connection_context():
        assert models.Employee.by_nip(NIP).telepon == "081311112222"


@pytest.mark.parametrize("field, value, message", [
    ("email", "bukan-email", "Alamat email tidak valid"), ("telepon", "12345", "Nomor ponsel tidak valid"),
    ("email", "budi@example.go.id", "sudah email Anda")])
def test_contact_bad_input(client, signed_in, field, value, message):
    response = client.post("/dashboard/kontak", data={"field": field, "value": value})
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_dashboard_pages_need_full_login(client, employee):
    login(client)  # password only
    for url in ("/dashboard", "/dashboard/riwayat", "/dashboard/dokumen", "/dashboard/cuti",
                "/dashboard/notifikasi", "/dashboard/keamanan", "/dashboard/kontak", "/dashboard/dokumen/1"):
        assert client.get(url).location.startswith("/login"), url


def test_notifications_are_paged(client, signed_in):
    with models.db.connection_context():
        employee = models.Employee.by_nip(NIP)
        for i in range(35):
            models.Notification.create(employee=employee, title=f"Pemberitahuan nomor {i}")
    first = page(client, "/dashboard/notifikasi")
    assert first.count("Pemberitahuan nomor") == 30 and "Pemberitahuan nomor 34" in first and "Berikutnya" in first
    second = page(client, "/dashboard/notifikasi?page=2")
    assert second.count("Pemberitahuan nomor") == 5 and "Pemberitahuan nomor 0<" in second
    assert page(client, "/dashboard/notifikasi?page=abc").count("Pemberitahuan nomor") == 30
