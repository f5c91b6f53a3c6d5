"""The sign-in journey in real headless Chromium, with JavaScript on (htmx) and off
(plain forms, 303 redirects). The TOTP secret is read the way a phone would: from a
screenshot of the QR code, decoded with zxing-cpp; the codes are computed with pyotp."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from tests.helpers import NIK, NIP, PASSWORD, last_code

ISSUER = "Portal ASN Digital"
NIP_WITH_SPACES = "19900101 202001 1 001"
NAME = "Budi Santoso"
DEVICE = "Ponsel Samsung pribadi"


# --------------------------------------------------------------------------- helpers


def url_is(path: str):
    return re.compile(re.escape(path) + r"(\?.*)?$")


def submit(page, button: str, url_path: str, htmx: bool, status=None):
    """Click a submit button; check the POST was an htmx request (HX-Request header) or a
    plain form POST, as expected, and optionally its status."""
    with page.expect_response(lambda r: r.request.method == "POST"
                              and urlparse(r.url).path == url_path) as info:
        page.get_by_role("button", name=button, exact=True).click()
    response = info.value
    assert (response.request.header_value("hx-request") == "true") is htmx, "htmx or plain POST"
    if status is not None:
        assert response.status == status, f"POST {url_path}: {response.status}"
    return response


def submit_and_redirect(page, button: str, url_path: str, htmx: bool, to: str):
    """A successful POST. htmx: the answer is the page at `to` itself, its URL pushed
    (HX-Push-Url), and no second request loads it. A plain form: 303 See Other, then the
    browser loads `to`."""
    requested = []

    def record(request):
        requested.append(request)

    page.on("request", record)
    try:
        response = submit(page, button, url_path, htmx)
        expect(page).to_have_url(url_is(to))
    finally:
        page.remove_listener("request", record)
    if htmx:
        assert response.status == 200, response.status
        assert response.header_value("hx-push-url") == to
        assert response.header_value("hx-redirect") is None
        after = [r.url for r in requested
                 if r.method == "GET" and (r.resource_type == "document" or urlparse(r.url).path == to)]
        assert after == [], f"a second request after the htmx POST to {url_path}: {after}"
    else:
        assert response.status == 303, response.status
        assert urlparse(response.header_value("location")).path == to


def fill_login(page, nip: str, password: str):
    page.get_by_label("NIP", exact=True).fill(nip)
    page.get_by_label("Kata sandi", exact=True).fill(password)


def read_qr(page, path) -> str:
    """Screenshot the QR code and decode it, independently of the server's code."""
    page.locator("#qr-code svg").screenshot(path=str(path))
    results = zxingcpp.read_barcodes(Image.open(path))
    # zxing-cpp now and then reports the one code twice (found by two of its detectors).
    texts = {r.text for r in results}
    assert len(texts) == 1, f"expected one barcode in {path}, found {len(texts)}"
    assert all(r.format == zxingcpp.BarcodeFormat.QRCode for r in results)
    return texts.pop()


def secret_from_uri(uri: str, nip: str = NIP) -> str:
    parsed = urlparse(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp"), uri
    label = unquote(parsed.path.lstrip("/"))
    assert nip in label, label
    assert label == f"{ISSUER}:{nip}", label
    params = parse_qs(parsed.query)
    assert params["issuer"] == [ISSUER], params
    (secret,) = params["secret"]
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    return secret


def enrollment_secret(page, path) -> str:
    """The secret in the scanned QR code, which must equal the one in the open-in-app
    link and the key shown for typing in by hand."""
    secret = secret_from_uri(read_qr(page, path))
    assert secret_from_uri(page.locator("#open-in-app").get_attribute("href")) == secret
    assert page.locator("#secret-key").text_content().replace(" ", "") == secret
    return secret


def wrong_code(secret: str) -> str:
    """A six-digit code that is valid for no time step near now."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(datetime.now(UTC))
    near = {totp.generate_otp(current + step) for step in range(-3, 4)}
    return next(c for c in (f"{i:06d}" for i in range(100)) if c not in near)


def code_at_server_time(secret: str, clock) -> str:
    """The code an authenticator app shows at the server's (naive UTC) time."""
    return pyotp.TOTP(secret).at(clock.now().replace(tzinfo=UTC).timestamp())


def check_password_toggle(page, field: str, java_script_enabled: bool):
    toggle = page.locator(f"[data-password-toggle={field}]")
    password = page.locator(f"#{field}")
    expect(password).to_have_attribute("type", "password")
    if not java_script_enabled:
        # Without the script the button could not work: it keeps its hidden attribute
        # (whether it is really out of sight is test_password_toggle's concern).
        expect(toggle).to_have_attribute("hidden", "")
        return
    expect(toggle).to_be_visible()
    expect(toggle).to_have_text("Tampilkan")
    toggle.click()
    expect(password).to_have_attribute("type", "text")
    expect(toggle).to_have_text("Sembunyikan")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(password).to_have_attribute("type", "password")
    expect(toggle).to_have_text("Tampilkan")


def prove_with_code(page, java_script_enabled: bool):
    """The first-login code step, with the new password on the same form: the code goes
    to the contact on record (read here from the outbox, where it waits without a mail
    server); a wrong one is refused first, and nothing typed comes back in the page."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Masukkan kode verifikasi")
    expect(page.locator("#code-step")).to_contain_text("b•••@example.go.id")
    right = last_code()
    page.locator("#code").fill("000000" if right != "000000" else "111111")
    fill_new_password(page)
    submit(page, "Lanjutkan", "/login/kode", java_script_enabled, status=422)
    expect(page.locator("#code-step .alert.error")).to_contain_text("Kode salah. Sisa percobaan: 4.")
    expect(page).to_have_url(url_is("/login/kode"))
    for field in ("#code", "#new_password", "#confirm_password"):
        expect(page.locator(field)).to_have_value("")
    page.locator("#code").fill(right)
    fill_new_password(page)
    submit_and_redirect(page, "Lanjutkan", "/login/kode", java_script_enabled, "/mfa/setup")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pasang aplikasi autentikator")
    expect(page.locator("#pesan")).to_contain_text("Kata sandi baru tersimpan.")


def fill_new_password(page, password=PASSWORD, confirm=None):
    page.locator("#new_password").fill(password)
    page.locator("#confirm_password").fill(password if confirm is None else confirm)


def to_enrollment_key(page):
    """Step 1 (install the app) to step 2 (add the account: QR code, key, open-in-app link)."""
    page.get_by_role("link", name="Sudah terpasang, lanjutkan").click()
    expect(page).to_have_url(url_is("/mfa/setup/akun"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Tambahkan akun ke aplikasi")


def to_enrollment_code(page):
    """Step 2 to step 3 (the first code and the optional device name)."""
    page.get_by_role("link", name="Akun sudah ada di aplikasi, lanjutkan").click()
    expect(page).to_have_url(url_is("/mfa/setup/kode"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Masukkan kode dari aplikasi")


def fill_enrollment(page, code: str, device: str = DEVICE):
    page.locator("#device_name").fill(device)
    page.locator("#otp").fill(code)


def finish_enrollment(page, java_script_enabled: bool):
    """Submit the right code: the recovery codes are shown once, then the dashboard with
    "Akun Anda siap" at the top."""
    submit_and_redirect(page, "Aktifkan", "/mfa/setup", java_script_enabled, "/mfa/kode-pemulihan")
    expect(page.locator("#pesan")).to_contain_text("Autentikator berhasil diaktifkan")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    for button in ("Salin", "Cetak"):  # they only show when the script can make them work
        expect(page.get_by_role("button", name=button, exact=True)).to_have_count(1 if java_script_enabled else 0)
    submit_and_redirect(page, "Saya sudah menyimpan kode ini", "/mfa/kode-pemulihan/selesai", java_script_enabled,
                        "/dashboard")
    expect_dashboard(page)
    expect(page.locator("#account-ready")).to_contain_text("Akun Anda siap")


def expect_dashboard(page):
    expect(page).to_have_url(url_is("/dashboard"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Selamat datang, {NAME}")
    expect(page.locator("dl.data")).to_contain_text(NIP)
    expect(page.get_by_role("button", name="Keluar", exact=True)).to_be_visible()


# --------------------------------------------------------------------------- tests


def test_full_journey(page, live_server, clock, java_script_enabled, tmp_path):
    """First login (NIK, the code with the new password, MFA enrollment from the QR code),
    logout, and a second login with the new password and an OTP."""
    live_server.employee()
    page.goto("/")
    expect(page).to_have_url(url_is("/login"))
    assert page.evaluate("typeof window.htmx") == ("object" if java_script_enabled else "undefined")
    check_password_toggle(page, "password", java_script_enabled)

    # 1. NIP (typed with spaces, as printed on the SK) and the NIK as the default password.
    fill_login(page, NIP_WITH_SPACES if java_script_enabled else NIP, NIK)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/login/kode")

    # 2. The NIK is public: a code sent to the contact on record proves who is typing, and
    # the same form sets the new password.
    page.goto("/password/new")
    expect(page).to_have_url(url_is("/login/kode"))  # not reachable before the code
    page.goto("/login/kode")
    check_password_toggle(page, "new_password", java_script_enabled)
    check_password_toggle(page, "confirm_password", java_script_enabled)
    prove_with_code(page, java_script_enabled)

    # 3. MFA enrollment: scan the QR code like a phone would.
    to_enrollment_key(page)
    secret = enrollment_secret(page, tmp_path / "qr.png")
    to_enrollment_code(page)
    if java_script_enabled:
        # A wrong code goes through htmx: only the form is swapped, no navigation.
        page.evaluate("window.__sameDocument = 'ya'")
        fill_enrollment(page, wrong_code(secret))
        submit(page, "Aktifkan", "/mfa/setup", True, status=422)
        expect(page.locator("#otp-error")).to_contain_text("Kode tidak cocok")
        assert page.evaluate("window.__sameDocument") == "ya", "the page was reloaded"
        expect(page.locator("#device_name")).to_have_value(DEVICE)
        assert page.title() == "Kesalahan: Masukkan kode dari aplikasi · Portal ASN Digital"

    enrolled_at = clock.now()
    enrollment_code = code_at_server_time(secret, clock)  # what the app shows right now
    fill_enrollment(page, enrollment_code)
    finish_enrollment(page, java_script_enabled)

    # 4. Sign out (a plain form in both modes).
    submit_and_redirect(page, "Keluar", "/logout", False, "/login")
    expect(page.locator("#pesan")).to_contain_text("Anda telah keluar")
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/login\?next="))

    # 5. Second login: the new password, then an OTP.
    page.goto("/login")
    fill_login(page, NIP, PASSWORD)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/login/otp")
    expect(page.get_by_role("heading", level=1)).to_have_text("Masukkan kode OTP")

    # The code used for enrollment is refused (a replay) within its 30-second step, however
    # long this test took to get here.
    clock.freeze(enrolled_at)
    page.locator("#otp").fill(enrollment_code)
    submit(page, "Verifikasi", "/login/otp", java_script_enabled, status=422)
    expect(page.locator("#otp-step .error-summary")).to_contain_text("sudah pernah dipakai")
    expect(page).to_have_url(url_is("/login/otp"))

    # The next step's code works: advance the server's clock instead of sleeping.
    clock.freeze(clock.now() + timedelta(seconds=30))
    page.locator("#otp").fill(code_at_server_time(secret, clock))
    submit_and_redirect(page, "Verifikasi", "/login/otp", java_script_enabled, "/dashboard")
    expect_dashboard(page)


def test_wrong_enrollment_code_keeps_the_same_secret(page, live_server, java_script_enabled, tmp_path):
    live_server.employee()
    page.goto("/login")
    fill_login(page, NIP, NIK)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/login/kode")
    prove_with_code(page, java_script_enabled)
    to_enrollment_key(page)
    secret = enrollment_secret(page, tmp_path / "qr-before.png")
    to_enrollment_code(page)

    fill_enrollment(page, wrong_code(secret))
    submit(page, "Aktifkan", "/mfa/setup", java_script_enabled, status=422)
    expect(page.locator("#otp-error")).to_contain_text("Kode tidak cocok")

    # Coming back to the page later still shows the QR code already scanned.
    page.goto("/mfa/setup/akun")
    assert enrollment_secret(page, tmp_path / "qr-reloaded.png") == secret
    to_enrollment_code(page)

    fill_enrollment(page, pyotp.TOTP(secret).now())
    finish_enrollment(page, java_script_enabled)


def test_login_errors_are_precise_for_nip_and_generic_for_password(page, live_server, java_script_enabled):
    live_server.employee()
    page.goto("/login")
    if java_script_enabled:
        page.evaluate("window.__sameDocument = 'ya'")

    # A malformed NIP: a precise hint next to the field itself.
    fill_login(page, "1990 0101 2020", NIK)
    submit(page, "Masuk", "/login", java_script_enabled, status=422)
    field = page.locator(".field", has=page.locator("#nip"))
    expect(field.locator("#nip-error")).to_contain_text("NIP terdiri dari 18 digit angka")
    expect(field.locator("#nip-error")).to_contain_text("12 digit")
    expect(page.locator("#nip")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#nip")).to_have_attribute("aria-describedby", re.compile(r"\bnip-error\b"))
    expect(page.locator("#nip")).to_have_value("1990 0101 2020")
    expect(page).to_have_url(url_is("/login"))

    # A well-formed NIP with a wrong password: the generic message, no field hint.
    fill_login(page, NIP, "BukanNik!123")
    submit(page, "Masuk", "/login", java_script_enabled, status=422)
    expect(page.locator("#login-step .error-summary")).to_contain_text("NIP atau kata sandi salah")
    expect(page.locator("#nip-error")).to_have_count(0)
    expect(page.locator("#nip")).to_have_value(NIP)

    # An unknown NIP gets the very same message (no hint that it isn't registered).
    fill_login(page, "199202022020012002", NIK)
    submit(page, "Masuk", "/login", java_script_enabled, status=422)
    expect(page.locator("#login-step .error-summary")).to_contain_text("NIP atau kata sandi salah")
    expect(page).to_have_url(url_is("/login"))

    if java_script_enabled:
        assert page.evaluate("window.__sameDocument") == "ya", "the page was reloaded"
    # The show/hide button of the re-rendered form (swapped in by htmx, or a new page).
    check_password_toggle(page, "password", java_script_enabled)


@pytest.mark.parametrize("java_script_enabled", [True, False], ids=["js-on", "js-off"])
def test_password_toggle_only_shows_when_it_works(page, live_server, java_script_enabled):
    page.goto("/login")
    toggle = page.locator("[data-password-toggle=password]")
    if java_script_enabled:
        check_password_toggle(page, "password", True)
    else:
        expect(toggle).to_have_attribute("hidden", "")
        assert not toggle.is_visible(), "the show/hide button is visible without JavaScript"
