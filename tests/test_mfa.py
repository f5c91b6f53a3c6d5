"""MFA enrollment: the QR code, manual key and link, the same secret across errors."""

import logging
import re
from html import unescape

import pyotp

import models
from settings import Settings
from tests.helpers import NIP, PASSWORD, change_password, code, login, otpauth_uri, secret_from, to_password_step


def start_enrollment(client):
    to_password_step(client)
    change_password(client)
    assert client.get("/mfa/setup").status_code == 200  # step 1: install the app
    return client.get("/mfa/setup/akun")


def test_enrollment_page_offers_qr_key_link_and_device_name(client, employee):
    page = start_enrollment(client).get_data(as_text=True)
    uri = otpauth_uri(page)
    parsed = pyotp.parse_uri(uri)
    assert uri.startswith(f"otpauth://totp/Portal%20ASN%20Digital:{NIP}?")
    assert parsed.issuer == "Portal ASN Digital" and parsed.digits == 6 and parsed.interval == 30
    assert len(parsed.secret) == 32
    assert re.search(r'<figure class="qr" id="qr-code"><svg', page)  # inline: no image request
    key = re.search(r'<code id="secret-key">(.+?)</code>', page).group(1)
    groups = re.findall(r'<span class="group">([A-Z2-7]+)</span>', key)  # a group never breaks
    assert "".join(groups) == parsed.secret and len(groups) == 8
    form = client.get("/mfa/setup/kode").get_data(as_text=True)
    assert 'name="device_name"' in form and 'autocomplete="one-time-code"' in form
    assert 'inputmode="numeric"' in form and 'pattern="[0-9 ]*"' in form


def test_same_secret_on_refresh_and_after_wrong_code(client, employee, clock):
    first = secret_from(start_enrollment(client).get_data(as_text=True))
    assert secret_from(client.get("/mfa/setup/akun").get_data(as_text=True)) == first
    wrong = client.post("/mfa/setup", data={"device_name": "HP", "otp": "000000"})
    assert wrong.status_code == 422
    assert "Kode tidak cocok" in wrong.get_data(as_text=True)
    assert secret_from(client.get("/mfa/setup/akun").get_data(as_text=True)) == first
    confirmed = client.post("/mfa/setup", data={"device_name": "HP", "otp": code(first)})
    assert confirmed.location == "/mfa/kode-pemulihan"


def test_wrong_code_htmx_returns_only_the_form(client, employee):
    start_enrollment(client)
    response = client.post("/mfa/setup", data={"device_name": "HP", "otp": "000000"},
                           headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and body.startswith("<title>Kesalahan: ")
    assert '<div id="setup-step">' in body and "<html" not in body
    assert "<svg" not in body  # the QR is not sent again
    assert len(response.data) < 5 * 1024


def test_device_name_and_code_format_checked(client, employee):
    start_enrollment(client)
    response = client.post("/mfa/setup", data={"device_name": "  ", "otp": "12"})
    page = unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "6 digit" in page and 'id="device_name-error"' not in page  # the name is optional
    long_name = client.post("/mfa/setup", data={"device_name": "x" * 41, "otp": "123456"})
    assert "paling banyak 40 karakter" in long_name.get_data(as_text=True)


def test_confirmed_authenticator_is_stored_encrypted_with_its_name(client, employee, clock):
    secret = secret_from(start_enrollment(client).get_data(as_text=True))
    client.post("/mfa/setup", data={"device_name": "Ponsel  Samsung   pribadi", "otp": code(secret)})
    with models.db.connection_context():
        authenticator = models.Authenticator.get()
        assert authenticator.name == "Ponsel Samsung pribadi"
        assert authenticator.confirmed_at == clock.now()
        assert secret not in authenticator.secret_encrypted
        assert authenticator.secret(Settings("test-secret-key")) == secret


def test_enrollment_code_cannot_be_reused_for_login(client, employee, clock):
    secret = secret_from(start_enrollment(client).get_data(as_text=True))
    used = code(secret)
    client.post("/mfa/setup", data={"device_name": "HP", "otp": used})
    client.post("/logout")
    login(client, NIP, PASSWORD)
    assert client.post("/login/otp", data={"otp": used}).status_code == 422


def test_secret_never_logged_or_audited(client, employee, clock, caplog):
    caplog.set_level(logging.DEBUG)
    secret = secret_from(start_enrollment(client).get_data(as_text=True))
    client.post("/mfa/setup", data={"device_name": "HP", "otp": "000000"})
    client.post("/mfa/setup", data={"device_name": "HP", "otp": code(secret)})
    assert secret not in caplog.text
    with models.db.connection_context():
        for event in models.AuditEvent.select():
            assert secret not in f"{event.detail}{event.event}"


def test_account_with_mfa_goes_to_otp_not_enrollment(client, employee, clock):
    secret = secret_from(start_enrollment(client).get_data(as_text=True))
    client.post("/mfa/setup", data={"device_name": "HP", "otp": code(secret)})
    client.post("/logout")
    assert login(client, NIP, PASSWORD).location == "/login/otp"
    assert client.get("/mfa/setup").location == "/login/otp"  # the step this sign-in is at


# --------------------------------------------------------------- steps 1 → 2 → 3 in one page, the account ready


def step_templates(page: str) -> dict:
    """{URL: (title, content)} of the <template>s a set-up step carries for the next steps."""
    return {url: (unescape(title), content) for url, title, content in
            re.findall(r'<template data-step="([^"]+)" data-title="([^"]+)">(.*?)</template>', page, re.S)}


def main_content(page: str) -> str:
    """What a step page shows, without the flashed messages and the next steps' templates."""
    main = re.search(r'</div>\n(.*)</main>', page, re.S).group(1)
    return re.sub(r"<template .*?</template>", "", main, flags=re.S).strip()


def unstamped(html: str) -> str:
    """`html` without what differs from one second to the next: the clock, the CSRF token's timestamp."""
    return re.sub(r'\d\d\.\d\d\.\d\d|datetime="[^"]+"|name="csrf_token" value="[^"]+"', "", html).strip()


def test_each_set_up_step_carries_the_next_steps_as_the_server_renders_them(client, employee, clock):
    to_password_step(client)
    change_password(client)
    install, add, enter = (client.get(url).get_data(as_text=True)
                           for url in ("/mfa/setup", "/mfa/setup/akun", "/mfa/setup/kode"))
    assert list(step_templates(install)) == ["/mfa/setup/akun", "/mfa/setup/kode"]
    assert list(step_templates(add)) == ["/mfa/setup/kode"] and step_templates(enter) == {}
    carried = step_templates(install)
    assert carried["/mfa/setup/akun"][0] == "Tambahkan akun ke aplikasi · Portal ASN Digital"
    assert unstamped(carried["/mfa/setup/akun"][1]) == unstamped(main_content(add))
    assert carried["/mfa/setup/kode"][0] == "Masukkan kode dari aplikasi · Portal ASN Digital"
    assert unstamped(carried["/mfa/setup/kode"][1]) == unstamped(main_content(enter))
    assert 'data-step-link href="/mfa/setup/akun"' in install and 'data-step-link href="/mfa/setup/kode"' in add
    secret = secret_from(carried["/mfa/setup/akun"][1])  # the secret the step 2 page shows, from step 1
    assert client.post("/mfa/setup", data={"otp": code(secret)}).location == "/mfa/kode-pemulihan"


def test_the_first_set_up_page_stays_small(client, employee, clock):
    """Step 1 carries steps 2 and 3 (QR code included): together still less, compressed,
    than the three pages loaded one by one (about 6 KB)."""
    to_password_step(client)
    change_password(client)
    page = client.get("/mfa/setup", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip" and len(page.data) < 4 * 1024


def test_the_dashboard_says_once_that_the_account_is_ready(client, employee, clock):
    from tests.helpers import first_login

    first_login(client)
    assert client.post("/mfa/kode-pemulihan/selesai").location == "/dashboard"
    page = client.get("/dashboard").get_data(as_text=True)
    ready = re.search(r'<section class="alert success ready" id="account-ready".*?</section>', page, re.S).group(0)
    assert "Akun Anda siap" in ready and "<strong>Ponsel pribadi</strong>" in ready and "kode pemulihan" in ready
    assert page.index('id="account-ready"') < page.index("Data kepegawaian")
    assert 'id="account-ready"' not in client.get("/dashboard").get_data(as_text=True)
    assert client.get("/mfa/siap").location == "/dashboard"  # an old link or bookmark
    assert 'id="account-ready"' not in client.get("/dashboard").get_data(as_text=True)


def test_new_recovery_codes_later_do_not_say_the_account_is_ready(client, enrolled, clock):
    login(client, NIP, PASSWORD)
    client.post("/login/otp", data={"otp": code(enrolled)})
    assert client.post("/mfa/kode-pemulihan/baru", data={"password": PASSWORD}).location == "/mfa/kode-pemulihan"
    assert client.post("/mfa/kode-pemulihan/selesai").location == "/dashboard"
    assert 'id="account-ready"' not in client.get("/dashboard").get_data(as_text=True)
