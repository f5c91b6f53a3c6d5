"""Single sign-on (OpenID Connect): the registered apps, consents, codes and tokens."""

import json
import secrets
from datetime import UTC
from urllib.parse import urlparse

from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegrityError,
    TextField,
)

import security
from security import now

from .account import Account
from .base import BaseModel, db, keyed_hash
from .outbox import Message
from .sessions import SessionRecord

OIDC_SCOPES = ("openid", "profile", "email", "phone", "asn")
# What an employee is told an app will receive, per scope (the consent page, the dashboard).
SCOPE_LABELS = {
    "openid": "Tanda pengenal akun (bukan NIP) dan waktu Anda masuk",
    "profile": "Nama lengkap",
    "email": "Alamat email kedinasan",
    "phone": "Nomor ponsel",
    "asn": "Data kepegawaian: NIP, jenis ASN, status, instansi, unit kerja, jabatan, pangkat dan golongan",
}


def scope_list(scope: str) -> list:
    return [s for s in OIDC_SCOPES if s in (scope or "").split()]


def client_secret_hash(secret: str) -> str:
    return keyed_hash("client:" + secret)


class OidcClient(BaseModel):
    """An app of the instansi that signs its users in through the portal. Public clients
    (apps in a browser or on a phone) have no secret and must use PKCE."""

    client_id = CharField(max_length=64, unique=True)
    name = CharField()
    secret_hash = CharField(default="")
    redirect_uris = TextField()  # one per line; a request must name one exactly
    post_logout_redirect_uris = TextField(default="")
    backchannel_logout_uri = CharField(default="")
    is_public = BooleanField(default=False)
    is_pre_approved = BooleanField(default=False)  # an internal app: no consent page
    is_disabled = BooleanField(default=False)
    created_at = DateTimeField(default=now)
    secret_changed_at = DateTimeField(null=True)

    @classmethod
    def register(cls, name: str, redirect_uris: list, *, is_public=False, is_pre_approved=False,
                 backchannel_logout_uri="", post_logout_redirect_uris=()) -> tuple:
        """A new client; returns (client, secret), the secret None for a public client."""
        secret = None if is_public else secrets.token_urlsafe(32)
        client = cls.create(client_id=secrets.token_urlsafe(16), name=name, redirect_uris="\n".join(redirect_uris),
                            post_logout_redirect_uris="\n".join(post_logout_redirect_uris),
                            backchannel_logout_uri=backchannel_logout_uri, is_public=is_public,
                            is_pre_approved=is_pre_approved,
                            secret_hash=client_secret_hash(secret) if secret else "")
        return client, secret

    @staticmethod
    def uri_problems(redirect_uris, backchannel_logout_uri="", post_logout_uris=()) -> list:
        """What is wrong with the addresses given for a client (Bahasa Indonesia)."""
        problems = []
        if not redirect_uris:
            problems.append("Isi paling sedikit satu alamat kembali (redirect URI).")
        for uri in [*redirect_uris, *post_logout_uris, *([backchannel_logout_uri] if backchannel_logout_uri else [])]:
            parsed = urlparse(uri)
            if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.fragment or " " in uri:
                problems.append(f"Alamat tidak valid: {uri[:200]} (harus alamat lengkap http:// atau https://, "
                                "tanpa #).")
        return problems

    def rotate_secret(self) -> str:
        secret = secrets.token_urlsafe(32)
        self.secret_hash, self.secret_changed_at = client_secret_hash(secret), now()
        self.save()
        return secret

    @classmethod
    def active(cls, client_id: str):
        return cls.get_or_none((cls.client_id == client_id[:64]) & (cls.is_disabled == False))  # noqa: E712

    @classmethod
    def listing(cls):
        return cls.select().order_by(cls.name)

    @property
    def redirect_uri_list(self) -> list:
        return [u for u in self.redirect_uris.splitlines() if u]

    @property
    def post_logout_uri_list(self) -> list:
        return [u for u in self.post_logout_redirect_uris.splitlines() if u]

    # Authlib's ClientMixin.
    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None  # OpenID Connect: every request names its redirect URI

    def get_allowed_scope(self, scope):
        return " ".join(scope_list(scope))

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uri_list

    def check_client_secret(self, client_secret):
        return bool(self.secret_hash) and security.constant_time_equals(client_secret_hash(client_secret),
                                                                          self.secret_hash)

    def check_endpoint_auth_method(self, method, endpoint):
        if self.is_public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")

    @property
    def client_metadata(self) -> dict:
        return {"post_logout_redirect_uris": self.post_logout_uri_list}


class OidcConsent(BaseModel):
    """What an employee agreed an app may receive."""

    account = ForeignKeyField(Account, backref="consents", on_delete="CASCADE")
    client = ForeignKeyField(OidcClient, backref="consents", on_delete="CASCADE")
    scope = CharField()
    granted_at = DateTimeField(default=now)
    last_used_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("account", "client"), True),)

    @classmethod
    def covers(cls, account, client, scope: str) -> bool:
        consent = cls.get_or_none((cls.account == account.id) & (cls.client == client.id))
        return consent is not None and set(scope_list(scope)) <= set(consent.scope.split())

    @classmethod
    def grant(cls, account, client, scope: str) -> None:
        with db.atomic():
            consent = cls.get_or_none((cls.account == account.id) & (cls.client == client.id))
            if consent is None:
                cls.create(account=account, client=client, scope=" ".join(scope_list(scope)))
                return
            consent.scope = " ".join(scope_list(consent.scope + " " + scope))
            consent.last_used_at = now()
            consent.save()

    @classmethod
    def of(cls, account):
        return (cls.select(cls, OidcClient).join(OidcClient).where(cls.account == account.id)
                .order_by(cls.last_used_at.desc()))

    @classmethod
    def revoke(cls, account, client) -> bool:
        """Withdraw the app's access: its consent and every token it holds for the account."""
        with db.atomic():
            OidcToken.update(revoked_at=now()).where((OidcToken.account == account.id)
                                                     & (OidcToken.client == client.id)
                                                     & OidcToken.revoked_at.is_null()).execute()
            return bool(cls.delete().where((cls.account == account.id) & (cls.client == client.id)).execute())

    @property
    def scope_labels(self) -> list:
        return [SCOPE_LABELS[s] for s in scope_list(self.scope)]


class OidcSignIn(BaseModel):
    """An app signed in through one portal session; `sid` is what its ID tokens and its
    back-channel logout tokens carry."""

    session = ForeignKeyField(SessionRecord, backref="app_sign_ins", on_delete="CASCADE")
    client = ForeignKeyField(OidcClient, backref="sign_ins", on_delete="CASCADE")
    sid = CharField(max_length=43)
    created_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("session", "client"), True),)

    @classmethod
    def sid_for(cls, session, client) -> str:
        row = cls.get_or_none((cls.session == session.id) & (cls.client == client.id))
        if row is None:
            try:
                with db.atomic():
                    row = cls.create(session=session, client=client, sid=secrets.token_urlsafe(24))
            except IntegrityError:
                row = cls.get((cls.session == session.id) & (cls.client == client.id))
        return row.sid

    @classmethod
    def queue_logouts(cls, session_ids: list) -> int:
        """One back-channel logout message in the outbox per app with a logout URI."""
        query = (cls.select(cls, OidcClient, SessionRecord, Account).join(OidcClient).switch(cls)
                 .join(SessionRecord).join(Account)
                 .where(cls.session.in_(session_ids) & (OidcClient.backchannel_logout_uri != "")))
        for row in query:
            body = json.dumps({"aud": row.client.client_id, "sub": row.session.account.subject_id(), "sid": row.sid})
            Message.create(channel="backchannel", recipient=row.client.backchannel_logout_uri,
                           subject=row.client.name, body=body, nip=row.session.account.employee.nip)
        return len(query)


class OidcCode(BaseModel):
    """An authorization code: single use, 60 seconds."""

    code_hash = CharField(max_length=64, unique=True)
    client = ForeignKeyField(OidcClient, on_delete="CASCADE")
    account = ForeignKeyField(Account, on_delete="CASCADE")
    session = ForeignKeyField(SessionRecord, null=True, on_delete="SET NULL")
    redirect_uri = TextField()
    scope = CharField()
    nonce = CharField(default="")
    code_challenge = CharField(default="")
    code_challenge_method = CharField(default="")
    auth_time = DateTimeField()
    auth_method = CharField(default="")
    sid = CharField(default="")
    created_at = DateTimeField(default=now)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)

    @classmethod
    def claim(cls, code: str, client) -> tuple:
        """(row, "ok") with the row marked used by this call, else (None, why): "unknown"
        (or another client's), "expired", or "replayed", when the code was used before:
        then whatever it issued is revoked (RFC 6749 section 4.1.2)."""
        row = cls.get_or_none((cls.code_hash == security.hash_token(code)) & (cls.client == client.id))
        if row is None:
            return None, "unknown"
        if not cls.update(used_at=now()).where((cls.id == row.id) & cls.used_at.is_null()).execute():
            OidcToken.update(revoked_at=now()).where((OidcToken.code == row.id)
                                                     & OidcToken.revoked_at.is_null()).execute()
            return None, "replayed"
        if row.expires_at <= now():
            return None, "expired"
        return row, "ok"

    # Authlib's AuthorizationCodeMixin (OpenID Connect).
    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce or None

    def get_auth_time(self):
        return int(self.auth_time.replace(tzinfo=UTC).timestamp())


class OidcToken(BaseModel):
    """An access token (10 minutes) and its refresh token, which rotates on use."""

    client = ForeignKeyField(OidcClient, backref="tokens", on_delete="CASCADE")
    account = ForeignKeyField(Account, backref="app_tokens", on_delete="CASCADE")
    session = ForeignKeyField(SessionRecord, null=True, on_delete="SET NULL")
    code = ForeignKeyField(OidcCode, null=True, on_delete="SET NULL")
    access_token_hash = CharField(max_length=64, unique=True)
    refresh_token_hash = CharField(max_length=64, null=True, unique=True)
    scope = CharField()
    issued_at = DateTimeField(default=now)
    expires_at = DateTimeField()
    refresh_expires_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True, index=True)

    @classmethod
    def by_access_token(cls, token: str):
        return cls.get_or_none(cls.access_token_hash == security.hash_token(token))

    @classmethod
    def by_refresh_token(cls, token: str):
        return cls.get_or_none(cls.refresh_token_hash == security.hash_token(token))

    def revoke(self) -> bool:
        return bool(OidcToken.update(revoked_at=now()).where((OidcToken.id == self.id)
                                                             & OidcToken.revoked_at.is_null()).execute())

    @property
    def is_usable_refresh(self) -> bool:
        return (self.revoked_at is None and self.refresh_expires_at is not None and self.refresh_expires_at > now()
                and self.account.employee.is_active)

    # Authlib's TokenMixin.
    def check_client(self, client):
        return self.client_id == client.id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self):
        return self.expires_at <= now()

    def is_revoked(self):
        return self.revoked_at is not None or not self.account.employee.is_active

    def get_user(self):
        return self.account

    def get_client(self):
        return self.client






