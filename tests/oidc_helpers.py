"""A relying party for the Flask test client: it builds authorization requests, follows
the portal's answers, exchanges codes and checks ID tokens with the published keys
(joserfc on the test side; the portal signs through Authlib)."""

import base64
import hashlib
import re
import secrets
from html import unescape
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import KeySet

import models
import oidc

REDIRECT_URI = "https://ekinerja.example.go.id/oidc/callback"
BACKCHANNEL_URI = "https://ekinerja.example.go.id/oidc/backchannel"


def register(name="e-Kinerja", redirect_uris=(REDIRECT_URI,), **options):
    with models.db.connection_context():
        client, secret = models.OidcClient.register(name, list(redirect_uris), **options)
    return client.client_id, secret


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(client_id, redirect_uri=REDIRECT_URI, scope="openid profile email phone asn", state="keadaan-1",
                  nonce="nonce-1", **extra) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
              "state": state, "nonce": nonce, **extra}
    return "/oidc/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


def target(response) -> str:
    """Where the portal sends the browser: a redirect, or the page that moves on by itself."""
    if response.status_code in (301, 302, 303):
        return response.location
    match = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', response.get_data(as_text=True))
    assert match, (response.status_code, response.get_data(as_text=True)[:500])
    return unescape(match.group(1))


def query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def consent_fields(page_html: str) -> dict:
    return {unescape(name): unescape(value)
            for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page_html)}


def approve(client, page, decision="izinkan"):
    return client.post("/oidc/authorize", data={**consent_fields(page.get_data(as_text=True)), "keputusan": decision})


def exchange(client, client_id, secret, code, redirect_uri=REDIRECT_URI, verifier=None, how="basic"):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier:
        data["code_verifier"] = verifier
    headers = {}
    if secret is None:
        data["client_id"] = client_id
    elif how == "basic":
        headers["Authorization"] = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    else:
        data.update(client_id=client_id, client_secret=secret)
    return client.post("/oidc/token", data=data, headers=headers)


def verified_claims(client, id_token: str, client_id: str) -> dict:
    keys = KeySet.import_key_set(client.get("/oidc/jwks").get_json())
    token = jwt.decode(id_token, keys, algorithms=["RS256"])
    registry = jwt.JWTClaimsRegistry(now=oidc.timestamp, iss={"essential": True, "value": "http://localhost"},
                                     aud={"essential": True, "value": client_id},
                                     exp={"essential": True}, sub={"essential": True})
    registry.validate(token.claims)
    return token.claims
