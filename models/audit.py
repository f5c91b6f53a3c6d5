"""The audit trail: every authentication decision, never a password, code or secret."""

from peewee import (
    CharField,
    DateTimeField,
    ForeignKeyField,
)

from security import now

from .account import Account
from .base import BaseModel


class AuditEvent(BaseModel):
    """Every authentication decision. Never holds a password, OTP or secret."""

    created_at = DateTimeField(default=now, index=True)
    event = CharField()
    nip = CharField(default="")
    account = ForeignKeyField(Account, null=True, backref="audit_events", on_delete="SET NULL")
    ip = CharField(default="")
    user_agent = CharField(default="")
    detail = CharField(default="")
    actor_nip = CharField(null=True)  # the helpdesk/admin operator, if any

    class Meta:
        # Each filter of the audit page walks one index newest first, whatever the table's size.
        indexes = ((("event", "created_at"), False), (("nip", "created_at"), False),
                   (("actor_nip", "created_at"), False))

    @classmethod
    def record(cls, event: str, *, nip="", account=None, ip="", user_agent="", detail="",
               actor_nip=None):
        return cls.create(event=event, nip=nip[:32], account=account, ip=ip[:64],
                          user_agent=user_agent[:255], detail=detail[:255], actor_nip=actor_nip)

    SIGN_IN_EVENTS = ("login.ok", "login.failed", "login.locked", "login.inactive", "otp.failed",
                      "otp.replayed", "recovery_code.used", "recovery_code.failed", "account.locked",
                      "logout", "passkey.used", "passkey.failed", "passkey.cloned")

    @classmethod
    def for_nip(cls, nip: str):
        return cls.select().where(cls.nip == nip).order_by(cls.created_at.desc(), cls.id.desc())

    @classmethod
    def sign_ins(cls, account, limit=20):
        return (cls.select().where((cls.account == account) & cls.event.in_(cls.SIGN_IN_EVENTS))
                .order_by(cls.id.desc()).limit(limit))

    @classmethod
    def search(cls, *, nip="", event="", start=None, end=None):
        """Newest first. `nip` matches the employee concerned or the operator who acted;
        `start` and `end` are datetimes, `end` exclusive."""
        query = cls.select().order_by(cls.created_at.desc(), cls.id.desc())
        if nip:
            query = query.where((cls.nip == nip) | (cls.actor_nip == nip))
        if event:
            query = query.where(cls.event == event)
        if start:
            query = query.where(cls.created_at >= start)
        if end:
            query = query.where(cls.created_at < end)
        return query




