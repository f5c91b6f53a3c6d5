"""A successful htmx POST answers with the next page itself and pushes its URL (one round
trip per step on a slow link); a plain form still gets its 303. The answer carries the
same headers, title and fresh CSRF token as that page loaded on its own."""

import re

import pytest

from tests.helpers import NIK, NIP, PASSWORD, code, last_code, login, secret_from

HTMX = {"HX-Request": "true"}
SAME_AS_A_PAGE = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
                  "Cache-Control", "Vary", "Content-Type")


def title(response) -> str:
    return re.search(r"<title>(.*?)</title>", response.get_data(as_text=True)).group(1)


def csrf_token(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def assert_answered_with(response, path: str, page_title: str):
    """The next page, whole, in the answer to the POST; its URL pushed, nothing to load after."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["HX-Push-Url"] == path
    assert response.headers["HX-Retarget"] == "body"
    assert response.headers["HX-Reswap"].startswith("innerHTML")
    assert "HX-Redirect" not in response.headers and response.location is None
    body = response.get_data(as_text=True)
    assert body.startswith("<!doctype html>") and '<html lang="id">' in body
    assert title(response) == f"{page_title} · Portal ASN Digital"


def test_every_step_of_the_first_sign_in_answers_with_the_next_page(client, employee, clock):
    response = login(client, NIP, NIK, **HTMX)
    assert_answered_with(response, "/login/kode", "Kode verifikasi masuk pertama")
    assert 'id="code-step"' in response.get_data(as_text=True)

    response = client.post("/login/kode", data={"code": last_code(), "new_password": PASSWORD,
                                                "confirm_password": PASSWORD}, headers=HTMX)
    assert_answered_with(response, "/mfa/setup", "Pasang aplikasi autentikator")
    assert "Kata sandi baru tersimpan." in response.get_data(as_text=True)  # the message rides along
    assert "Kata sandi baru tersimpan." not in client.get("/mfa/setup").get_data(as_text=True)  # shown once

    secret = secret_from(client.get("/mfa/setup/akun").get_data(as_text=True))
    response = client.post("/mfa/setup", data={"otp": code(secret), "device_name": ""}, headers=HTMX)
    assert_answered_with(response, "/mfa/kode-pemulihan", "Kode pemulihan")
    assert "Autentikator berhasil diaktifkan" in response.get_data(as_text=True)

    response = client.post("/mfa/kode-pemulihan/selesai", headers=HTMX)
    assert_answered_with(response, "/dashboard", "Profil")
    assert 'id="account-ready"' in response.get_data(as_text=True)
    assert 'id="account-ready"' not in client.get("/dashboard").get_data(as_text=True)  # shown once


def test_a_code_page_from_before_the_upgrade_answers_with_the_password_page(client, employee):
    login(client, NIP, NIK)
    response = client.post("/login/kode", data={"code": last_code()}, headers=HTMX)
    assert_answered_with(response, "/password/new", "Buat kata sandi baru")
    response = client.post("/password/new", data={"new_password": PASSWORD, "confirm_password": PASSWORD},
                           headers=HTMX)
    assert_answered_with(response, "/mfa/setup", "Pasang aplikasi autentikator")


def test_the_otp_step_answers_with_the_dashboard(client, enrolled, clock):
    response = login(client, NIP, PASSWORD, **HTMX)
    assert_answered_with(response, "/login/otp", "Kode OTP")
    response = client.post("/login/otp", data={"otp": code(enrolled)}, headers=HTMX)
    assert_answered_with(response, "/dashboard", "Profil")
    assert "Budi Santoso" in response.get_data(as_text=True)


def test_logout_answers_with_the_login_page(client, enrolled, clock):
    login(client, NIP, PASSWORD)
    client.post("/login/otp", data={"otp": code(enrolled)})
    response = client.post("/logout", headers=HTMX)
    assert_answered_with(response, "/login", "Masuk")
    assert "Anda telah keluar" in response.get_data(as_text=True)
    assert client.get("/dashboard").location.startswith("/login")


def test_without_htmx_the_303_stays(client, employee):
    response = login(client, NIP, NIK)
    assert response.status_code == 303 and response.location == "/login/kode"
    assert not response.data.strip() or b"<title>Redirecting" in response.data
    assert "HX-Push-Url" not in response.headers


def test_a_step_the_sign_in_is_past_answers_with_the_step_it_is_at(client, employee):
    login(client, NIP, NIK)
    client.post("/login/kode", data={"code": last_code()})
    response = client.post("/login/kode", data={"code": "123456"}, headers=HTMX)  # a stale tab
    assert_answered_with(response, "/password/new", "Buat kata sandi baru")


def test_the_answer_has_the_headers_of_the_page_loaded_on_its_own(client, employee):
    response = login(client, NIP, NIK, **HTMX)
    page = client.get("/login/kode")
    for name in SAME_AS_A_PAGE:
        assert response.headers.get(name) == page.headers.get(name), name
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]


def test_the_answer_is_compressed_like_a_page(client, employee):
    response = login(client, NIP, NIK, **HTMX, **{"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(response.data) < 5 * 1024


def test_the_csrf_token_of_the_answer_is_the_new_sessions(make_app, employee):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    before = csrf_token(client.get("/login"))
    response = client.post("/login", data={"nip": NIP, "password": NIK, "csrf_token": before}, headers=HTMX)
    assert_answered_with(response, "/login/kode", "Kode verifikasi masuk pertama")
    after = csrf_token(response)
    assert after != before
    assert client.post("/login/kode", data={"code": last_code(), "csrf_token": before}).status_code == 400
    response = client.post("/login/kode", data={"code": last_code(), "csrf_token": after}, headers=HTMX)
    assert_answered_with(response, "/password/new", "Buat kata sandi baru")


@pytest.mark.parametrize("restore", [True, False], ids=["history-restore", "targeted"])
def test_a_history_restore_gets_the_whole_page(client, employee, restore):
    login(client, NIP, NIK)
    headers = {**HTMX, "HX-History-Restore-Request": "true"} if restore else HTMX
    body = client.get("/login/kode", headers=headers).get_data(as_text=True)
    assert ('<html lang="id">' in body) is restore
    assert 'id="code-step"' in body


def test_the_page_answering_a_step_knows_its_own_address(client, enrolled, clock):
    """The menu marks the page the answer shows, not the URL the form posted to."""
    login(client, NIP, PASSWORD)
    response = client.post("/login/otp", data={"otp": code(enrolled)}, headers=HTMX)
    current = re.findall(r'<a href="([^"]+)" aria-current="page"', response.get_data(as_text=True))
    assert current == ["/dashboard"]


def test_an_expired_step_answers_with_the_login_page(client, employee, clock):
    login(client, NIP, NIK)
    clock.advance(minutes=31)
    response = client.post("/login/kode", data={"code": last_code()}, headers=HTMX)
    assert_answered_with(response, "/login", "Masuk")
    assert "Waktu untuk menyelesaikan proses masuk sudah habis" in response.get_data(as_text=True)


def test_a_step_that_signs_in_for_an_app_still_sends_the_browser_on(client, enrolled, clock):
    """An app's sign-in ends at the app: its address is not a page of the portal."""
    next_url = "/dashboard/notifikasi?page=2"
    client.post("/login", data={"nip": NIP, "password": PASSWORD, "next": next_url})
    response = client.post("/login/otp", data={"otp": code(enrolled)}, headers=HTMX)
    assert response.headers["HX-Redirect"] == next_url
