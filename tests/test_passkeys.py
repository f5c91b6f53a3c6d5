"""Passkeys (passkeys.py, views/auth.py, views/dashboard.py) through the test client, with
a software authenticator (tests/soft_authenticator.py) that answers as a phone would, or
lies: another origin, a replayed answer, a counter that went backwards, no fingerprint."""

import json

import pytest

import models
from settings import Settings
from tests.helpers import NIP, PASSWORD, code, login, next_step, sign_in_as
from tests.soft_authenticator import SoftAuthenticator

ADD = "/dashboard/keamanan/passkey/baru"


def events(name):
    with models.db.connection_context():
        return list(models.AuditEvent.select().where(models.AuditEvent.event == name).order_by(models.AuditEvent.id))


def passkeys_of(nip=NIP):
    with models.db.connection_context():
        account = models.Account.for_employee(models.Employee.by_nip(nip))
        return list(models.Passkey.of(account))


def sign_in_with_otp(client, secret, clock):
    assert login(client, NIP, PASSWORD).location == "/login/otp"
    next_step(clock)
    assert client.post("/login/otp", data={"otp": code(secret)}).status_code == 303


def add_passkey(client, phone, name="Ponsel saya", password=PASSWORD, **create):
    options = client.post("/dashboard/keamanan/passkey/opsi").get_json()
    return client.post(ADD, data={"device_name": name, "password": password,
                                  "credential": phone.create(options, **create)})


def passkey_sign_in(client, phone, **get):
    options = client.post("/login/passkey/opsi").get_json()
    return client.post("/login/passkey", data={"credential": phone.get(options, **get)})


def passkey_second_factor(client, phone, **get):
    options = client.post("/login/otp/passkey/opsi").get_json()
    return client.post("/login/otp/passkey", data={"credential": phone.get(options, **get)})


@pytest.fixture
def phone(client, enrolled, clock):
    """An enrolled employee who added a passkey on `phone` and signed out."""
    phone = SoftAuthenticator()
    sign_in_with_otp(client, enrolled, clock)
    assert add_passkey(client, phone).status_code == 303
    client.post("/logout")
    return phone


def test_adding_a_passkey_lists_it_audits_and_tells_the_owner(client, enrolled, clock):
    sign_in_with_otp(client, enrolled, clock)
    options = client.post("/dashboard/keamanan/passkey/opsi").get_json()
    assert options["rp"]["id"] == "localhost" and options["user"]["name"] == NIP
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["attestation"] == "none" and options["excludeCredentials"] == []

    phone = SoftAuthenticator()
    response = client.post(ADD, data={"device_name": "Ponsel kantor", "password": PASSWORD,
                                      "credential": phone.create(options)})
    assert response.status_code == 303 and response.location == "/dashboard/keamanan"
    page = client.get("/dashboard/keamanan").get_data(as_text=True)
    listed = page.split('id="passkey-list"')[1].split("</ul>")[0]
    assert "Ponsel kantor" in listed and "ditambahkan 23-11-2026" in listed and "belum pernah" in listed
    assert [e.detail for e in events("passkey.added")] == ["Ponsel kantor"]
    with models.db.connection_context():
        assert models.Message.select().where(models.Message.subject.contains("Passkey baru")).exists()
    # The same phone is not offered to register again.
    again = client.post("/dashboard/keamanan/passkey/opsi").get_json()
    assert [c["id"] for c in again["excludeCredentials"]] == [passkeys_of()[0].credential_id]


@pytest.mark.parametrize("lie", ["wrong password", "no fingerprint", "other origin", "replayed", "junk"])
def test_a_passkey_is_not_added_without_proof(client, enrolled, clock, lie):
    sign_in_with_otp(client, enrolled, clock)
    phone = SoftAuthenticator(origin="http://localhost.example.net" if lie == "other origin" else "http://localhost")
    if lie == "replayed":
        assert add_passkey(client, phone).status_code == 303
        answer = phone.create(client.post("/dashboard/keamanan/passkey/opsi").get_json())
        client.post(ADD, data={"device_name": "a", "password": PASSWORD, "credential": answer})
        response = client.post(ADD, data={"device_name": "b", "password": PASSWORD, "credential": answer})
    elif lie == "junk":
        client.post("/dashboard/keamanan/passkey/opsi")
        response = client.post(ADD, data={"device_name": "x", "password": PASSWORD, "credential": '{"id": 1}'})
    else:
        response = add_passkey(client, phone, password="Salah!2026x" if lie == "wrong password" else PASSWORD,
                               user_verified=lie != "no fingerprint")
    assert response.status_code in (409, 422)
    assert "Ada masalah" in response.get_data(as_text=True)
    assert len(passkeys_of()) == (1 if lie == "replayed" else 0)


def test_sign_in_with_a_passkey_alone_is_one_tap(client, phone, clock):
    options = client.post("/login/passkey/opsi").get_json()
    assert options["allowCredentials"] == [] and options["userVerification"] == "required"
    response = client.post("/login/passkey", data={"credential": phone.get(options)})
    assert response.status_code == 303 and response.location == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    with models.db.connection_context():
        assert models.SessionRecord.get().auth_method == "passkey_sign_in"
    assert events("login.ok")[-1].detail == "passkey_sign_in"
    assert "masuk tanpa kata sandi" in events("passkey.used")[-1].detail
    assert "terakhir dipakai 23-11-2026" in client.get("/dashboard/keamanan").get_data(as_text=True)


def test_a_passkey_sign_in_from_a_new_browser_gets_the_cookie_and_the_mail(app, phone, clock):
    def new_device_mails():
        with models.db.connection_context():
            return models.Message.select().where(models.Message.subject.contains("perangkat baru")).count()

    browser = app.test_client()
    before = new_device_mails()
    assert passkey_sign_in(browser, phone).status_code == 303
    assert new_device_mails() == before + 1
    assert browser.get_cookie(models.TrustedDevice.COOKIE) is not None
    browser.post("/logout")
    assert passkey_sign_in(browser, phone).status_code == 303
    assert new_device_mails() == before + 1  # a known browser now


def test_a_passkey_as_the_second_factor_counts_like_an_otp(client, phone, clock):
    assert login(client, NIP, PASSWORD).location == "/login/otp"
    assert 'id="passkey-second-factor"' in client.get("/login/otp").get_data(as_text=True)
    options = client.post("/login/otp/passkey/opsi").get_json()
    assert [c["id"] for c in options["allowCredentials"]] == [passkeys_of()[0].credential_id]
    response = client.post("/login/otp/passkey", data={"credential": phone.get(options)})
    assert response.status_code == 303 and response.location == "/dashboard"
    with models.db.connection_context():
        assert models.SessionRecord.get().auth_method == "passkey"
    assert events("login.ok")[-1].detail == "passkey"


def test_the_otp_step_offers_a_passkey_only_to_accounts_that_have_one(client, enrolled, clock):
    assert login(client, NIP, PASSWORD).location == "/login/otp"
    page = client.get("/login/otp").get_data(as_text=True)
    assert "passkey-second-factor" not in page
    assert client.post("/login/otp/passkey", data={"credential": "{}"}).status_code == 422


def test_a_passkey_answer_made_on_another_origin_is_refused(client, phone, clock):
    """A look-alike site relays the portal's challenge: the phone signs for the site's
    origin, and the portal refuses it, alone and as a second factor."""
    response = passkey_sign_in(client, phone, origin="http://localhost.portal-asn.example")
    assert response.status_code == 422 and "alamat resmi portal" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302
    assert "jawaban passkey tidak sah" in events("passkey.failed")[-1].detail
    assert login(client, NIP, PASSWORD).location == "/login/otp"
    response = passkey_second_factor(client, phone, origin="http://localhost:8443")
    assert response.status_code == 422 and "Sisa percobaan" in response.get_data(as_text=True)
    with models.db.connection_context():
        # This browser signed in before: its own counter took both failures.
        assert models.TrustedDevice.get().failed_count == 2 and not models.SessionRecord.select().exists()


def test_a_passkey_for_another_relying_party_is_refused(client, phone, clock):
    response = passkey_sign_in(client, phone, rp_id="portal-asn.example")
    assert response.status_code == 422 and client.get("/dashboard").status_code == 302


def test_a_replayed_assertion_is_refused(client, phone, clock):
    options = client.post("/login/passkey/opsi").get_json()
    answer = phone.get(options)
    assert client.post("/login/passkey", data={"credential": answer}).status_code == 303
    client.post("/logout")
    again = client.post("/login/passkey", data={"credential": answer})  # its challenge is spent
    assert again.status_code == 422 and "sudah dipakai" in again.get_data(as_text=True)
    client.post("/login/passkey/opsi")  # a new challenge does not make the old answer fit
    again = client.post("/login/passkey", data={"credential": answer})
    assert again.status_code == 422 and client.get("/dashboard").status_code == 302
    assert events("login.ok")[-1].id < events("login.failed")[-1].id


def test_a_signature_counter_that_goes_backwards_is_refused_and_audited(client, phone, clock):
    assert passkey_sign_in(client, phone).status_code == 303  # the phone's counter: 1
    client.post("/logout")
    phone.sign_count = 0  # a clone made before that use: it counts 1 again
    response = passkey_sign_in(client, phone)
    assert response.status_code == 422 and "penghitung keamanannya mundur" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302
    assert "penghitung tanda tangan mundur" in events("passkey.cloned")[-1].detail
    assert passkeys_of()[0].sign_count == 1


def test_authenticators_without_a_counter_keep_working(client, enrolled, clock):
    sign_in_with_otp(client, enrolled, clock)
    phone = SoftAuthenticator()
    assert add_passkey(client, phone).status_code == 303
    client.post("/logout")
    for _ in range(2):  # synced passkeys always say 0
        assert passkey_sign_in(client, phone, count_up=False).status_code == 303
        client.post("/logout")


def test_a_passkey_without_user_verification_is_refused(client, phone, clock):
    assert passkey_sign_in(client, phone, user_verified=False).status_code == 422


def test_another_accounts_passkey_does_not_pass_the_second_factor(client, app, phone, clock):
    other = app.test_client()
    sign_in_as(other, "pegawai")
    other_phone = SoftAuthenticator()
    assert add_passkey(other, other_phone).status_code == 303
    assert login(client, NIP, PASSWORD).location == "/login/otp"
    response = passkey_second_factor(client, other_phone)
    assert response.status_code == 422 and "tidak terdaftar untuk akun Anda" in response.get_data(as_text=True)


def test_passkey_failures_lock_like_password_failures(client, app, phone, clock):
    for _ in range(app.config["MAX_FAILED_LOGINS"] - 1):
        assert passkey_sign_in(client, phone, origin="http://evil.localhost").status_code == 422
    assert passkey_sign_in(client, phone, origin="http://evil.localhost").status_code == 423
    assert events("account.locked")
    locked = passkey_sign_in(client, phone)  # the right passkey waits for the lock too
    assert locked.status_code == 423 and "terkunci" in locked.get_data(as_text=True)
    assert events("login.locked")[-1].detail == "passkey saat terkunci"
    clock.advance(minutes=16)
    assert passkey_sign_in(client, phone).status_code == 303


def test_an_inactive_employee_or_a_temporary_password_stops_a_passkey_sign_in(client, phone, clock):
    with models.db.connection_context():
        account = models.Account.get()
        account.issue_temporary_password(Settings("k", (1, 64)))
    response = passkey_sign_in(client, phone)
    assert response.status_code == 403 and "kata sandi sementara dari helpdesk" in response.get_data(as_text=True)
    with models.db.connection_context():
        models.Employee.update(status="berhenti").execute()
    response = passkey_sign_in(client, phone)
    assert response.status_code == 403 and "tidak aktif" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


@pytest.mark.parametrize("answer", ["", "x", "{}", "[]", "null", '{"id": "", "response": {}}', "{" * 5000,
                                    json.dumps({"id": "AAAA", "rawId": "AAAA", "type": "public-key",
                                                "response": {"clientDataJSON": "!!", "authenticatorData": "",
                                                             "signature": ""}})])
def test_junk_answers_get_a_message_never_a_500(client, phone, answer):
    client.post("/login/passkey/opsi")
    response = client.post("/login/passkey", data={"credential": answer})
    assert response.status_code == 422 and "Ada masalah" in response.get_data(as_text=True)


def test_removing_a_passkey(client, phone, enrolled, clock):
    sign_in_with_otp(client, enrolled, clock)
    passkey = passkeys_of()[0]
    page = client.get(f"/dashboard/keamanan/passkey/{passkey.id}/hapus").get_data(as_text=True)
    assert "Ponsel saya" in page
    assert client.post(f"/dashboard/keamanan/passkey/{passkey.id}/hapus",
                       data={"password": "Salah!2026x"}).status_code == 422
    response = client.post(f"/dashboard/keamanan/passkey/{passkey.id}/hapus", data={"password": PASSWORD})
    assert response.status_code == 303 and passkeys_of() == []
    assert [e.detail for e in events("passkey.removed")] == ["Ponsel saya"]
    client.post("/logout")
    response = passkey_sign_in(client, phone)
    assert response.status_code == 422 and "tidak terdaftar" in response.get_data(as_text=True)
    # The authenticator app, mandatory, stays.
    sign_in_with_otp(client, enrolled, clock)


def test_someone_elses_passkey_cannot_be_removed(client, app, phone, clock):
    other = app.test_client()
    sign_in_as(other, "pegawai")
    passkey = passkeys_of()[0]
    assert other.get(f"/dashboard/keamanan/passkey/{passkey.id}/hapus").status_code == 404
    assert other.post(f"/dashboard/keamanan/passkey/{passkey.id}/hapus",
                      data={"password": PASSWORD}).status_code == 404
    assert passkeys_of() == [passkey]


def test_helpdesk_sees_the_passkeys_and_reset_mfa_removes_them(client, app, phone, clock):
    helpdesk = app.test_client()
    sign_in_as(helpdesk, "helpdesk")
    page = helpdesk.get(f"/admin/pegawai/{NIP}").get_data(as_text=True)
    assert 'id="passkeys"' in page and "Ponsel saya" in page
    response = helpdesk.post(f"/admin/pegawai/{NIP}/reset-mfa", data={"verifikasi": "ktp",
                                                                       "alasan": "ponsel hilang, lapor"})
    assert response.status_code == 303 and passkeys_of() == []
    assert passkey_sign_in(client, phone).status_code == 422
    assert login(client, NIP, PASSWORD).location == "/mfa/setup"


def test_without_a_passkey_capable_browser_the_pages_do_not_change(client, enrolled, clock):
    """The passkey forms and links are in the HTML but hidden: static/js/passkey.js shows them."""
    page = client.get("/login").get_data(as_text=True)
    form = page.split('id="passkey-sign-in"')[1].split(">")[0]
    assert " hidden" in form and 'data-passkey="get"' in form
    assert "js/passkey.js" in page
    sign_in_with_otp(client, enrolled, clock)
    page = client.get("/dashboard/keamanan").get_data(as_text=True)
    assert '<p data-passkey-only hidden><a class="button" id="add-passkey"' in page
    assert 'id="passkey-add-form" class="passkey" method="post"' in client.get(ADD).get_data(as_text=True)


def test_other_pages_do_not_load_the_passkey_script(client, enrolled, clock):
    sign_in_with_otp(client, enrolled, clock)
    for url in ("/dashboard", "/dashboard/kontak", "/bantuan/", "/mfa/kode-pemulihan"):
        assert "passkey.js" not in client.get(url).get_data(as_text=True), url


def test_the_passkey_script_is_small(client):
    import gzip

    page = client.get("/login").get_data(as_text=True)
    src = page.split('<script src="')[-1].split('"')[0].replace("&amp;", "&")
    assert "passkey.js" in src
    assert len(gzip.compress(client.get(src).data)) < 3 * 1024


def test_the_options_need_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    assert app.test_client().post("/login/passkey/opsi").status_code == 400


def test_the_trainer_prepares_a_passkey_practice(make_app, clock):
    """The trainer console's passkey practice: the account gets the scenario password and
    an authenticator on the virtual phone; the learner adds a passkey and signs in with it."""
    import demo
    from tests.test_trainer import BUDI, phone_codes

    app = make_app(DEMO=True)
    trainer, learner = app.test_client(), app.test_client()
    console = trainer.get("/pelatih/").get_data(as_text=True)
    assert 'id="passkey-steps"' in console and "Enable virtual authenticator environment" in console
    response = trainer.post(f"/pelatih/akun/{BUDI}/latihan-passkey")
    assert response.status_code == 303 and response.location == "/pelatih/"
    assert learner.post("/login", data={"nip": BUDI, "password": demo.PASSWORD}).location == "/login/otp"
    assert learner.post("/login/otp", data={"otp": phone_codes(trainer)[demo.DEVICE]}).status_code == 303
    phone = SoftAuthenticator()
    response = add_passkey(learner, phone, password=demo.PASSWORD)
    assert response.status_code == 303
    assert "1 passkey" in trainer.get("/pelatih/").get_data(as_text=True)
    learner.post("/logout")
    assert passkey_sign_in(learner, phone).location == "/dashboard"
    assert trainer.post(f"/pelatih/akun/{BUDI}/reset-mfa").status_code == 303
    assert passkeys_of(BUDI) == []


@pytest.mark.parametrize("how, amr", [("alone", ["hwk", "user", "mfa"]),
                                     ("second factor", ["pwd", "hwk", "user", "mfa"])])
def test_an_app_learns_that_a_passkey_signed_in(client, phone, clock, how, amr):
    """Single sign-on: the ID token's amr (RFC 8176) says a hardware-held key checked its user."""
    from urllib.parse import parse_qs, urlparse

    from tests.oidc_helpers import approve, authorize_url, exchange, query, register, target, verified_claims

    client_id, secret = register()
    to_login = client.get(authorize_url(client_id))
    next_url = parse_qs(urlparse(to_login.location).query)["next"][0]
    if how == "alone":
        options = client.post("/login/passkey/opsi").get_json()
        response = client.post("/login/passkey", data={"credential": phone.get(options), "next": next_url})
    else:
        assert client.post("/login", data={"nip": NIP, "password": PASSWORD, "next": next_url}).location == "/login/otp"
        response = passkey_second_factor(client, phone)
    assert response.status_code == 303 and response.location == next_url
    answer = query(target(approve(client, client.get(next_url))))
    tokens = exchange(client, client_id, secret, answer["code"]).get_json()
    assert verified_claims(client, tokens["id_token"], client_id)["amr"] == amr


def test_an_old_database_gets_passkeys_without_losing_a_row(tmp_path, make_app, clock):
    """From the schema of an old release with its data: after `migrate` its accounts can
    add passkeys, and the helpdesk's reset removes them with the rest."""
    from tests.test_migrations import flask_cli, load, rows

    database = load("recovery_codes.sql", tmp_path / "old.db")
    before = rows(database)
    assert "passkey" not in before
    assert flask_cli(database, "migrate").exit_code == 0
    after = rows(database)
    assert after["passkey"] == {} and after["account"].keys() == before["account"].keys()
    for account_id, old in before["account"].items():
        assert {k: after["account"][account_id][k] for k in old} == old
    make_app(DATABASE_URL=database)
    with models.db.connection_context():
        account = models.Account.get_by_id(min(before["account"]))
        models.Passkey.create(account=account, name="Ponsel", credential_id="AAAA", public_key="AAAA")
        assert models.Authenticator.select().where(models.Authenticator.account == account.id).exists()
        account.reset_mfa()
        assert not models.Passkey.select().exists()
        assert not models.Authenticator.select().where(models.Authenticator.account == account.id).exists()
