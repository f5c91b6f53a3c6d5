"""An app that signs its users in through the portal, built on pyoidc (`oic`), another
OpenID Connect implementation than the portal's: discovery, the code flow with `state`
and `nonce`, `client_secret_basic`, the ID token checked against the portal's JWKS, and a
back-channel logout endpoint that checks the logout token the same way.

A tiny WSGI app served on 127.0.0.1 from a thread (tests/live.py). It sets no cookies (the
portal, on another port of the same host, would see them): what it learns is kept here
for the tests to read."""

import html
import secrets
import time
from urllib.parse import parse_qs, urlencode

from oic.oauth2.message import ErrorResponse
from oic.oic import Client
from oic.oic.message import (
    AccessTokenResponse,
    AuthorizationRequest,
    AuthorizationResponse,
    BackChannelLogoutRequest,
    RegistrationResponse,
)
from oic.utils.authn.client import CLIENT_AUTHN_METHOD
from oic.utils.time_util import utc_time_sans_frac

import models
from tests.live import ThreadedServer

SCOPE = ["openid", "profile", "email", "asn"]


class RelyingParty:
    def __init__(self, name: str, portal, *, is_pre_approved=False):
        self.name = name
        self.portal = portal
        self.http = ThreadedServer(self.wsgi, name=f"rp-{name}", threads=2)
        self.url = self.http.url
        self.redirect_uri = self.url + "/callback"
        self.post_logout_redirect_uri = self.url + "/signed-out"
        self.sign_ins = []  # verified ID token claims (dicts), one per completed sign-in
        self.errors = []  # error answers from the portal (dicts)
        self.logouts = []  # verified logout token claims
        self.refused_logouts = 0
        self.signed_out = []  # the query strings the portal sent back after an RP-initiated logout
        with models.db.connection_context():
            client, secret = models.OidcClient.register(name, [self.redirect_uri], is_pre_approved=is_pre_approved,
                                                        backchannel_logout_uri=self.url + "/backchannel",
                                                        post_logout_redirect_uris=[self.post_logout_redirect_uri])
        self.client_id = client.client_id
        self.http.start()
        self.oidc = Client(client_authn_method=CLIENT_AUTHN_METHOD)
        self.oidc.provider_config(portal.url)  # discovery, and the JWKS into the key jar
        self.oidc.store_registration_info(RegistrationResponse(
            client_id=client.client_id, client_secret=secret, redirect_uris=[self.redirect_uri],
            token_endpoint_auth_method="client_secret_basic"))

    def stop(self):
        self.http.stop()

    # ------------------------------------------------------------------ for the tests

    def login_link(self, **args) -> str:
        """The app's "Masuk dengan Portal ASN" link; `args` (prompt, login_hint) go on to the portal."""
        return self.url + "/login" + ("?" + urlencode(args) if args else "")

    def wait_for_logouts(self, count: int, seconds=10.0) -> list:
        """The back-channel logouts received, once there are `count` (delivered from a thread)."""
        deadline = time.monotonic() + seconds
        while len(self.logouts) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.logouts

    # ------------------------------------------------------------------ the app

    def wsgi(self, environ, start_response):
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        query = environ.get("QUERY_STRING", "")
        if path == "/login" and method == "GET":
            status, headers, body = self.login(parse_qs(query))
        elif path == "/callback" and method == "GET":
            status, headers, body = self.callback(query)
        elif path == "/signed-out" and method == "GET":
            self.signed_out.append(parse_qs(query))
            status, headers, body = "200 OK", [], self.page(f"{self.name}: Anda telah keluar", "")
        elif path == "/backchannel" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            status, headers, body = self.backchannel(parse_qs(environ["wsgi.input"].read(length).decode()))
        else:
            status, headers, body = "404 Not Found", [], self.page("Tidak ditemukan", "")
        start_response(status, [("Content-Type", "text/html; charset=utf-8"), *headers])
        return [body.encode()]

    def page(self, title: str, content: str) -> str:
        return (f'<!doctype html><html lang="id"><head><meta charset="utf-8"><title>{title}</title></head>'
                f"<body><h1>{title}</h1>{content}</body></html>")

    def login(self, args: dict):
        extra = {name: args[name][0] for name in ("prompt", "login_hint", "max_age") if name in args}
        _, _, _, request = self.oidc.request_info(AuthorizationRequest, request_args={
            "response_type": "code", "scope": SCOPE, "redirect_uri": self.redirect_uri,
            "state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16), **extra})
        return "302 Found", [("Location", request.request(self.oidc.authorization_endpoint))], ""

    def callback(self, query: str):
        answer = self.oidc.parse_response(AuthorizationResponse, info=query, sformat="urlencoded")
        if isinstance(answer, ErrorResponse):
            self.errors.append(answer.to_dict())
            return "200 OK", [], self.page("Gagal masuk", f'<p id="error">{html.escape(answer["error"])}</p>')
        state = answer["state"]
        if state not in self.oidc.state2nonce:
            return "400 Bad Request", [], self.page("Permintaan tidak dikenal", "")
        # The token request (client_secret_basic); oic checks the ID token's signature with
        # the portal's published keys, its issuer, audience, expiry and the nonce of `state`.
        tokens = self.oidc.do_access_token_request(
            state=state, request_args={"code": answer["code"], "redirect_uri": self.redirect_uri},
            authn_method="client_secret_basic")
        assert isinstance(tokens, AccessTokenResponse), tokens
        claims = tokens["id_token"].to_dict()
        claims["_jwt"] = tokens["id_token"].jwt
        self.sign_ins.append(claims)
        return "200 OK", [], self.page(f"{self.name}: masuk sebagai {html.escape(claims['name'])}",
                                       f'<p id="nip">{html.escape(claims["nip"])}</p>')

    def backchannel(self, form: dict):
        """OpenID Connect Back-Channel Logout 1.0: verify the logout token, answer 200."""
        try:
            logout = BackChannelLogoutRequest(logout_token=form["logout_token"][0])
            logout.verify(keyjar=self.oidc.keyjar, iss=self.portal.url, aud=self.client_id)
            token = logout["logout_token"]
            assert token["exp"] > utc_time_sans_frac() - 5
        except Exception:  # noqa: BLE001 - any bad token is refused
            self.refused_logouts += 1
            return "400 Bad Request", [], ""
        self.logouts.append(token.to_dict())
        return "200 OK", [], ""
