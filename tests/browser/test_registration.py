"""Self-service journeys in real headless Chromium (JavaScript on and off) with the
e-mails delivered over SMTP to a real mail server on loopback (aiosmtpd): registration
(verification code, password, activation link, first sign-in goes to MFA setup) and the
forgotten password (reset link, new password, the sign-in still asks for the OTP)."""

import re
from urllib.parse import urlparse

import pyotp
import pytest
from playwright.sync_api import expect

from tests import mailserver
from tests.browser.test_journey import (
    fill_enrollment,
    fill_login,
    fill_new_password,
    finish_enrollment,
    submit,
    submit_and_redirect,
    to_enrollment_code,
    to_enrollment_key,
    url_is,
)
from tests.helpers import NIK, NIP, PASSWORD
from tests.live import live_portal

EMAIL = "budi.santoso@bandung.go.id"  # typed at registration (the master data has another)
RECORD_EMAIL = "budi@example.go.id"  # the contact on record: codes and links go there only
PHONE = "0812 3456 7890"
NEW_PASSWORD = "Teh!Sore2027"




@pytest.fixture
def live_server(tmp_path, smtp):
    """The portal sending its mail to `smtp`, with links to itself."""
    with live_portal(tmp_path / "portal.db", smtp_port=smtp.port) as server:
        yield server


def same_origin(link: str, live_server) -> str:
    """A link from an e-mail points at the configured BASE_URL, i.e. this server."""
    parsed = urlparse(link)
    assert f"{parsed.scheme}://{parsed.netloc}" == live_server.url, link
    return link


# --------------------------------------------------------------------------- registration


def test_registration_with_code_and_activation_link(page, live_server, smtp, java_script_enabled):
    live_server.employee()  # in the master data; no account yet
    page.goto("/login")
    page.get_by_role("link", name="Belum punya akun? Daftar").click()
    expect(page).to_have_url(url_is("/daftar"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Daftar akun")

    # 1. NIP, NIK, e-mail and phone: a 6-digit code goes out by e-mail (and SMS).
    page.get_by_label("NIP", exact=True).fill(NIP)
    page.get_by_label("NIK", exact=True).fill(NIK)
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Nomor ponsel", exact=True).fill(PHONE)
    submit_and_redirect(page, "Kirim kode verifikasi", "/daftar", java_script_enabled, "/daftar/verifikasi")
    expect(page.get_by_role("heading", level=1)).to_have_text("Masukkan kode verifikasi")
    expect(page.locator("#verify")).to_contain_text("b•••@example.go.id")
    expect(page.locator("#verify")).not_to_contain_text(EMAIL)

    message = smtp.inbox.wait_for(RECORD_EMAIL)
    assert message["Subject"] == "Kode verifikasi pendaftaran Portal ASN Digital"
    code = mailserver.code_in(message)
    assert re.fullmatch(r"\d{6}", code)

    # 2. The code from the e-mail.
    page.get_by_label("Kode verifikasi (6 digit)").fill(code)
    submit_and_redirect(page, "Verifikasi", "/daftar/verifikasi", java_script_enabled, "/daftar/kata-sandi")
    expect(page.get_by_role("heading", name="Buat kata sandi", exact=True)).to_be_visible()

    # 3. The password, twice: the activation link goes out.
    page.locator("#new_password").fill(PASSWORD)
    page.locator("#confirm_password").fill(PASSWORD)
    submit_and_redirect(page, "Simpan dan kirim tautan aktivasi", "/daftar/kata-sandi", java_script_enabled,
                        "/daftar/selesai")
    expect(page.get_by_role("heading", name="Satu langkah lagi: aktivasi")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    expect(page.locator("main")).to_contain_text("tautan aktivasi ke email yang tercatat, b•••@example.go.id")

    activation = smtp.inbox.wait_for_subject(RECORD_EMAIL, "Aktivasi akun Portal ASN Digital")
    link = same_origin(mailserver.link_in(activation), live_server)
    assert urlparse(link).path.startswith("/aktivasi/")

    # 4. The link from the e-mail, then the confirming button: the account is active.
    page.goto(link)
    submit_and_redirect(page, "Aktifkan akun", urlparse(link).path, java_script_enabled, "/login")
    expect(page.locator("#pesan")).to_contain_text("Akun Anda sudah aktif")

    # 5. NIP and the new password: straight to MFA setup (no forced password change).
    fill_login(page, NIP, PASSWORD)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/mfa/setup")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pasang aplikasi autentikator")
    # The code, the notice of a first password and the link; nothing to the typed address.
    assert len(smtp.inbox.messages) == 3, [m["Subject"] for m in smtp.inbox.messages]
    assert {m["To"] for m in smtp.inbox.messages} == {RECORD_EMAIL}


# --------------------------------------------------------------------------- forgotten password


def complete_first_login(page, smtp, java_script_enabled: bool):
    """NIK, the code from the mailbox on record with the new password, MFA enrollment
    (secret from the open-in-app link), sign out."""
    page.goto("/login")
    fill_login(page, NIP, NIK)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/login/kode")
    page.locator("#code").fill(mailserver.code_in(smtp.inbox.wait_for_subject(RECORD_EMAIL, "masuk pertama kali")))
    fill_new_password(page)
    submit_and_redirect(page, "Lanjutkan", "/login/kode", java_script_enabled, "/mfa/setup")
    to_enrollment_key(page)
    uri = page.locator("#open-in-app").get_attribute("href")
    to_enrollment_code(page)
    fill_enrollment(page, pyotp.parse_uri(uri).now())
    finish_enrollment(page, java_script_enabled)
    submit_and_redirect(page, "Keluar", "/logout", False, "/login")


def test_forgotten_password_reset_link_then_otp(page, live_server, smtp, java_script_enabled):
    employee = live_server.employee()
    complete_first_login(page, smtp, java_script_enabled)
    smtp.inbox.wait_for(RECORD_EMAIL, count=3)  # the code and the notices of a first password and of MFA
    smtp.inbox.messages.clear()

    # 1. "Lupa kata sandi?": NIP and the registered e-mail.
    page.get_by_role("link", name="Lupa kata sandi?").click()
    expect(page).to_have_url(url_is("/lupa-kata-sandi"))
    page.get_by_label("NIP", exact=True).fill(NIP)
    page.get_by_label("Email terdaftar").fill(employee.email)
    submit(page, "Kirim tautan", "/lupa-kata-sandi", java_script_enabled, status=200)
    expect(page.locator("#forgot-form .alert.success")).to_contain_text("tautan untuk membuat kata sandi baru")

    message = smtp.inbox.wait_for(employee.email)
    assert message["Subject"] == "Buat kata sandi baru Portal ASN Digital"
    link = same_origin(mailserver.link_in(message), live_server)
    assert urlparse(link).path.startswith("/reset/")

    # 2. The link: a new password, twice.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Buat kata sandi baru")
    page.locator("#new_password").fill(NEW_PASSWORD)
    page.locator("#confirm_password").fill(NEW_PASSWORD)
    submit_and_redirect(page, "Simpan kata sandi", urlparse(link).path, java_script_enabled, "/login")
    expect(page.locator("#pesan")).to_contain_text("Kata sandi baru tersimpan")
    changed = smtp.inbox.wait_for(employee.email, count=2)
    assert changed["Subject"] == "Kata sandi Portal ASN Digital telah diganti"

    # The link works once.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Tautan tidak berlaku")

    # 3. The old password no longer works; the new one leads to the OTP step.
    page.goto("/login")
    fill_login(page, NIP, PASSWORD)
    submit(page, "Masuk", "/login", java_script_enabled, status=422)
    expect(page.locator("#login-step .error-summary")).to_contain_text("NIP atau kata sandi salah")
    fill_login(page, NIP, NEW_PASSWORD)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/login/otp")
    expect(page.get_by_role("heading", level=1)).to_have_text("Masukkan kode OTP")
    assert len(smtp.inbox.messages) == 2, [m["Subject"] for m in smtp.inbox.messages]
