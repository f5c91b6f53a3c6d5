"""The portal as an OpenID Connect provider (views/oidc.py, oidc.py), through Flask's test
client: the journey in the middle, consent, claims, codes, tokens, and every refusal."""

import re
from http import HTTPStatus
from urllib.parse import parse_qs, urlparse

import pytest

import models
from tests.helpers import NIK, NIP, PASSWORD, code, enroll, last_code, next_step
from tests.live import ThreadedServer
from tests.oidc_helpers import (
    REDIRECT_URI,
    approve,
    authorize_url,
    exchange,
    pkce,
    query,
    register,
    target,
    verified_claims,
)


@pytest.fixture
def rp(app, employee):
    return register()


def sign_in_through(client, url, secret, clock):
    """An enrolled employee, not signed in, opens an app's sign-in: password, OTP, back to
    the authorization endpoint. Returns that endpoint's response."""
    to_login = client.get(url)
    assert to_login.status_code == 302 and urlparse(to_login.location).path == "/login"
    next_url = parse_qs(urlparse(to_login.location).query)["next"][0]
    assert client.post("/login", data={"nip": NIP, "password": PASSWORD, "next": next_url}).location == "/login/otp"
    next_step(clock)
    after_otp = client.post("/login/otp", data={"otp": code(secret)})
    assert after_otp.status_code == 303 and after_otp.location == next_url
    return client.get(next_url)


def code_for(client, rp, enrolled, clock, **params):
    """A first app sign-in with consent; returns the parameters the app gets back."""
    client_id, _ = rp
    consent = sign_in_through(client, authorize_url(client_id, **params), enrolled, clock)
    assert consent.status_code == 200 and "meminta izin" in consent.get_data(as_text=True)
    return query(target(approve(client, consent)))


def userinfo_status(client, tokens) -> int:
    return client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code


def refresh(client, client_id, secret, refresh_token):
    return client.post("/oidc/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token,
                                            "client_id": client_id, "client_secret": secret})


def test_discovery_names_the_issuer_and_endpoints(client):
    config = client.get("/.well-known/openid-configuration").get_json()
    assert config["issuer"] == "http://localhost"
    assert config["authorization_endpoint"] == "http://localhost/oidc/authorize"
    assert config["response_types_supported"] == ["code"]
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "profile", "email", "phone", "asn"} <= set(config["scopes_supported"])
    keys = client.get(urlparse(config["jwks_uri"]).path).get_json()["keys"]
    assert keys and all("d" not in key for key in keys), "only public keys are published"


def test_first_app_sign_in_asks_consent_and_gives_a_verified_id_token(client, rp, enrolled, clock):
    client_id, secret = rp
    consent = sign_in_through(client, authorize_url(client_id), enrolled, clock)
    page = consent.get_data(as_text=True)
    assert "e-Kinerja" in page and "Data kepegawaian: NIP" in page and "Nomor ponsel" in page
    answer = query(target(approve(client, consent)))
    assert answer["state"] == "keadaan-1"
    tokens = exchange(client, client_id, secret, answer["code"]).get_json()
    assert tokens["token_type"].lower() == "bearer" and tokens["expires_in"] == 600
    claims = verified_claims(client, tokens["id_token"], client_id)
    assert claims["nip"] == NIP and claims["nonce"] == "nonce-1"
    assert claims["sub"] != NIP and NIP not in claims["sub"]
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"]
    assert abs(claims["auth_time"] - claims["iat"]) < 120
    assert claims["email"] == "budi@example.go.id" and claims["phone_number"] == "+6281234567890"
    info = client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    assert info["sub"] == claims["sub"] and info["jabatan"] == "Pranata Komputer Ahli Pertama"
    with models.db.connection_context():
        stored = models.OidcToken.get()
        assert tokens["access_token"] not in (stored.access_token_hash, stored.refresh_token_hash)
        assert models.AuditEvent.select().where(models.AuditEvent.event == "oidc.consent_given").exists()


def test_scopes_limit_the_claims(client, rp, enrolled, clock):
    client_id, secret = rp
    answer = code_for(client, rp, enrolled, clock, scope="openid profile")
    tokens = exchange(client, client_id, secret, answer["code"], how="post").get_json()
    claims = verified_claims(client, tokens["id_token"], client_id)
    assert claims["name"] == "Budi Santoso"
    assert not {"nip", "email", "phone_number", "instansi"} & set(claims)


def test_a_signed_in_employee_goes_straight_back(client, rp, enrolled, clock):
    client_id, secret = rp
    code_for(client, rp, enrolled, clock)
    again = client.get(authorize_url(client_id, state="kedua"))
    assert again.status_code == 302 and again.location.startswith(REDIRECT_URI + "?")
    assert query(again.location)["state"] == "kedua"
    assert exchange(client, client_id, secret, query(again.location)["code"]).status_code == 200


def test_a_second_app_needs_no_password(client, rp, enrolled, clock):
    code_for(client, rp, enrolled, clock)
    other_id, other_secret = register("SIMPEG", redirect_uris=("https://simpeg.example.go.id/cb",),
                                      is_pre_approved=True)
    answer = client.get(authorize_url(other_id, redirect_uri="https://simpeg.example.go.id/cb"))
    assert answer.status_code == 302 and answer.location.startswith("https://simpeg.example.go.id/cb?code=")
    tokens = exchange(client, other_id, other_secret, query(answer.location)["code"],
                      redirect_uri="https://simpeg.example.go.id/cb").get_json()
    assert verified_claims(client, tokens["id_token"], other_id)["nip"] == NIP


@pytest.mark.parametrize("redirect_uri", [
    "https://evil.example.com/oidc/callback",
    "https://ekinerja.example.go.id/oidc/callback/",
    "https://ekinerja.example.go.id:8443/oidc/callback",
    "https://ekinerja.example.go.id/oidc/callback?x=1",
    "http://ekinerja.example.go.id/oidc/callback",
    "https://ekinerja.example.go.id.evil.com/oidc/callback",
])
def test_an_unregistered_or_near_miss_redirect_uri_is_never_followed(client, rp, enrolled, clock, redirect_uri):
    client_id, _ = rp
    first_login_done = client.post("/login", data={"nip": NIP, "password": PASSWORD})
    assert first_login_done.location == "/login/otp"
    next_step(clock)
    client.post("/login/otp", data={"otp": code(enrolled)})
    answer = client.get(authorize_url(client_id, redirect_uri=redirect_uri))
    assert answer.status_code == 400 and "Location" not in answer.headers
    assert "tidak sah" in answer.get_data(as_text=True)
    with models.db.connection_context():
        assert models.AuditEvent.select().where(models.AuditEvent.event == "oidc.refused").exists()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_control_characters_in_the_request_get_the_error_page_not_a_500(client, rp, enrolled, clock, method):
    """authlib refuses to put a control character into an error's description."""
    client_id, _ = rp
    for signed_in in (False, True):
        if signed_in:
            client.post("/login", data={"nip": NIP, "password": PASSWORD})
            next_step(clock)
            client.post("/login/otp", data={"otp": code(enrolled)})
        args = {"client_id": client_id, "response_type": "\x1f", "scope": "openid"}
        answer = client.open("/oidc/authorize", method=method, query_string=args if method == "GET" else None,
                             data=args if method == "POST" else None)
        assert answer.status_code == (400 if signed_in or method == "GET" else 303), (signed_in, answer.status_code)
        if answer.status_code == 400:
            assert "Location" not in answer.headers and "tidak sah" in answer.get_data(as_text=True)


def test_an_unknown_or_disabled_app_gets_an_error_page(client, rp):
    client_id, _ = rp
    assert client.get(authorize_url("tidak-ada")).status_code == 400
    with models.db.connection_context():
        models.OidcClient.update(is_disabled=True).where(models.OidcClient.client_id == client_id).execute()
    answer = client.get(authorize_url(client_id))
    assert answer.status_code == 400 and "Location" not in answer.headers


def test_a_replayed_code_is_refused_and_revokes_what_it_gave(client, rp, enrolled, clock):
    client_id, secret = rp
    answer = code_for(client, rp, enrolled, clock)
    tokens = exchange(client, client_id, secret, answer["code"]).get_json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/oidc/userinfo", headers=bearer).status_code == 200
    replay = exchange(client, client_id, secret, answer["code"])
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    assert client.get("/oidc/userinfo", headers=bearer).status_code == 401
    refreshed = refresh(client, client_id, secret, tokens["refresh_token"])
    assert refreshed.status_code == 400
    with models.db.connection_context():
        assert models.AuditEvent.select().where(models.AuditEvent.detail.contains("replayed")).exists()


def test_an_expired_code_is_refused(client, rp, enrolled, clock):
    client_id, secret = rp
    answer = code_for(client, rp, enrolled, clock)
    clock.advance(seconds=61)
    refused = exchange(client, client_id, secret, answer["code"])
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_refused(client, rp, enrolled, clock):
    client_id, secret = rp
    answer = code_for(client, rp, enrolled, clock)
    refused = exchange(client, client_id, secret + "x", answer["code"])
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
    with models.db.connection_context():
        assert models.AuditEvent.select().where(models.AuditEvent.event == "oidc.token_refused").exists()
    assert exchange(client, client_id, secret, answer["code"]).status_code == 200, \
        "the client is checked before the code: a stranger cannot spend codes"


def test_a_code_for_another_redirect_uri_is_refused(client, rp, enrolled, clock):
    client_id, secret = rp
    answer = code_for(client, rp, enrolled, clock)
    refused = exchange(client, client_id, secret, answer["code"], redirect_uri="https://evil.example.com/cb")
    assert refused.status_code == 400


def test_pkce_public_clients_must_use_s256(client, employee, enrolled, clock):
    client_id, _ = register("Aplikasi HP", is_public=True)
    verifier, challenge = pkce()
    sign_in_through(client, authorize_url(client_id, code_challenge=challenge, code_challenge_method="S256"),
                    enrolled, clock)
    without = client.get(authorize_url(client_id))
    assert without.status_code == 302 and query(without.location)["error"] == "invalid_request"
    plain = client.get(authorize_url(client_id, code_challenge=verifier, code_challenge_method="plain"))
    assert query(plain.location)["error"] == "invalid_request"


def test_pkce_mismatch_is_refused(client, employee, enrolled, clock):
    client_id, _ = register("Aplikasi HP", is_public=True)
    verifier, challenge = pkce()
    consent = sign_in_through(client, authorize_url(client_id, code_challenge=challenge, code_challenge_method="S256"),
                              enrolled, clock)
    answer = query(target(approve(client, consent)))
    wrong = exchange(client, client_id, None, answer["code"], verifier=pkce()[0])
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    consent = client.get(authorize_url(client_id, code_challenge=challenge, code_challenge_method="S256"))
    right = exchange(client, client_id, None, query(consent.location)["code"], verifier=verifier)
    assert right.status_code == 200 and "id_token" in right.get_json()


def test_prompt_none_without_a_session_answers_login_required(client, rp):
    client_id, _ = rp
    answer = client.get(authorize_url(client_id, prompt="none"))
    assert answer.status_code == 302 and answer.location.startswith(REDIRECT_URI)
    assert query(answer.location) == {"error": "login_required", "state": "keadaan-1"}


def test_prompt_none_before_consent_answers_consent_required(client, rp, enrolled, clock):
    client_id, _ = rp
    client.post("/login", data={"nip": NIP, "password": PASSWORD})
    next_step(clock)
    client.post("/login/otp", data={"otp": code(enrolled)})
    answer = client.get(authorize_url(client_id, prompt="none"))
    assert query(answer.location)["error"] == "consent_required"


def test_prompt_login_asks_for_the_password_and_otp_again(client, rp, enrolled, clock):
    client_id, secret = rp
    code_for(client, rp, enrolled, clock)
    clock.advance(seconds=90)
    again = client.get(authorize_url(client_id, prompt="login"))
    assert urlparse(again.location).path == "/login"
    next_url = parse_qs(urlparse(again.location).query)["next"][0]
    assert client.get(again.location).status_code == 200, "the login page, though signed in"
    assert client.post("/login", data={"nip": NIP, "password": PASSWORD, "next": next_url}).location == "/login/otp"
    next_step(clock)
    assert client.post("/login/otp", data={"otp": code(enrolled)}).location == next_url
    answer = client.get(next_url)
    assert answer.status_code == 302 and answer.location.startswith(REDIRECT_URI)
    tokens = exchange(client, client_id, secret, query(answer.location)["code"]).get_json()
    claims = verified_claims(client, tokens["id_token"], client_id)
    assert claims["auth_time"] >= claims["iat"] - 5
    with models.db.connection_context():
        assert models.SessionRecord.select().count() == 1, "the earlier session was handed over"
        assert models.OidcSignIn.select().count() == 1


def test_max_age_asks_for_a_newer_sign_in(client, rp, enrolled, clock):
    client_id, _ = rp
    code_for(client, rp, enrolled, clock)
    clock.advance(seconds=120)
    assert urlparse(client.get(authorize_url(client_id, max_age="60")).location).path == "/login"
    assert client.get(authorize_url(client_id, max_age="600")).location.startswith(REDIRECT_URI)


def test_an_inactive_employee_gets_no_tokens(client, rp, enrolled, clock, employee):
    client_id, secret = rp
    answer = code_for(client, rp, enrolled, clock)
    tokens = exchange(client, client_id, secret, answer["code"]).get_json()
    second = client.get(authorize_url(client_id))
    with models.db.connection_context():
        models.Employee.update(status="pensiun").where(models.Employee.nip == NIP).execute()
    assert exchange(client, client_id, secret, query(second.location)["code"]).status_code == 400
    refreshed = refresh(client, client_id, secret, tokens["refresh_token"])
    assert refreshed.status_code == 400
    assert userinfo_status(client, tokens) == 401


def test_refresh_tokens_rotate_and_end_with_a_password_reset(client, rp, enrolled, clock):
    client_id, secret = rp
    tokens = exchange(client, client_id, secret, code_for(client, rp, enrolled, clock)["code"]).get_json()
    refresh = {"grant_type": "refresh_token", "client_id": client_id, "client_secret": secret}
    rotated = client.post("/oidc/token", data={**refresh, "refresh_token": tokens["refresh_token"]}).get_json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    again = client.post("/oidc/token", data={**refresh, "refresh_token": tokens["refresh_token"]})
    assert again.status_code == 400, "a rotated-out refresh token is dead"
    newest = client.post("/oidc/token", data={**refresh, "refresh_token": rotated["refresh_token"]})
    assert newest.status_code == 400, "and using it again ends the whole line"


def test_ending_the_sessions_revokes_the_refresh_token(client, rp, enrolled, clock):
    client_id, secret = rp
    tokens = exchange(client, client_id, secret, code_for(client, rp, enrolled, clock)["code"]).get_json()
    with models.db.connection_context():
        models.Account.get().end_sessions()  # password reset, MFA reset, deactivation, helpdesk
    refreshed = refresh(client, client_id, secret, tokens["refresh_token"])
    assert refreshed.status_code == 400


def test_revoking_access_from_the_dashboard_revokes_tokens_and_consent(client, rp, enrolled, clock):
    client_id, secret = rp
    tokens = exchange(client, client_id, secret, code_for(client, rp, enrolled, clock)["code"]).get_json()
    page = client.get("/dashboard/aplikasi").get_data(as_text=True)
    assert "e-Kinerja" in page and "Data kepegawaian" in page
    with models.db.connection_context():
        app_id = models.OidcClient.get().id
    assert client.post(f"/dashboard/aplikasi/{app_id}/cabut").status_code == 303
    assert userinfo_status(client, tokens) == 401
    consent = client.get(authorize_url(client_id))
    assert consent.status_code == 200 and "meminta izin" in consent.get_data(as_text=True)


def test_refusing_consent_tells_the_app(client, rp, enrolled, clock):
    client_id, _ = rp
    consent = sign_in_through(client, authorize_url(client_id), enrolled, clock)
    answer = query(target(approve(client, consent, "tolak")))
    assert answer["error"] == "access_denied" and answer["state"] == "keadaan-1" and "code" not in answer


def test_revocation_endpoint(client, rp, enrolled, clock):
    client_id, secret = rp
    tokens = exchange(client, client_id, secret, code_for(client, rp, enrolled, clock)["code"]).get_json()
    revoked = client.post("/oidc/revoke", data={"token": tokens["access_token"], "client_id": client_id,
                                                "client_secret": secret})
    assert revoked.status_code == 200
    assert userinfo_status(client, tokens) == 401


def test_rp_initiated_logout_ends_the_portal_session(client, enrolled, clock):
    client_id, secret = register(post_logout_redirect_uris=["https://ekinerja.example.go.id/keluar"])
    answer = code_for(client, (client_id, secret), enrolled, clock)
    tokens = exchange(client, client_id, secret, answer["code"]).get_json()
    answer = client.get("/oidc/logout?" + "&".join([f"id_token_hint={tokens['id_token']}",
                                                    "post_logout_redirect_uri=https://ekinerja.example.go.id/keluar",
                                                    "state=s9"]))
    assert answer.status_code == 302 and answer.location == "https://ekinerja.example.go.id/keluar?state=s9"
    assert client.get("/dashboard").status_code == 302, "signed out of the portal"


def test_logout_without_a_hint_asks_first(client, rp, enrolled, clock):
    code_for(client, rp, enrolled, clock)
    page = client.get("/oidc/logout")
    assert page.status_code == 200 and "Keluar dari Portal ASN Digital?" in page.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 200, "nothing ended without the press"
    client.post("/oidc/logout")
    assert client.get("/dashboard").status_code == 302


def test_the_journey_of_a_first_sign_in_returns_to_the_app(client, rp, employee):
    """NIK, the code from the contact on record, a new password, enrollment, recovery
    codes: then back to the app's request."""
    client_id, secret = rp
    to_login = client.get(authorize_url(client_id))
    next_url = parse_qs(urlparse(to_login.location).query)["next"][0]
    assert client.post("/login", data={"nip": NIP, "password": NIK, "next": next_url}).location == "/login/kode"
    assert client.post("/login/kode", data={"code": last_code()}).location == "/password/new"
    assert client.post("/password/new", data={"new_password": PASSWORD,
                                              "confirm_password": PASSWORD}).location == "/mfa/setup"
    enroll(client)
    done = client.post("/mfa/kode-pemulihan/selesai")
    assert done.status_code == 303 and done.location == next_url
    consent = client.get(next_url)
    answer = query(target(approve(client, consent)))
    tokens = exchange(client, client_id, secret, answer["code"]).get_json()
    assert verified_claims(client, tokens["id_token"], client_id)["nip"] == NIP


def test_the_cli_adds_clients_and_rotates_keys(app, employee, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["oidc-client", "add", "SIMPEG", "--redirect-uri", "https://simpeg.example/cb",
                                     "--redirect-uri", "https://simpeg.example/cb2",
                                     "--backchannel-logout-uri", "https://simpeg.example/bc"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2 and lines[0].startswith("client_id: ") and lines[1].startswith("client_secret: ")
    public = runner.invoke(args=["oidc-client", "add", "HP", "--redirect-uri", "https://hp.example/cb", "--public"])
    assert public.output.splitlines()[0].startswith("client_id: ") and len(public.output.splitlines()) == 1
    bad = runner.invoke(args=["oidc-client", "add", "X", "--redirect-uri", "bukan-alamat"])
    assert bad.exit_code != 0 and "tidak valid" in bad.output
    with models.db.connection_context():
        stored = models.OidcClient.get(models.OidcClient.name == "SIMPEG")
        assert lines[1].removeprefix("client_secret: ") not in stored.secret_hash
        assert stored.check_client_secret(lines[1].removeprefix("client_secret: "))
    before = client.get("/oidc/jwks").get_json()["keys"]
    assert runner.invoke(args=["oidc-rotate-key"]).exit_code == 0
    after = client.get("/oidc/jwks").get_json()["keys"]
    assert len(after) == 2 and after[1]["kid"] == before[0]["kid"]
    import oidc

    assert oidc.key_file(app).stat().st_mode & 0o777 == 0o600


def test_protocol_endpoints_take_junk_without_a_500(client, rp):
    for data in ({}, {"grant_type": "authorization_code"}, {"grant_type": "x" * 5000, "code": "\x00"},
                 {"grant_type": "refresh_token", "refresh_token": "nope"}):
        assert client.post("/oidc/token", data=data).status_code in (400, 401)
    assert client.get("/oidc/userinfo").status_code == 401
    assert client.get("/oidc/userinfo", headers={"Authorization": "Bearer x"}).status_code == 401
    assert client.post("/oidc/revoke", data={"token": "x"}).status_code in (400, 401)
    assert client.get("/oidc/authorize").status_code == 400
    assert client.get("/oidc/authorize?client_id=" + "a" * 3000).status_code == 400
    assert client.get("/oidc/logout?id_token_hint=rusak").status_code == 400


class LogoutReceiver:
    """An app's back-channel logout endpoint on loopback: records the logout tokens posted."""

    def __init__(self, status=200):
        self.received, self.status = [], HTTPStatus(status)
        self.http = ThreadedServer(self.wsgi, name="logout-receiver", threads=1).start()
        self.uri = self.http.url + "/backchannel"

    def wsgi(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)).decode()
        self.received.append(parse_qs(body)["logout_token"][0])
        start_response(f"{self.status.value} {self.status.phrase}", [("Content-Length", "0")])
        return [b""]

    def stop(self):
        self.http.stop()


def wait_for(condition, seconds=5.0):
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_signing_out_of_the_portal_tells_the_app_by_back_channel(app, client, enrolled, clock):
    receiver = LogoutReceiver()
    try:
        client_id, secret = register(backchannel_logout_uri=receiver.uri)
        answer = code_for(client, (client_id, secret), enrolled, clock)
        claims = verified_claims(client, exchange(client, client_id, secret, answer["code"]).get_json()["id_token"],
                                 client_id)
        client.post("/logout")
        assert wait_for(lambda: receiver.received), "the app heard of the logout"
        from joserfc import jwt
        from joserfc.jwk import KeySet

        token = jwt.decode(receiver.received[0], KeySet.import_key_set(client.get("/oidc/jwks").get_json()))
        assert token.header["typ"] == "logout+jwt"
        assert token.claims["sid"] == claims["sid"] and token.claims["sub"] == claims["sub"]
        assert token.claims["aud"] == client_id and "http://schemas.openid.net/event/backchannel-logout" \
            in token.claims["events"] and "nonce" not in token.claims
        with models.db.connection_context():  # marked sent once the app's answer is read
            assert wait_for(lambda: models.Message.get(models.Message.channel == "backchannel").status == "sent")
    finally:
        receiver.stop()


def test_a_back_channel_logout_to_a_down_app_is_retried(app, client, enrolled, clock):
    receiver = LogoutReceiver(status=503)
    try:
        client_id, secret = register(backchannel_logout_uri=receiver.uri)
        code_for(client, (client_id, secret), enrolled, clock)
        with models.db.connection_context():
            models.Account.get().end_sessions()  # a helpdesk "end sessions"
        import mail

        mail.deliver_due(app)
        with models.db.connection_context():
            message = models.Message.get(models.Message.channel == "backchannel")
            assert message.status == "pending" and message.attempts == 1 and "503" in message.last_error
        receiver.received.clear()
        clock.advance(minutes=3)
        assert mail.deliver_due(app) == 0 and len(receiver.received) == 1, "still down: tried again"
    finally:
        receiver.stop()


def test_admins_register_rotate_and_disable_apps_in_the_console(clock, as_role):

    client = as_role("admin")
    refused = client.post("/admin/aplikasi", data={"name": "", "redirect_uris": "bukan alamat"})
    assert refused.status_code == 422 and "tidak valid" in refused.get_data(as_text=True)
    page = client.post("/admin/aplikasi", data={"name": "e-Office", "redirect_uris": "https://eoffice.example/cb",
                                                "is_pre_approved": "1"}).get_data(as_text=True)
    secret = re.search(r'id="client-secret">([^<]+)<', page).group(1)
    with models.db.connection_context():
        app_row = models.OidcClient.get(models.OidcClient.name == "e-Office")
        assert app_row.is_pre_approved and app_row.check_client_secret(secret) and secret not in app_row.secret_hash
    rotated = client.post(f"/admin/aplikasi/{app_row.id}/rahasia").get_data(as_text=True)
    new_secret = re.search(r'id="client-secret">([^<]+)<', rotated).group(1)
    with models.db.connection_context():
        app_row = models.OidcClient.get_by_id(app_row.id)
        assert app_row.check_client_secret(new_secret) and not app_row.check_client_secret(secret)
    assert client.post(f"/admin/aplikasi/{app_row.id}/status").status_code == 303
    assert client.get(authorize_url(app_row.client_id, redirect_uri="https://eoffice.example/cb")).status_code == 400
    assert "e-Office" in client.get("/admin/aplikasi").get_data(as_text=True)
    with models.db.connection_context():
        events = {e.event for e in models.AuditEvent.select()}
    assert {"oidc.client_added", "oidc.client_secret_rotated", "oidc.client_disabled"} <= events


def test_login_hint_fills_in_the_nip(client, rp):
    client_id, _ = rp
    to_login = client.get(authorize_url(client_id, login_hint="19900101 202001 1 001"))
    assert parse_qs(urlparse(to_login.location).query)["nip"] == [NIP]
    assert f'value="{NIP}"' in client.get(to_login.location).get_data(as_text=True)
