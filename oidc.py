"""The portal as an OpenID Connect provider: Authlib's authorization server wired to the
portal's models, and the signing keys (RS256, joserfc) kept in the instance folder.

Authorization code flow only; PKCE (S256) required for public clients and allowed for
confidential ones; codes live 60 seconds and are single use; access tokens 10 minutes;
refresh tokens rotate on every use. The views in views/oidc.py call `server`."""

import contextlib
import json
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfoEndpoint
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.rpinitiated import EndSessionEndpoint
from flask import current_app, g, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

import models
import security
from security import now

CODE_SECONDS = 60
ACCESS_TOKEN_SECONDS = 10 * 60
ID_TOKEN_SECONDS = 10 * 60
REFRESH_TOKEN_HOURS = 8  # like a portal session: no app stays signed in longer without the portal
LOGOUT_TOKEN_SECONDS = 2 * 60
RETIRED_KEY_KEPT = timedelta(days=1)  # longer than any token signed with it lives
ALGORITHM = "RS256"
ACR = "urn:portal-asn:mfa"  # every sign-in has a password and a second factor
# RFC 8176 values for the second factor of the portal session.
# RFC 8176. A passkey is a hardware-held key ("hwk") that checked its user ("user"): after
# the password it is the second factor; alone, it is both (NIST SP 800-63B, AAL2).
AMR = {"otp": ["pwd", "otp", "mfa"], "mfa_enrolled": ["pwd", "otp", "mfa"], "recovery_code": ["pwd", "mfa"],
       "passkey": ["pwd", "hwk", "user", "mfa"], "passkey_sign_in": ["hwk", "user", "mfa"]}
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def timestamp(moment=None) -> int:
    """Seconds since the epoch of the portal's clock (tests freeze it)."""
    return int((moment or now()).replace(tzinfo=UTC).timestamp())


def issuer() -> str:
    """ASN_BASE_URL; in demo mode without one, the address the browser used."""
    return current_app.config["BASE_URL"] or request.url_root.rstrip("/")


# --------------------------------------------------------------------------- signing keys


def key_file(app) -> Path:
    return Path(app.config["OIDC_KEY_FILE"] or Path(app.instance_path) / "oidc_keys.json")


def _read_keys(path: Path) -> list:
    return json.loads(path.read_text())["keys"] if path.exists() else []


def _write_keys(path: Path, keys: list) -> None:
    """Private keys: a 0600 file in a 0700 folder, replaced whole (never half written)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"keys": keys}, file)
    os.replace(temporary, path)


def _new_key() -> dict:
    kid = now().strftime("%Y%m%d%H%M%S-") + secrets.token_hex(4)
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": ALGORITHM}, private=True)
    return {**key.as_dict(private=True), "created_at": now().isoformat()}


def rotate_key(app) -> str:
    """A new signing key; the previous one stays published (JWKS) until tokens it signed
    have expired. Returns the new key id."""
    path = key_file(app)
    keys = _read_keys(path)
    for key in keys:
        key.setdefault("retired_at", now().isoformat())
    keys = [k for k in keys if datetime.fromisoformat(k["retired_at"]) > now() - RETIRED_KEY_KEPT]
    fresh = _new_key()
    _write_keys(path, [fresh, *keys])
    return fresh["kid"]


_loaded = {}  # key file -> (modification time, imported keys)


def signing_keys(app=None) -> list:
    """Every kept key (joserfc RSAKey), the current one first; generated on first use.
    Read again when the file changes, so a rotation reaches every worker. Importing a
    private key checks it, which is slow: it is done once per file version."""
    app = app or current_app
    path = key_file(app)
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another worker made it first
            _write_keys_exclusively(path, [_new_key()])
    mtime = path.stat().st_mtime_ns
    cached = _loaded.get(path)
    if cached is None or cached[0] != mtime:
        _loaded[path] = cached = (mtime, [RSAKey.import_key(_jwk(k)) for k in _read_keys(path)])
    return cached[1]


def _write_keys_exclusively(path: Path, keys: list) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"keys": keys}, file)


def _jwk(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in ("created_at", "retired_at")}


def private_key(app=None) -> RSAKey:
    return signing_keys(app)[0]


def public_jwks(app=None) -> dict:
    return {"keys": [key.as_dict(private=False) for key in signing_keys(app)]}


def sign(claims: dict, app=None, typ=None) -> str:
    key = private_key(app)
    header = {"alg": ALGORITHM, "kid": key.kid}
    if typ:
        header["typ"] = typ
    return jwt.encode(header, claims, key, [ALGORITHM])


def logout_token(app, body: dict) -> str:
    """An OpenID Connect Back-Channel Logout 1.0 logout token from an outbox message."""
    moment = timestamp()
    issuer_url = app.config["BASE_URL"] or f"http://{app.config['HOST']}:{app.config['PORT']}"
    return sign({"iss": issuer_url, "aud": body["aud"], "sub": body["sub"], "sid": body["sid"], "iat": moment,
                 "exp": moment + LOGOUT_TOKEN_SECONDS, "jti": secrets.token_urlsafe(16),
                 "events": {BACKCHANNEL_EVENT: {}}}, app, typ="logout+jwt")


# --------------------------------------------------------------------------- claims


def claims_for(account, scope: str) -> dict:
    """What the scopes allow an app to know about the employee; `sub` is never the NIP."""
    employee = account.employee
    scopes = models.scope_list(scope)
    claims = {"sub": account.subject_id()}
    if "profile" in scopes:
        claims["name"] = employee.nama
    if "email" in scopes and employee.email:
        # The contact on record: imported by the instansi or changed with codes to both addresses.
        claims.update(email=employee.email, email_verified=True)
    if "phone" in scopes and employee.telepon:
        claims.update(phone_number="+62" + employee.telepon.removeprefix("+62").removeprefix("62").lstrip("0"),
                      phone_number_verified=True)
    if "asn" in scopes:
        claims.update(nip=employee.nip, jenis_asn=employee.jenis_asn, status=employee.status,
                      instansi=employee.instansi, unit_kerja=employee.unit_kerja, jabatan=employee.jabatan,
                      pangkat=employee.pangkat, golongan=employee.golongan)
    return claims


# --------------------------------------------------------------------------- Authlib wiring


def _save_token(token: dict, oauth_request) -> None:
    code = getattr(oauth_request, "authorization_code", None)
    previous = getattr(oauth_request, "refresh_token", None)
    moment = now()
    models.OidcToken.create(
        client=oauth_request.client, account=oauth_request.user,
        session=code.session_id if code else previous.session_id if previous else None,
        code=code.id if code else None,
        access_token_hash=security.hash_token(token["access_token"]),
        refresh_token_hash=security.hash_token(token["refresh_token"]) if token.get("refresh_token") else None,
        scope=token.get("scope", ""), issued_at=moment, expires_at=moment + timedelta(seconds=token["expires_in"]),
        refresh_expires_at=moment + timedelta(hours=REFRESH_TOKEN_HOURS) if token.get("refresh_token") else None)


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only ("plain" protects nothing when the request itself leaks)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if grant.request.client.is_public and not data.get("code_challenge"):
            raise InvalidRequestError("Public clients must use PKCE (code_challenge, S256).")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        return super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code, oauth_request):
        data = oauth_request.payload.data
        record = oauth_request.user.current_session
        models.OidcCode.create(
            code_hash=security.hash_token(code), client=oauth_request.client, account=oauth_request.user,
            session=record, redirect_uri=oauth_request.payload.redirect_uri, scope=oauth_request.scope,
            nonce=data.get("nonce", "")[:255], code_challenge=data.get("code_challenge", ""),
            code_challenge_method=data.get("code_challenge_method", "") if data.get("code_challenge") else "",
            auth_time=record.created_at, auth_method=record.auth_method,
            sid=models.OidcSignIn.sid_for(record, oauth_request.client),
            expires_at=now() + timedelta(seconds=CODE_SECONDS))

    def query_authorization_code(self, code, client):
        row, why = models.OidcCode.claim(code[:128], client)
        g.oidc_code_refused = None if why == "ok" else why  # for the audit record of the token view
        return row

    def delete_authorization_code(self, authorization_code):
        pass  # claimed (marked used) when it was looked up: single use even under parallel requests

    def authenticate_user(self, authorization_code):
        account = authorization_code.account
        return account if account.employee.is_active else None


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        token = models.OidcToken.by_refresh_token(refresh_token[:128])
        if token is not None and token.revoked_at is not None:
            # A rotated-out refresh token used again: someone holds a copy. End the whole line.
            models.OidcToken.update(revoked_at=now()).where(
                (models.OidcToken.account == token.account_id) & (models.OidcToken.client == token.client_id)
                & models.OidcToken.revoked_at.is_null()).execute()
            return None
        return token if token and token.is_usable_refresh else None

    def authenticate_user(self, refresh_token):
        return refresh_token.account

    def revoke_old_credential(self, refresh_token):
        refresh_token.revoke()


class OpenIDCodeExtension(OpenIDCode):
    def exists_nonce(self, nonce, oauth_request):
        return False  # codes are single use and bound to the client: a nonce need not be unique here

    def resolve_client_private_key(self, client):
        return private_key()

    def get_client_algorithm(self, client):
        return ALGORITHM

    def get_encode_header(self, client):
        return {"alg": ALGORITHM, "kid": private_key().kid}

    def get_client_claims(self, client):
        moment = timestamp()
        return {"iss": issuer(), "aud": client.client_id, "iat": moment, "exp": moment + ID_TOKEN_SECONDS}

    def get_authorization_code_claims(self, authorization_code):
        claims = {"auth_time": authorization_code.get_auth_time(), "acr": ACR,
                  "amr": AMR.get(authorization_code.auth_method, ["pwd", "mfa"]), "sid": authorization_code.sid}
        if authorization_code.nonce:
            claims["nonce"] = authorization_code.nonce
        return claims

    def generate_user_info(self, user, scope):
        return claims_for(user, scope)


class TokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        return models.OidcToken.by_access_token(token_string[:128])


class UserInfo(UserInfoEndpoint):
    def get_issuer(self):
        return issuer()

    def generate_user_info(self, user, scope):
        return claims_for(user, scope)

    def resolve_private_key(self):
        return private_key()


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, token_string, token_type_hint):
        if token_type_hint != "refresh_token":
            token = models.OidcToken.by_access_token(token_string[:128])
            if token or token_type_hint:
                return token
        return models.OidcToken.by_refresh_token(token_string[:128])

    def revoke_token(self, token, oauth_request):
        token.revoke()


class EndSession(EndSessionEndpoint):
    """RP-Initiated Logout 1.0: the views end the portal session themselves."""

    def get_server_jwks(self):
        return KeySet.import_key_set(public_jwks())

    def end_session(self, end_session_request):
        pass


def query_client(client_id):
    return models.OidcClient.active(client_id or "")


def init_app(app):
    """One authorization server per application (its settings, its keys)."""
    app.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN", {"authorization_code": ACCESS_TOKEN_SECONDS,
                                                      "refresh_token": ACCESS_TOKEN_SECONDS})
    app.config.setdefault("OAUTH2_REFRESH_TOKEN_GENERATOR", True)
    server = AuthorizationServer(app, query_client=query_client, save_token=_save_token)
    server.register_grant(AuthorizationCodeGrant, [OpenIDCodeExtension(require_nonce=False),
                                                   S256CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    resource = ResourceProtector()
    resource.register_token_validator(TokenValidator())
    server.register_endpoint(UserInfo(resource_protector=resource))
    server.register_endpoint(Revocation)
    server.register_endpoint(EndSession)
    app.extensions["oidc_server"] = server


def server() -> AuthorizationServer:
    return current_app.extensions["oidc_server"]
