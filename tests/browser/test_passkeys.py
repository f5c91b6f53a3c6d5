"""Passkeys in real Chromium, with DevTools' virtual authenticator (a phone with a
fingerprint reader: CTAP2, internal, resident keys, user verification): add one, sign in
with it as the second factor and alone, and every refusal (another origin, a replayed
answer, a counter that went backwards, removal, the helpdesk's reset). Without
JavaScript the buttons are not there and the password journey is unchanged.

WebAuthn needs a host name (an IP address cannot be a relying party): the portal is
reached as http://localhost:PORT here."""

import base64
import json

import pytest
from playwright.sync_api import expect

import models
from security import clock
from tests.browser.test_journey import fill_login, url_is
from tests.helpers import HELPDESK_NIK, HELPDESK_NIP, NIP, PASSWORD, code, make_employee

# What the look-alike site's own script does with the relayed options: ask the phone,
# send the answer back.
LOOK_ALIKE_JS = """async options => {
  const toText = buffer => btoa(String.fromCharCode.apply(null, new Uint8Array(buffer)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const toBytes = text => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), c => c.charCodeAt(0));
  options.challenge = toBytes(options.challenge);
  const c = await navigator.credentials.get({publicKey: options});
  return JSON.stringify({id: c.id, rawId: toText(c.rawId), type: c.type, clientExtensionResults: {},
    response: {clientDataJSON: toText(c.response.clientDataJSON), signature: toText(c.response.signature),
               authenticatorData: toText(c.response.authenticatorData),
               userHandle: toText(c.response.userHandle)}});
}"""


def enrolled_account(app, nip=NIP, nik="3273010101900001", role="pegawai", **fields):
    """An employee with a password and a TOTP authenticator (set up here, not in the
    browser: other tests walk that journey); returns the TOTP secret."""
    with models.db.connection_context():
        employee = make_employee(nip=nip, nik=nik, **fields)
        account = models.Account.for_employee(employee)
        settings = app.extensions["settings"]
        account.set_password(PASSWORD, settings)
        account.set_role(role)
        authenticator = models.Authenticator.pending_for(account, settings)
        authenticator.confirm("Ponsel pribadi")
        return authenticator.secret(settings)


@pytest.fixture
def portal(live_server):
    """The live server, addressed as localhost (its RP ID), its clock stopped (moved on by
    sign_in_with_otp)."""
    clock.freeze(clock.now())
    port = live_server.http.server.effective_port
    live_server.url = f"http://localhost:{port}"
    live_server.app.config.update(BASE_URL=live_server.url, TRUSTED_HOSTS=[f"localhost:{port}"])
    yield live_server
    clock.unfreeze()


def new_page(browser, portal, java_script_enabled=True):
    context = browser.new_context(base_url=portal.url, java_script_enabled=java_script_enabled, locale="id-ID",
                                  timezone_id="Asia/Jakarta", viewport={"width": 800, "height": 900})
    context.set_default_timeout(10_000)
    return context.new_page()


@pytest.fixture
def phone(browser, portal):
    """A page whose browser has a virtual authenticator with a fingerprint reader."""
    page = new_page(browser, portal)
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})["authenticatorId"]
    page.cdp, page.authenticator_id = cdp, authenticator
    yield page
    page.context.close()


def credentials(page) -> list:
    return page.cdp.send("WebAuthn.getCredentials", {"authenticatorId": page.authenticator_id})["credentials"]


def sign_in_with_otp(page, secret):
    """Password and OTP; the server's clock moves on 30 s first, so no code is used twice."""
    clock.advance(seconds=30)
    page.goto("/login")
    fill_login(page, NIP, PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    expect(page).to_have_url(url_is("/login/otp"))
    page.locator("#otp").fill(code(secret))
    page.get_by_role("button", name="Verifikasi").click()
    expect(page).to_have_url(url_is("/dashboard"))


def add_passkey(page, name="Ponsel saya"):
    page.goto("/dashboard/keamanan")
    page.get_by_role("link", name="Tambah passkey").click()
    expect(page).to_have_url(url_is("/dashboard/keamanan/passkey/baru"))
    expect(page.locator("[data-passkey-unsupported]")).to_be_hidden()
    page.get_by_label("Nama passkey").fill(name)
    page.get_by_label("Kata sandi sekarang", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Daftarkan passkey").click()
    expect(page).to_have_url(url_is("/dashboard/keamanan"))
    expect(page.locator("#passkey-list")).to_contain_text(name)


def sign_out(page):
    page.get_by_role("button", name="Keluar", exact=True).click()
    expect(page).to_have_url(url_is("/login"))


def tap_passkey_sign_in(page):
    page.goto("/login")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/login/passkey")) as info:
        page.get_by_role("button", name="Masuk dengan passkey").click()
    return info.value


def test_add_a_passkey_then_use_it_as_second_factor_and_alone(phone, portal):
    secret = enrolled_account(portal.app)
    sign_in_with_otp(phone, secret)
    add_passkey(phone)
    stored = credentials(phone)
    assert len(stored) == 1 and stored[0]["isResidentCredential"] and stored[0]["rpId"] == "localhost"

    # The second factor: after the password, the passkey instead of the code.
    sign_out(phone)
    fill_login(phone, NIP, PASSWORD)
    phone.get_by_role("button", name="Masuk", exact=True).click()
    expect(phone).to_have_url(url_is("/login/otp"))
    phone.get_by_role("button", name="Gunakan sidik jari / wajah (passkey)").click()
    expect(phone).to_have_url(url_is("/dashboard"))

    # Alone: one tap on the login page, no NIP, no password, no code.
    sign_out(phone)
    assert tap_passkey_sign_in(phone).status == 303
    expect(phone).to_have_url(url_is("/dashboard"))
    with models.db.connection_context():
        methods = [r.detail for r in models.AuditEvent.select().where(models.AuditEvent.event == "login.ok")
                   .order_by(models.AuditEvent.id)]
        assert methods == ["otp", "passkey", "passkey_sign_in"]
        assert models.Passkey.get().sign_count == credentials(phone)[0]["signCount"] > 0


def test_an_answer_made_on_another_origin_is_refused(phone, portal):
    """A look-alike site (another origin on the same host name) relays the portal's
    challenge to the phone: the browser signs for the look-alike's origin, and the
    portal refuses the answer."""
    secret = enrolled_account(portal.app)
    sign_in_with_otp(phone, secret)
    add_passkey(phone)
    sign_out(phone)
    token = phone.locator("#passkey-sign-in input[name=csrf_token]").input_value()
    options = phone.evaluate("""token => {
        const body = new FormData(); body.append("csrf_token", token);
        return fetch("/login/passkey/opsi", {method: "POST", body}).then(r => r.json());
    }""", token)
    look_alike = f"localhost:{int(portal.http.server.effective_port) + 1}"
    fake = f"http://{look_alike}/masuk"
    phone.route(fake, lambda route: route.fulfill(content_type="text/html",
                                                  body="<!doctype html><title>Portal ASN Digital</title>"))
    phone.goto(fake)
    answer = phone.evaluate(LOOK_ALIKE_JS, options)
    client_data = json.loads(answer)["response"]["clientDataJSON"]
    assert json.loads(base64.urlsafe_b64decode(client_data + "=="))["origin"] == f"http://{look_alike}"
    relayed = phone.request.post(f"{portal.url}/login/passkey", form={"credential": answer, "csrf_token": token})
    assert relayed.status == 422 and "alamat resmi portal" in relayed.text()
    phone.goto(f"{portal.url}/dashboard")
    expect(phone).to_have_url(url_is("/login"))


def test_a_replayed_answer_and_a_counter_going_backwards_are_refused(phone, portal):
    secret = enrolled_account(portal.app)
    sign_in_with_otp(phone, secret)
    add_passkey(phone)
    sign_out(phone)

    sent = []
    phone.on("request", lambda r: sent.append(r.post_data_json) if r.url.endswith("/login/passkey") else None)
    assert tap_passkey_sign_in(phone).status == 303
    sign_out(phone)
    token = phone.locator("#passkey-sign-in input[name=csrf_token]").input_value()
    replayed = phone.request.post(f"{portal.url}/login/passkey",
                                  form={"credential": sent[0]["credential"], "csrf_token": token})
    assert replayed.status == 422 and "sudah dipakai" in replayed.text()

    # A clone of the key made before its last use: same key, an older counter.
    (credential,) = credentials(phone)
    phone.cdp.send("WebAuthn.removeCredential", {"authenticatorId": phone.authenticator_id,
                                                 "credentialId": credential["credentialId"]})
    phone.cdp.send("WebAuthn.addCredential", {"authenticatorId": phone.authenticator_id,
                                              "credential": {**credential, "signCount": 0}})
    response = tap_passkey_sign_in(phone)
    assert response.status == 422
    expect(phone.locator(".error-summary")).to_contain_text("penghitung keamanannya mundur")
    with models.db.connection_context():
        assert models.AuditEvent.select().where(models.AuditEvent.event == "passkey.cloned").exists()


def test_a_removed_passkey_and_a_helpdesk_reset_end_it(phone, portal, browser):
    secret = enrolled_account(portal.app)
    sign_in_with_otp(phone, secret)
    add_passkey(phone, "Ponsel lama")
    phone.locator("#passkey-list").get_by_role("link", name="Hapus").click()
    phone.get_by_label("Kata sandi sekarang", exact=True).fill(PASSWORD)
    phone.get_by_role("button", name="Hapus").click()
    expect(phone).to_have_url(url_is("/dashboard/keamanan"))
    expect(phone.locator("#passkey-list")).to_have_count(0)
    sign_out(phone)
    assert tap_passkey_sign_in(phone).status == 422
    expect(phone.locator(".error-summary")).to_contain_text("tidak terdaftar")

    # A new passkey, then the helpdesk's "Atur ulang MFA" (phone lost): it is gone too.
    sign_in_with_otp(phone, secret)
    add_passkey(phone, "Ponsel baru")
    sign_out(phone)
    helpdesk_secret = enrolled_account(portal.app, nip=HELPDESK_NIP, nik=HELPDESK_NIK, role="helpdesk",
                                       nama="Petugas Helpdesk", email="helpdesk@example.go.id")
    desk = new_page(browser, portal)
    desk.goto("/login")
    fill_login(desk, HELPDESK_NIP, PASSWORD)
    desk.get_by_role("button", name="Masuk", exact=True).click()
    desk.locator("#otp").fill(code(helpdesk_secret))
    desk.get_by_role("button", name="Verifikasi").click()
    expect(desk).to_have_url(url_is("/dashboard"))
    desk.goto(f"/admin/pegawai/{NIP}")
    expect(desk.locator("#passkeys")).to_contain_text("Ponsel baru")
    desk.get_by_role("link", name="Atur ulang MFA").click()
    desk.get_by_label("KTP", exact=False).first.check()
    desk.get_by_role("textbox", name="Alasan").fill("ponsel hilang, lapor lewat telepon")
    desk.get_by_role("button", name="Atur ulang MFA").click()
    expect(desk.locator("#passkeys")).to_have_text("tidak ada")
    desk.context.close()
    assert tap_passkey_sign_in(phone).status == 422
    fill_login(phone, NIP, PASSWORD)
    phone.get_by_role("button", name="Masuk", exact=True).click()
    expect(phone).to_have_url(url_is("/mfa/setup"))


def test_without_javascript_there_is_no_passkey_button_and_the_password_works(browser, portal):
    secret = enrolled_account(portal.app)
    with models.db.connection_context():
        account = models.Account.get()
        models.Passkey.create(account=account, name="Ponsel saya", credential_id="AAAA", public_key="AAAA")
    page = new_page(browser, portal, java_script_enabled=False)
    page.goto("/login")
    expect(page.get_by_role("button", name="Masuk dengan passkey")).to_be_hidden()
    fill_login(page, NIP, PASSWORD)
    page.get_by_role("button", name="Masuk", exact=True).click()
    expect(page).to_have_url(url_is("/login/otp"))
    expect(page.get_by_role("button", name="Gunakan sidik jari / wajah (passkey)")).to_be_hidden()
    page.locator("#otp").fill(code(secret))
    page.get_by_role("button", name="Verifikasi").click()
    expect(page).to_have_url(url_is("/dashboard"))
    page.goto("/dashboard/keamanan")
    expect(page.locator("#passkey-list")).to_contain_text("Ponsel saya")
    expect(page.get_by_role("link", name="Tambah passkey")).to_be_hidden()
    page.context.close()


def test_a_browser_without_webauthn_shows_no_passkey_button(browser, portal):
    page = new_page(browser, portal)
    page.add_init_script("delete window.PublicKeyCredential")
    page.goto("/login")
    expect(page.get_by_role("button", name="Masuk", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Masuk dengan passkey")).to_be_hidden()
    page.context.close()
