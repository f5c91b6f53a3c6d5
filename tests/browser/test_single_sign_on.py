"""Single sign-on in real Chromium, JavaScript on and off, against apps built on another
OpenID Connect implementation (pyoidc, tests/browser/relying_party.py) on loopback: the
first sign-in of a new employee from an app, a second app with no password, prompt=login,
sign-out reaching both apps by back-channel logout, and the requests that must fail."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlparse

import pytest
from playwright.sync_api import expect

import demo
import models
from tests.browser.relying_party import RelyingParty
from tests.browser.test_journey import (
    NAME,
    code_at_server_time,
    enrollment_secret,
    fill_enrollment,
    fill_login,
    prove_with_code,
    submit,
    submit_and_redirect,
    to_enrollment_code,
    to_enrollment_key,
    url_is,
)
from tests.helpers import NIK, NIP, PASSWORD
from tests.live import live_portal


@pytest.fixture
def ekinerja(live_server):
    app = RelyingParty("e-Kinerja", live_server)
    yield app
    app.stop()


@pytest.fixture
def simpeg(live_server):
    app = RelyingParty("SIMPEG", live_server, is_pre_approved=True)
    yield app
    app.stop()


def expect_back_at(page, app, sign_ins: int):
    """The browser is at the app's callback, the app holds a verified ID token for the NIP."""
    expect(page).to_have_url(re.compile("^" + re.escape(app.redirect_uri) + r"\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{app.name}: masuk sebagai {NAME}")
    assert len(app.sign_ins) == sign_ins, app.sign_ins
    claims = app.sign_ins[-1]
    assert claims["nip"] == NIP and claims["name"] == NAME
    assert claims["iss"] == app.portal.url and app.client_id in claims["aud"]
    assert claims["sub"] != NIP and claims["amr"] == ["pwd", "otp", "mfa"]
    return claims


def enroll_and_continue(page, secret, clock, java_script_enabled):
    fill_enrollment(page, code_at_server_time(secret, clock))
    submit_and_redirect(page, "Aktifkan", "/mfa/setup", java_script_enabled, "/mfa/kode-pemulihan")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    # After the recovery codes, the sign-in goes on to the app that asked for it.
    with page.expect_response(lambda r: urlparse(r.url).path == "/mfa/kode-pemulihan/selesai") as saved:
        page.get_by_role("button", name="Saya sudah menyimpan kode ini", exact=True).click()
    # The app's address is not a page of the portal: htmx is told to go there (HX-Redirect).
    leads_to = saved.value.header_value("hx-redirect" if java_script_enabled else "location")
    assert saved.value.status == (200 if java_script_enabled else 303)
    assert urlparse(leads_to).path == "/oidc/authorize"


def test_first_sign_in_from_an_app_then_single_sign_on_and_sign_out_everywhere(
        page, live_server, ekinerja, simpeg, clock, java_script_enabled, tmp_path):
    live_server.employee()
    # The portal's clock a little behind, so that the OTP of step 4 can come from a later
    # time step than the enrollment's without any token being issued in the apps' future.
    clock.freeze(datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=90))

    # 1. The employee opens e-Kinerja and signs in there: the portal's first sign-in.
    page.goto(ekinerja.login_link())
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)oidc(/|%2F)authorize"))
    fill_login(page, NIP, NIK)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/login/kode")
    prove_with_code(page, java_script_enabled)
    to_enrollment_key(page)
    secret = enrollment_secret(page, tmp_path / "qr.png")
    to_enrollment_code(page)
    enrolled_at = clock.now()
    enroll_and_continue(page, secret, clock, java_script_enabled)

    # 2. Consent: exactly the data e-Kinerja will get.
    expect(page.get_by_role("heading", level=1)).to_have_text("e-Kinerja meminta izin")
    expect(page.locator(".consent-list li")).to_have_count(4)
    assert not ekinerja.sign_ins
    page.get_by_role("button", name="Izinkan", exact=True).click()
    first = expect_back_at(page, ekinerja, 1)

    # 3. SIMPEG (an internal app, pre-approved): no password, no OTP, no page at all.
    with page.expect_navigation():
        page.goto(simpeg.login_link())
    expect_back_at(page, simpeg, 1)
    assert simpeg.sign_ins[0]["sub"] == first["sub"]
    assert simpeg.sign_ins[0]["auth_time"] == first["auth_time"]

    # 4. prompt=login: the password and an OTP again, then straight back (consent given).
    clock.freeze(enrolled_at + timedelta(seconds=60))
    page.goto(ekinerja.login_link(prompt="login"))
    expect(page).to_have_url(re.compile(r"/login\?"))
    expect(page.locator("#nip")).to_be_visible()
    fill_login(page, NIP, PASSWORD)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/login/otp")
    page.locator("#otp").fill(code_at_server_time(secret, clock))
    submit(page, "Verifikasi", "/login/otp", java_script_enabled)
    second = expect_back_at(page, ekinerja, 2)
    assert second["auth_time"] > first["auth_time"]
    assert second["nonce"] != first["nonce"]

    # 5. Signing out of the portal signs the employee out of both apps.
    page.goto(live_server.url + "/dashboard")
    submit_and_redirect(page, "Keluar", "/logout", False, "/login")
    (to_ekinerja,) = ekinerja.wait_for_logouts(1)
    (to_simpeg,) = simpeg.wait_for_logouts(1)
    assert to_ekinerja["sid"] == second["sid"] and to_ekinerja["sub"] == first["sub"]
    assert to_simpeg["sid"] == simpeg.sign_ins[0]["sid"]
    assert ekinerja.refused_logouts == simpeg.refused_logouts == 0


@pytest.fixture
def enrolled(live_server):
    """An employee with a password and a confirmed authenticator; returns the TOTP secret."""
    employee = live_server.employee()
    settings = live_server.app.extensions["settings"]
    with models.db.connection_context():
        account = models.Account.for_employee(employee)
        account.set_password(PASSWORD, settings)
        authenticator = models.Authenticator.pending_for(account, settings)
        authenticator.confirm("Ponsel pribadi")
        return authenticator.secret(settings)


def sign_in_with_otp(page, secret, clock, java_script_enabled):
    fill_login(page, NIP, PASSWORD)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/login/otp")
    page.locator("#otp").fill(code_at_server_time(secret, clock))
    submit(page, "Verifikasi", "/login/otp", java_script_enabled)


def test_every_way_back_to_the_app_after_a_portal_form(page, live_server, ekinerja, enrolled, clock,
                                                       java_script_enabled):
    """Browsers apply a form's Content-Security-Policy (form-action 'self') to the redirects
    that follow it: after the OTP (htmx or a plain form), the consent (allow or refuse) and
    the logout confirmation, the browser still reaches the app."""
    clock.freeze(datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=60))

    # Refusing consent: the app hears access_denied.
    page.goto(ekinerja.login_link())
    sign_in_with_otp(page, enrolled, clock, java_script_enabled)
    expect(page.get_by_role("heading", level=1)).to_have_text("e-Kinerja meminta izin")
    page.get_by_role("button", name="Tolak", exact=True).click()
    expect(page).to_have_url(re.compile("^" + re.escape(ekinerja.redirect_uri) + r"\?error=access_denied"))
    assert [error["error"] for error in ekinerja.errors] == ["access_denied"]

    # Signed in already: the consent page, then the app.
    page.goto(ekinerja.login_link())
    page.get_by_role("button", name="Izinkan", exact=True).click()
    claims = expect_back_at(page, ekinerja, 1)

    # The app asks the portal to sign the employee out without an ID token: the portal asks
    # first and, unsure who asked, does not send the browser anywhere (RP-Initiated Logout §3).
    query = urlencode({"client_id": ekinerja.client_id, "state": "keluar-1",
                       "post_logout_redirect_uri": ekinerja.post_logout_redirect_uri})
    page.goto(f"/oidc/logout?{query}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Keluar dari Portal ASN Digital?")
    page.get_by_role("button", name="Keluar", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Anda telah keluar")
    expect(page.get_by_role("status")).to_contain_text("dan dari e-Kinerja")
    assert ekinerja.signed_out == []
    (logout,) = ekinerja.wait_for_logouts(1)
    assert logout["sid"] == claims["sid"]
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/login\?next="))

    # With the ID token as a hint, a signed-in employee is signed out at once.
    clock.freeze(clock.now() + timedelta(seconds=30))  # the next TOTP step
    page.goto(ekinerja.login_link())
    sign_in_with_otp(page, enrolled, clock, java_script_enabled)
    claims = expect_back_at(page, ekinerja, 2)
    query = urlencode({"id_token_hint": claims["_jwt"], "state": "keluar-2",
                       "post_logout_redirect_uri": ekinerja.post_logout_redirect_uri})
    page.goto(f"/oidc/logout?{query}")
    expect(page.get_by_role("heading", level=1)).to_have_text("e-Kinerja: Anda telah keluar")
    assert ekinerja.signed_out == [{"state": ["keluar-2"]}]
    assert len(ekinerja.wait_for_logouts(2)) == 2


@pytest.mark.parametrize("near_miss", ["/callback/", "/callback?x=1", "/Callback", "/callbackx"])
def test_an_unregistered_or_near_miss_redirect_uri_shows_an_error_and_never_redirects(
        page, live_server, ekinerja, near_miss):
    sent_to_app = []
    page.on("request", lambda r: r.url.startswith(ekinerja.url) and sent_to_app.append(r.url))
    for redirect_uri in (ekinerja.url + near_miss, "http://127.0.0.1:9/callback"):
        query = urlencode({"response_type": "code", "client_id": ekinerja.client_id, "scope": "openid",
                           "redirect_uri": redirect_uri, "state": "s", "nonce": "n"})
        response = page.goto(f"/oidc/authorize?{query}")
        assert response.status == 400
        expect(page).to_have_url(url_is("/oidc/authorize"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Permintaan masuk dari aplikasi tidak sah")
    page.wait_for_timeout(300)  # a meta refresh or script would have moved on by now
    expect(page).to_have_url(url_is("/oidc/authorize"))
    assert sent_to_app == [] and ekinerja.sign_ins == ekinerja.errors == []


def test_prompt_none_without_a_session_answers_login_required(page, live_server, ekinerja):
    page.goto(ekinerja.login_link(prompt="none"))
    expect(page).to_have_url(re.compile("^" + re.escape(ekinerja.redirect_uri) + r"\?error=login_required"))
    expect(page.locator("#error")).to_have_text("login_required")
    assert [error["error"] for error in ekinerja.errors] == ["login_required"]
    assert ekinerja.sign_ins == []


@pytest.fixture
def demo_page(browser, tmp_path, java_script_enabled):
    """A page on a portal in demo mode (with e-Kinerja (demo))."""
    with live_portal(tmp_path / "demo.db", demo=True) as server:
        context = browser.new_context(base_url=server.url, java_script_enabled=java_script_enabled, locale="id-ID",
                                      timezone_id="Asia/Jakarta", viewport={"width": 360, "height": 740})
        context.set_default_timeout(10_000)
        try:
            yield context.new_page(), server
        finally:
            context.close()


def test_the_demo_app_shows_a_class_single_sign_on(demo_page, clock, java_script_enabled):
    page, server = demo_page
    siti = demo.DEMO_EMPLOYEES[1]
    settings = server.app.extensions["settings"]
    with models.db.connection_context():
        account = models.Account.for_employee(models.Employee.by_nip(siti["nip"]))
        account.set_password(PASSWORD, settings)
        authenticator = models.Authenticator.pending_for(account, settings)
        authenticator.confirm("Ponsel pribadi")
        secret = authenticator.secret(settings)

    page.goto("/login")
    page.locator(".demo-banner").get_by_role("link", name="e-Kinerja (demo)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("e-Kinerja (demo)")
    page.get_by_role("link", name="Masuk dengan Portal ASN Digital").click()
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("NIP", exact=True).fill(siti["nip"])
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    submit_and_redirect(page, "Masuk", "/login", java_script_enabled, "/login/otp")
    page.locator("#otp").fill(code_at_server_time(secret, clock))
    submit(page, "Verifikasi", "/login/otp", java_script_enabled)
    expect(page.get_by_role("heading", level=1)).to_have_text("e-Kinerja (demo) meminta izin")
    page.get_by_role("button", name="Izinkan", exact=True).click()

    expect(page).to_have_url(url_is("/pelatih/ekinerja/"))
    expect(page.get_by_role("status")).to_contain_text(f"Anda masuk sebagai {siti['nama']}")
    expect(page.locator('[data-claim="nip"]')).to_have_text(siti["nip"])
    expect(page.locator('[data-claim="unit_kerja"]')).to_have_text(siti["unit_kerja"])
    expect(page.locator('[data-claim="amr"]')).to_have_text("pwd, otp, mfa")

    page.get_by_role("button", name="Keluar dari e-Kinerja (demo)").click()
    expect(page).to_have_url(re.compile(r"/pelatih/ekinerja/\?state=keluar$"))
    expect(page.get_by_role("status")).to_have_text(
        "Anda telah keluar dari e-Kinerja (demo) dan dari Portal ASN Digital.")
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/login\?next="))
