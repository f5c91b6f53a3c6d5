"""The first sign-in as a civil servant on a cheap phone lives it, in real Chromium with
JavaScript on and off: Back, refresh and Batal on every step, the code fields, the time
left, and errors to the GOV.UK Design System standard."""

import re
from urllib.parse import urlparse

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.test_journey import (
    check_password_toggle,
    fill_login,
    fill_new_password,
    submit,
    submit_and_redirect,
    url_is,
)
from tests.helpers import NIK, NIP, PASSWORD, last_code

HEADINGS = {
    "/login/kode": "Masukkan kode verifikasi",
    "/password/new": "Buat kata sandi baru",
    "/mfa/setup": "Pasang aplikasi autentikator",
    "/mfa/setup/akun": "Tambahkan akun ke aplikasi",
    "/mfa/setup/kode": "Masukkan kode dari aplikasi",
    "/mfa/kode-pemulihan": "Kode pemulihan",
    "/dashboard": "Selamat datang, Budi Santoso",
}


TITLES = {
    "/login/kode": "Kode verifikasi masuk pertama",
    "/password/new": "Buat kata sandi baru",
    "/mfa/setup": "Pasang aplikasi autentikator",
    "/mfa/setup/akun": "Tambahkan akun ke aplikasi",
    "/mfa/setup/kode": "Masukkan kode dari aplikasi",
    "/mfa/kode-pemulihan": "Kode pemulihan",
    "/dashboard": "Profil",
}


def at_step(page, path):
    """On `path`, with its heading and title, and no word of an expired sign-in anywhere."""
    expect(page).to_have_url(url_is(path))
    expect(page.get_by_role("heading", level=1)).to_have_text(HEADINGS[path])
    expect(page).to_have_title(f"{TITLES[path]} · Portal ASN Digital")
    assert "habis" not in page.locator("body").inner_text()


def whole_page(page):
    """One header, one main, one footer: a page, not a page swapped into a page."""
    for part in ("header.top", "main", "footer", "#pesan"):
        expect(page.locator(part)).to_have_count(1)


def back_then_forward_again(page, now_at):
    """Back lands on a working step (the one the sign-in is at, or a page still in
    order), and refresh keeps it."""
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "habis" not in page.locator("body").inner_text()
    assert not page.url.endswith("/login"), f"Back from {now_at} left the sign-in: {page.url}"
    page.reload()
    assert "habis" not in page.locator("body").inner_text()


def test_back_refresh_and_second_tab_on_every_step(page, live_server, java_script_enabled):
    live_server.employee()
    page.goto("/login")
    fill_login(page, NIP, NIK)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/login/kode")
    at_step(page, "/login/kode")
    expect(page.locator("#journey-deadline")).to_contain_text(re.compile(r"Selesaikan sebelum \d\d\.\d\d WIB"))
    page.reload()
    at_step(page, "/login/kode")

    page.locator("#code").fill(last_code())
    fill_new_password(page)
    submit_and_redirect(page, "Lanjutkan", "/login/kode", java_script_enabled, "/mfa/setup")
    back_then_forward_again(page, "/mfa/setup")
    page.goto("/login/kode")  # a stale tab: the sign-in is further on
    at_step(page, "/mfa/setup")
    page.goto("/password/new")  # the old step shows the step the sign-in is at, never "waktu habis"
    at_step(page, "/mfa/setup")

    # A second tab of the same browser is at the same step.
    second = page.context.new_page()
    second.goto("/login/kode")
    at_step(second, "/mfa/setup")
    second.close()

    page.get_by_role("link", name="Sudah terpasang, lanjutkan").click()
    at_step(page, "/mfa/setup/akun")
    secret = pyotp.parse_uri(page.locator("#open-in-app").get_attribute("href")).secret
    page.get_by_role("link", name="Akun sudah ada di aplikasi, lanjutkan").click()
    at_step(page, "/mfa/setup/kode")
    page.go_back()
    at_step(page, "/mfa/setup/akun")  # the steps of MFA are real pages in the history
    page.go_forward()
    at_step(page, "/mfa/setup/kode")

    page.locator("#otp").fill(pyotp.TOTP(secret).now())  # the device name is optional
    submit_and_redirect(page, "Aktifkan", "/mfa/setup", java_script_enabled, "/mfa/kode-pemulihan")
    page.reload()
    at_step(page, "/mfa/kode-pemulihan")
    page.go_back()  # signed in now: the enrollment steps lead to the codes still to be saved
    at_step(page, "/mfa/kode-pemulihan")
    page.get_by_role("button", name="Saya sudah menyimpan kode ini").click()
    at_step(page, "/dashboard")
    expect(page.locator("#account-ready")).to_contain_text("Ponsel 1")
    page.reload()
    at_step(page, "/dashboard")
    expect(page.locator("#account-ready")).to_have_count(0)  # said once
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "habis" not in page.locator("body").inner_text()
    page.goto("/mfa/setup")
    at_step(page, "/dashboard")
    page.goto("/mfa/siap")  # the old last page of the first sign-in, bookmarked
    at_step(page, "/dashboard")


def test_each_step_is_one_round_trip_and_its_url_a_page_of_its_own(page, live_server, java_script_enabled):
    """With htmx each step's answer is the next page (its title, its URL in the history,
    its scripts working); Back, Forward and reload load whole pages, as without JavaScript."""
    live_server.employee()
    page.goto("/login")
    expect(page).to_have_title("Masuk · Portal ASN Digital")
    fill_login(page, NIP, NIK)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/login/kode")
    at_step(page, "/login/kode")
    whole_page(page)
    page.locator("#code").fill(last_code())
    fill_new_password(page, PASSWORD, "Lain!Sekali2026")
    submit(page, "Lanjutkan", "/login/kode", java_script_enabled, status=422)
    expect(page).to_have_title("Kesalahan: Kode verifikasi masuk pertama · Portal ASN Digital")
    expect(page.locator("#confirm_password")).to_have_attribute("aria-invalid", "true")
    check_password_toggle(page, "new_password", java_script_enabled)  # app.js took the new content too
    page.goto("/login/kode")  # so that Back, later, goes to this page rather than the refused form's answer
    page.locator("#code").fill(last_code())  # a password mistake spent none of the code's tries
    fill_new_password(page)
    submit_and_redirect(page, "Lanjutkan", "/login/kode", java_script_enabled, "/mfa/setup")
    at_step(page, "/mfa/setup")  # the error's title went with it
    whole_page(page)
    expect(page.locator("#pesan")).to_contain_text("Kata sandi baru tersimpan.")

    page.reload()
    at_step(page, "/mfa/setup")
    expect(page.locator("#pesan")).not_to_contain_text("Kata sandi baru tersimpan.")  # said once
    page.go_back()  # the code step is done: the step the sign-in is at, whole
    at_step(page, "/mfa/setup")
    whole_page(page)
    page.go_forward()
    at_step(page, "/mfa/setup")
    whole_page(page)
    page.get_by_role("link", name="Sudah terpasang, lanjutkan").click()
    at_step(page, "/mfa/setup/akun")
    whole_page(page)


def test_the_set_up_steps_need_no_round_trip_with_java_script(page, live_server, java_script_enabled):
    """With JavaScript, steps 1 → 2 → 3 of MFA come from the first step's page: no request,
    and each step's URL, title and focus as if loaded; Back, Forward and refresh work on
    each, and the code form still posts with htmx. Without JavaScript each step is a page
    of its own that its link loads."""
    from tests.browser.test_journey import wrong_code

    live_server.employee()
    page.goto("/login")
    fill_login(page, NIP, NIK)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/login/kode")
    page.locator("#code").fill(last_code())
    fill_new_password(page)
    submit_and_redirect(page, "Lanjutkan", "/login/kode", java_script_enabled, "/mfa/setup")
    requested = []
    page.on("request", lambda request: requested.append(request))

    def loaded() -> list[str]:
        """The pages asked for since the last call (every request, with JavaScript)."""
        asked = [urlparse(r.url).path for r in requested if java_script_enabled or r.resource_type == "document"]
        requested.clear()
        return asked

    def follow(link, path):
        loaded()
        page.get_by_role("link", name=link, exact=True).click()
        at_step(page, path)
        if java_script_enabled:
            expect(page.get_by_role("heading", level=1)).to_be_focused()
        assert loaded() == ([] if java_script_enabled else [path])

    follow("Sudah terpasang, lanjutkan", "/mfa/setup/akun")
    secret = pyotp.parse_uri(page.locator("#open-in-app").get_attribute("href")).secret
    follow("Akun sudah ada di aplikasi, lanjutkan", "/mfa/setup/kode")
    expect(page.locator("#step-count")).to_have_text(re.compile("langkah 3 dari 3"))
    expect(page.locator("#step-count")).to_have_count(1)
    page.go_back()
    at_step(page, "/mfa/setup/akun")
    assert pyotp.parse_uri(page.locator("#open-in-app").get_attribute("href")).secret == secret
    page.go_back()
    at_step(page, "/mfa/setup")
    page.go_forward()
    at_step(page, "/mfa/setup/akun")
    if java_script_enabled:
        assert loaded() == [], "Back and Forward between the steps asked the server"
    follow("Kembali: pasang aplikasi", "/mfa/setup")
    follow("Sudah terpasang, lanjutkan", "/mfa/setup/akun")

    page.reload()  # the step's own page, from the server
    at_step(page, "/mfa/setup/akun")
    assert pyotp.parse_uri(page.locator("#open-in-app").get_attribute("href")).secret == secret
    follow("Akun sudah ada di aplikasi, lanjutkan", "/mfa/setup/kode")
    page.reload()
    at_step(page, "/mfa/setup/kode")
    for path in ("/mfa/setup/akun", "/mfa/setup", "/mfa/setup/akun", "/mfa/setup"):  # the "Kembali" link's step 1 too
        page.go_back()
        at_step(page, path)
        whole_page(page)
    follow("Sudah terpasang, lanjutkan", "/mfa/setup/akun")
    follow("Akun sudah ada di aplikasi, lanjutkan", "/mfa/setup/kode")

    if java_script_enabled:  # the step's form, shown from a template, posts with htmx as on its own page
        page.locator("#otp").fill(wrong_code(secret))
        submit(page, "Aktifkan", "/mfa/setup", True, status=422)
        expect(page.locator("#otp-error")).to_contain_text("Kode tidak cocok")
        expect(page).to_have_title("Kesalahan: Masukkan kode dari aplikasi · Portal ASN Digital")
        assert loaded() == ["/mfa/setup"]
    page.locator("#otp").fill(pyotp.TOTP(secret).now())
    submit_and_redirect(page, "Aktifkan", "/mfa/setup", java_script_enabled, "/mfa/kode-pemulihan")
    at_step(page, "/mfa/kode-pemulihan")
    page.go_back()  # signed in now: the set-up steps lead to the codes still to be saved
    at_step(page, "/mfa/kode-pemulihan")
    whole_page(page)


@pytest.mark.parametrize("step", ["/login/kode", "/mfa/setup", "/mfa/setup/akun", "/mfa/setup/kode"])
def test_cancel_ends_the_pending_sign_in(page, live_server, java_script_enabled, step):
    live_server.employee()
    page.goto("/login")
    fill_login(page, NIP, NIK)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/login/kode")
    if step != "/login/kode":
        page.locator("#code").fill(last_code())
        fill_new_password(page)
        submit_and_redirect(page, "Lanjutkan", "/login/kode", java_script_enabled, "/mfa/setup")
    if step in ("/mfa/setup/akun", "/mfa/setup/kode"):  # shown from the page's templates with JavaScript
        page.get_by_role("link", name="Sudah terpasang, lanjutkan").click()
    if step == "/mfa/setup/kode":
        page.get_by_role("link", name="Akun sudah ada di aplikasi, lanjutkan").click()
    at_step(page, step)
    submit_and_redirect(page, "Batal", "/login/batal", False, "/login")
    # What happens next, with the password to use now.
    expected = ("kata sandi yang baru Anda buat" if step.startswith("/mfa/")
                else "NIK (16 digit) sebagai kata sandi awal")
    expect(page.locator("#pesan")).to_contain_text("Proses masuk dibatalkan")
    expect(page.locator("#pesan")).to_contain_text(expected)
    page.goto(step)
    expect(page).to_have_url(url_is("/login"))


def test_otp_field_opens_a_numeric_keyboard_and_takes_spaces(page, live_server, java_script_enabled, clock):
    from tests.browser.test_journey import code_at_server_time

    live_server.employee()
    page.goto("/login")
    fill_login(page, NIP, NIK)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/login/kode")
    code = page.locator("#code")
    expect(code).to_have_attribute("inputmode", "numeric")
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    expect(code).to_have_attribute("pattern", "[0-9 ]*")
    right = last_code()
    code.fill(f"{right[:3]} {right[3:]}")  # as a message shows it
    fill_new_password(page)
    submit_and_redirect(page, "Lanjutkan", "/login/kode", java_script_enabled, "/mfa/setup")
    page.goto("/mfa/setup/akun")
    secret = pyotp.parse_uri(page.locator("#open-in-app").get_attribute("href")).secret
    page.goto("/mfa/setup/kode")
    otp = page.locator("#otp")
    for name, value in (("inputmode", "numeric"), ("autocomplete", "one-time-code"), ("pattern", "[0-9 ]*")):
        expect(otp).to_have_attribute(name, value)
    typed = code_at_server_time(secret, clock)
    otp.fill(f"{typed[:3]} {typed[3:]}")  # as the app shows it
    submit_and_redirect(page, "Aktifkan", "/mfa/setup", java_script_enabled, "/mfa/kode-pemulihan")


def test_error_summary_takes_the_focus_and_links_to_the_field(page, live_server, java_script_enabled):
    live_server.employee()
    page.goto("/login")
    fill_login(page, NIP, NIK)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/login/kode")
    # An empty required field: the server's Indonesian message, not the browser's bubble.
    expect(page.locator("#code-form")).to_have_attribute("novalidate", "")
    submit(page, "Lanjutkan", "/login/kode", java_script_enabled, status=422)
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading", level=2)).to_have_text("Ada masalah")
    assert page.evaluate("document.querySelector('main').firstElementChild.id") == "pesan"
    assert page.evaluate("document.querySelector('#code-step').firstElementChild.classList.contains('error-summary')")
    expect(page).to_have_title(re.compile(r"^Kesalahan: "))
    code = page.locator("#code")
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(code).to_have_attribute("aria-describedby", re.compile(r"\bcode-error\b"))
    expect(page.locator("#code-error")).to_contain_text("6 digit")
    link = summary.get_by_role("link", name=re.compile("6 digit"))
    expect(link).to_have_attribute("href", "#code")
    link.click()
    expect(code).to_be_focused() if java_script_enabled else expect(page).to_have_url(re.compile(r"#code$"))


CONTRAST = """() => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
  const linear = x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
  const lum = c => { const v = rgb(c).map(linear); return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const background = el => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      const c = getComputedStyle(a).backgroundColor;
      if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c;
    }
    return 'rgb(255, 255, 255)';
  };
  const el = document.activeElement, style = getComputedStyle(el);
  const ring = [style.outlineStyle !== 'none' ? style.outlineColor : null,
                (style.boxShadow.match(/rgba?\\([^)]*\\)/) || [null])[0]].filter(Boolean);
  const bg = background(el);
  return {what: el.outerHTML.slice(0, 80), background: bg, best: Math.max(0, ...ring.map(c => ratio(c, bg)))};
}"""


@pytest.mark.parametrize("java_script_enabled", [True], ids=["js-on"])
def test_focus_ring_contrast_is_at_least_3_to_1_on_every_background(page, live_server):
    """Tab through the login page (links on the blue header, fields and buttons on white,
    the grey page): the focus ring reaches 3:1 against what is behind it (WCAG 1.4.11)."""
    page.goto("/login")
    seen = 0
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            continue
        result = page.evaluate(CONTRAST)
        assert result["best"] >= 3, result
        seen += 1
    assert seen >= 6
    expect(page.locator(".skip-link")).to_have_text("Langsung ke isi utama")
