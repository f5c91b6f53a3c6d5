"""ASN_TIMEZONE: every time on a page or in a mail, and "today", in the portal's zone
(stored times are UTC; the test clock stands at 02:00 UTC, 09:00 WIB, 11:00 WIT)."""

import re
from datetime import datetime

import pytest

import models
from tests.helpers import NIP, PASSWORD, change_password, enroll, first_login, make_employee, to_password_step


@pytest.fixture
def papua(make_app, clock):
    app = make_app(TIMEZONE="Asia/Jayapura")
    with models.db.connection_context():
        make_employee()
    return app


def test_pages_show_times_in_wit(papua):
    client = papua.test_client()
    to_password_step(client)
    change_password(client)
    setup = client.get("/mfa/setup/kode").get_data(as_text=True)
    assert '<time id="server-time" datetime="2026-11-23T11:00:00+09:00">11.00.00</time> WIT' in setup
    enroll(client)
    security_page = client.get("/dashboard/keamanan").get_data(as_text=True)
    assert "masuk 23-11-2026 11:00 WIT" in security_page
    assert "UTC" not in security_page and "WIB" not in security_page


def test_mail_shows_time_in_wit(papua):
    client = papua.test_client()
    first_login(client)
    new = "Teh!Sore2027"
    client.post("/dashboard/keamanan/kata-sandi",
                data={"password": PASSWORD, "new_password": new, "confirm_password": new})
    with models.db.connection_context():
        bodies = [m.body for m in models.Message.select().where(models.Message.nip == NIP)]
    [mail] = [b for b in bodies if "telah diganti" in b and "23-11-2026" in b]
    assert "23-11-2026 11:00 WIT" in mail and "UTC" not in mail


@pytest.mark.parametrize("zone, masa_kerja", [("Asia/Jakarta", "6 tahun 0 bulan"),
                                              ("Asia/Jayapura", "6 tahun 1 bulan")])
def test_today_is_the_date_in_the_portal_zone(make_app, clock, zone, masa_kerja):
    clock.freeze(datetime(2026, 1, 31, 16, 0))  # 23:00 WIB on the 31st, 01:00 WIT on 1 February
    app = make_app(TIMEZONE=zone)
    with models.db.connection_context():
        make_employee()  # TMT CPNS 1 January 2020
    client = app.test_client()
    first_login(client)
    page = client.get("/dashboard").get_data(as_text=True)
    assert re.search(rf'id="masa-kerja">{masa_kerja}', page)


def test_default_zone_is_wib_in_the_console_and_audit_export(clock, as_role):

    client = as_role("admin")
    assert "09:00 WIB" in client.get("/admin/audit").get_data(as_text=True)
    csv_text = client.get("/admin/audit.csv").get_data(as_text=True)
    assert "2026-11-23 09:00:00 WIB" in csv_text


@pytest.mark.parametrize("name, day", [("dari", "0001-01-01"), ("sampai", "9999-12-31")])
def test_audit_dates_at_the_ends_of_the_calendar_are_refused_not_a_500(clock, as_role, name, day):

    client = as_role("admin")
    response = client.get("/admin/audit", query_string={name: day})
    assert response.status_code == 422 and "Tanggal dengan format" in response.get_data(as_text=True)
