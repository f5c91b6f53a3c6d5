"""Passkeys (WebAuthn credentials): a key pair kept by the phone or security key, unlocked
by its fingerprint, face or screen lock. The portal keeps only the public key, and the
signature counter that gives away a cloned authenticator."""

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from security import now

from .account import Account
from .base import BaseModel


class Passkey(BaseModel):
    account = ForeignKeyField(Account, backref="passkeys", on_delete="CASCADE")
    name = CharField()
    credential_id = CharField(max_length=1400, unique=True)  # base64url; WebAuthn allows up to 1023 bytes
    public_key = TextField()  # base64url of the COSE key
    sign_count = IntegerField(default=0)
    transports = CharField(default="")  # comma-separated hints for the browser (internal, usb, hybrid …)
    created_at = DateTimeField(default=now)
    last_used_at = DateTimeField(null=True)

    @classmethod
    def of(cls, account):
        return cls.select().where(cls.account == account.id).order_by(cls.id)

    @classmethod
    def by_credential_id(cls, credential_id: str):
        if not credential_id or len(credential_id) > 1400:
            return None
        return cls.get_or_none(cls.credential_id == credential_id)

    def claim_use(self, sign_count: int) -> bool:
        """Record a verified use whose authenticator counted `sign_count`. The counter must
        go up (a clone, used in turn with the original, shows a count already seen), except
        for authenticators that keep no counter (always 0). Compare-and-set, so two
        requests can never both use the same count."""
        cls = type(self)
        claimed = cls.update(sign_count=sign_count, last_used_at=now()).where(
            (cls.id == self.id) & ((cls.sign_count < sign_count) | ((cls.sign_count == 0) & (sign_count == 0)))
        ).execute()
        if claimed:
            self.sign_count, self.last_used_at = sign_count, now()
        return bool(claimed)
