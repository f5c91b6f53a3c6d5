"""Trainer scenarios in real Chromium: the phone clock 3 minutes behind (JavaScript on)
and the lost authenticator (learner without JavaScript), plus the enrollment page on a
narrow screen. The portal runs in this process under waitress, so its clock can be
frozen; CSRF protection stays on."""

from datetime import datetime

import pytest

import demo
from security import clock as the_clock
from tests.helpers import last_code
from tests.live import live_portal

BUDI, BUDI_NIK = "199001012020011001", "3273010101900001"

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402


@pytest.fixture
def frozen_clock():
    the_clock.freeze(datetime(2026, 11, 23, 2, 0, 5))
    yield the_clock
    the_clock.unfreeze()


@pytest.fixture
def portal(tmp_path, frozen_clock):
    """The demo portal's address."""
    with live_portal(tmp_path / "demo.db", demo=True) as server:
        yield server.url


@pytest.fixture
def screens(browser, portal):
    """The trainer's screen (console and virtual phone) and a learner's, as separate browsers."""
    opened = []

    def open_screen(path="/", **options):
        context = browser.new_context(base_url=portal, **options)
        context.set_default_timeout(10_000)
        opened.append(context)
        page = context.new_page()
        page.goto(path)
        return page

    yield open_screen
    for context in opened:
        context.close()


def apply_scenario(console, slug):
    console.select_option(f"#skenario-{BUDI}", slug)
    console.locator(f"#akun-{BUDI}").get_by_role("button", name="Terapkan").click()
    expect(console.locator("#pesan")).to_contain_text("siap")


def phone_code(phone, device):
    code = phone.locator(f'[data-nip="{BUDI}"][data-device="{device}"] .code')
    expect(code).to_have_count(1)
    return code.get_attribute("data-code")


def sign_in(learner, password):
    learner.fill("#nip", "19900101 202001 1 001")
    learner.fill("#password", password)
    learner.get_by_role("button", name="Masuk", exact=True).click()


def test_phone_clock_behind_is_diagnosed_and_fixed(screens, frozen_clock):
    console = screens("/pelatih/")
    apply_scenario(console, "kode-otp-tidak-valid")
    phone = screens("/pelatih/ponsel")
    expect(phone.locator(f"#ponsel-{BUDI}")).to_contain_text("3 menit lebih lambat")
    skewed = phone_code(phone, demo.DEVICE)

    learner = screens("/login")
    expect(learner.locator(".demo-banner")).to_contain_text("MODE DEMO / PELATIHAN")
    sign_in(learner, demo.PASSWORD)
    learner.wait_for_url("**/login/otp")
    learner.fill("#otp", skewed)
    learner.get_by_role("button", name="Verifikasi").click()
    error = learner.locator("#otp-step .error-summary")
    expect(error).to_contain_text("sekitar 3 menit lebih lambat")
    help_link = error.locator('a[data-help="kode-otp-tidak-valid"]')
    expect(help_link).to_have_attribute("href", "/bantuan/kode-otp-tidak-valid")

    # The fix: the phone's automatic time; the phone now shows the right code.
    phone.locator(f"#aksi-{BUDI}").get_by_role("button", name="Atur waktu otomatis").click()
    expect(phone.locator(f"#ponsel-{BUDI}")).not_to_contain_text("lebih lambat")
    fixed = phone_code(phone, demo.DEVICE)
    assert fixed != skewed
    learner.fill("#otp", fixed)
    learner.get_by_role("button", name="Verifikasi").click()
    learner.wait_for_url("**/dashboard")
    expect(learner.locator("h1")).to_contain_text("Budi Santoso")

    # The phone keeps itself up to date (htmx polling) when the next code comes.
    frozen_clock.advance(seconds=30)
    expect(phone.locator(f'[data-nip="{BUDI}"][data-device="{demo.DEVICE}"] .code')).not_to_have_attribute(
        "data-code", fixed)

    # The help entry the message linked to explains the fix.
    learner.goto("/bantuan/kode-otp-tidak-valid")
    expect(learner.locator("h1")).to_contain_text("jam ponsel tidak sinkron")
    expect(learner.locator("article")).to_contain_text("Tanggal & waktu otomatis")


def test_lost_authenticator_recovery_code_then_new_phone_without_javascript(screens):
    console = screens("/pelatih/")
    apply_scenario(console, "autentikator-hilang")
    sheet = console.locator(f"#akun-{BUDI} details.sheet")
    sheet.locator("summary").click()
    recovery_code = sheet.locator("code").first.inner_text()
    phone = screens("/pelatih/ponsel")
    expect(phone.locator(f"#ponsel-{BUDI}")).to_contain_text("Aplikasi autentikator terhapus")

    learner = screens("/login", java_script_enabled=False)
    sign_in(learner, demo.PASSWORD)
    learner.wait_for_url("**/login/otp")
    learner.get_by_role("link", name="Tidak bisa mengakses aplikasi autentikator?").click()
    expect(learner.locator("h1")).to_contain_text("Google Authenticator terhapus")
    expect(learner.locator("article")).to_contain_text("kode pemulihan")
    learner.go_back()
    learner.get_by_role("link", name="Pakai kode pemulihan").click()  # its own form
    learner.fill("#recovery_code", recovery_code)
    learner.get_by_role("button", name="Verifikasi").click()
    learner.wait_for_url("**/dashboard")
    expect(learner.locator("#pesan")).to_contain_text("Anda masuk dengan kode pemulihan. Sisa kode: 9")

    # The helpdesk resets MFA; the learner enrolls the new phone.
    console.reload()
    console.locator(f"#akun-{BUDI}").get_by_role("button", name="Atur ulang MFA (seperti helpdesk)").click()
    expect(console.locator("#pesan")).to_contain_text("MFA diatur ulang")
    learner.get_by_role("button", name="Keluar").click()
    learner.wait_for_url("**/login")
    sign_in(learner, demo.PASSWORD)
    learner.wait_for_url("**/mfa/setup")
    learner.get_by_role("link", name="Sudah terpasang, lanjutkan").click()
    learner.wait_for_url("**/mfa/setup/akun")
    phone.reload()
    phone.locator(f"#aksi-{BUDI}").get_by_role("button", name="Pindai kode QR").click()
    expect(phone.locator("#pesan")).to_contain_text("Kode QR terpindai")
    learner.get_by_role("link", name="Akun sudah ada di aplikasi, lanjutkan").click()
    learner.wait_for_url("**/mfa/setup/kode")
    learner.fill("#device_name", "Ponsel baru")
    learner.fill("#otp", phone_code(phone, "Ponsel peserta"))
    learner.get_by_role("button", name="Aktifkan").click()
    learner.wait_for_url("**/mfa/kode-pemulihan")
    expect(learner.locator("#recovery-codes li")).to_have_count(10)


@pytest.mark.parametrize("width, link_first", [(380, True), (1024, False)])
def test_enrollment_on_a_narrow_screen_puts_the_link_and_key_first(screens, width, link_first):
    learner = screens("/login", viewport={"width": width, "height": 800})
    sign_in(learner, BUDI_NIK)
    learner.wait_for_url("**/login/kode")
    learner.fill("#code", last_code(BUDI))  # the code in the demo mailbox
    learner.fill("#new_password", "Kopi!Pagi2026")
    learner.fill("#confirm_password", "Kopi!Pagi2026")
    learner.get_by_role("button", name="Lanjutkan").click()
    learner.wait_for_url("**/mfa/setup")
    learner.get_by_role("link", name="Sudah terpasang, lanjutkan").click()
    learner.wait_for_url("**/mfa/setup/akun")
    link_top = learner.locator("#open-in-app").bounding_box()["y"]
    qr_top = learner.locator("#qr-code").bounding_box()["y"]
    assert (link_top < qr_top) is link_first
    manual_key = learner.locator("#manual-key")
    if link_first:
        expect(manual_key).to_have_attribute("open", "")
    else:
        expect(manual_key).not_to_have_attribute("open", "")
