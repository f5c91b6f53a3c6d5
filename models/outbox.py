"""What goes out to the employee: in-app notifications and the mail/SMS outbox."""

import re
from datetime import timedelta

from peewee import (
    SQL,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
    fn,
)

from security import now

from .base import BaseModel, run_prebuilt
from .employee import Employee


class Notification(BaseModel):
    """A message in the employee's dashboard (also sent by mail where it matters)."""

    employee = ForeignKeyField(Employee, backref="notifications", on_delete="CASCADE")
    title = CharField()
    body = TextField(default="")
    link = CharField(default="")
    created_at = DateTimeField(default=now, index=True)
    read_at = DateTimeField(null=True)

    @classmethod
    def of(cls, employee):
        return cls.select().where(cls.employee == employee).order_by(cls.id.desc())

    @classmethod
    def unread_count(cls, employee) -> int:
        return run_prebuilt("unread notifications", lambda: cls.select(fn.COUNT(cls.id)).where(
            (cls.employee == 0) & cls.read_at.is_null()), [employee.id]).fetchone()[0]

    @classmethod
    def mark_read(cls, employee, notification_id=None) -> int:
        query = cls.update(read_at=now()).where((cls.employee == employee) & cls.read_at.is_null())
        if notification_id is not None:
            query = query.where(cls.id == notification_id)
        return query.execute()





SECRET_LINK_RE = re.compile(r"https?://\S+?/(?:reset|aktivasi)/[A-Za-z0-9_\-]+")


def redact_links(text: str) -> str:
    return SECRET_LINK_RE.sub("[tautan disembunyikan setelah terkirim]", text)


class Message(BaseModel):
    """Outgoing e-mail or SMS. With no mail server configured (and for SMS with no
    gateway) messages stay here with status "outbox"; otherwise "pending" until sent,
    retried with back-off, "failed" after MAX_ATTEMPTS."""

    MAX_ATTEMPTS = 8
    # A message still "sending" after this long was cut off (the process died mid-send).
    SENDING_TIMEOUT = timedelta(minutes=5)

    channel = CharField(default="email")  # email | sms
    recipient = CharField()
    subject = CharField(default="")
    body = TextField()
    html = TextField(default="")
    status = CharField(default="pending", index=True)  # pending|sending|sent|failed|outbox
    attempts = IntegerField(default=0)
    last_error = CharField(default="")
    nip = CharField(default="", index=True)
    created_at = DateTimeField(default=now)
    next_attempt_at = DateTimeField(default=now)
    sent_at = DateTimeField(null=True)

    @classmethod
    def _is_due(cls):
        """Pending and its time has come, or stuck in "sending" past SENDING_TIMEOUT (a
        claim sets next_attempt_at to the moment it counts as stuck)."""
        return cls.status.in_(("pending", "sending")) & (cls.next_attempt_at <= now())

    @classmethod
    def due(cls):
        return cls.select().where(cls._is_due())

    @classmethod
    def has_due_logouts(cls) -> bool:
        """Asked after every POST: its SQL is built once."""
        return run_prebuilt("Message.has_due_logouts", lambda: cls.select(SQL("1")).where(
            cls._is_due() & (cls.channel == "")).limit(1),
            ["pending", "sending", now(), "backchannel", 1]).fetchone() is not None

    def claim(self) -> bool:
        """Only one process or thread sends a given message."""
        return bool(Message.update(status="sending", next_attempt_at=now() + self.SENDING_TIMEOUT).where(
            (Message.id == self.id) & ((Message.status == "pending") | Message._is_due())).execute())

    def mark_sent(self) -> None:
        """Sent: a reset or activation link in it has done its job here, and a copy of the
        database must not be a way into accounts."""
        Message.update(status="sent", sent_at=now(), attempts=Message.attempts + 1, last_error="",
                       body=redact_links(self.body), html=redact_links(self.html)).where(
            Message.id == self.id).execute()

    def mark_failed(self, error: str) -> None:
        attempts = self.attempts + 1
        status = "failed" if attempts >= self.MAX_ATTEMPTS else "pending"
        delay = timedelta(minutes=min(2 ** attempts, 120))
        Message.update(status=status, attempts=attempts, last_error=error[:255],
                       next_attempt_at=now() + delay).where(Message.id == self.id).execute()

    @classmethod
    def with_status(cls, statuses):
        """For the console: oldest first, so what waits longest is on top."""
        return cls.select().where(cls.status.in_(statuses)).order_by(cls.id)

    @classmethod
    def outbox(cls, channel=None):
        query = cls.select().order_by(cls.id.desc())
        return query.where(cls.channel == channel) if channel else query


# The portal is the instansi's OpenID Connect provider (oidc.py speaks the protocol). Every
# code and token is stored as a hash; a client secret as a keyed hash.



