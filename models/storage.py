"""The database as a whole: creating or migrating the schema, backup and restore, and
the retention purge."""

import os
import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from peewee import (
    SqliteDatabase,
)

import migrations
from security import now

from .account import Account, Authenticator, KeyCheck, RecoveryCode
from .audit import AuditEvent
from .base import db
from .employee import Document, Employee, PositionHistory, RankHistory
from .oidc import OidcClient, OidcCode, OidcConsent, OidcSignIn, OidcToken
from .outbox import Message, Notification
from .passkey import Passkey
from .registration import ActivationLetter, RegistrationRequest
from .requests import RequestDocument, RequestStep, ServiceRequest
from .sessions import SessionRecord, Token, TrustedDevice, UnknownNip


def create_tables():
    """A new database: the current schema, with every migration recorded as applied."""
    with db.atomic():
        db.create_tables(ALL_MODELS)
        migrations.stamp(db.obj)


def is_empty() -> bool:
    return not any(db.table_exists(model._meta.table_name) for model in ALL_MODELS)


def prepare_schema(migrate_if_old: bool) -> None:
    """Create the schema in an empty database; an older one is migrated only when asked
    (demo mode), else refused: an operator backs it up first and runs the migration."""
    if is_empty():
        create_tables()
        return
    pending = migrations.pending(db.obj)
    if pending and migrate_if_old:
        migrations.apply(db.obj)
    elif pending:
        raise migrations.SchemaOutOfDate(pending)


class BackupError(Exception):
    pass


PG_BACKUP_GUIDANCE = (
    "Basis data ini PostgreSQL: cadangkan dengan pg_dump, misalnya\n"
    "  pg_dump --format=custom --file=portal.dump \"$ASN_DATABASE_URL\"\n"
    "dan pulihkan (layanan portal dihentikan dahulu) dengan\n"
    "  pg_restore --clean --if-exists --single-transaction --dbname=\"$ASN_DATABASE_URL\" portal.dump")


def _sqlite_path() -> Path:
    if not isinstance(db.obj, SqliteDatabase):
        raise BackupError(PG_BACKUP_GUIDANCE)
    return Path(db.obj.database)


def backup(target: Path) -> None:
    """A consistent copy of the SQLite database while the portal keeps running: SQLite's
    online backup API copies every page in one read transaction, so writes made
    meanwhile are either wholly in the copy or not at all. Written beside `target`,
    checked, then renamed over it."""
    source_path, target = _sqlite_path(), Path(target)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source, copy = sqlite3.connect(source_path, timeout=10), sqlite3.connect(partial)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        source.close()
        copy.close()
    try:
        check_backup(partial)
    except BackupError:
        partial.unlink()
        raise
    os.replace(partial, target)


def check_backup(path: Path) -> None:
    """Refuses a file that is not an intact portal database."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"Berkas {path} tidak ada.")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            integrity = [row[0] for row in con.execute("PRAGMA integrity_check")]
            tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError:
        raise BackupError(f"{path} bukan berkas cadangan portal (bukan basis data SQLite).") from None
    if integrity != ["ok"]:
        raise BackupError(f"{path} rusak (integrity_check: {'; '.join(integrity[:3])}).")
    needed = {"employee", "account"}  # in every release; an older one is migrated after a restore
    if not needed <= tables:
        raise BackupError(f"{path} bukan berkas cadangan portal (tabel {', '.join(sorted(needed - tables))} "
                          "tidak ada).")


def restore(source: Path) -> Path:
    """Replace the SQLite database's contents with the backup `source`, in one write
    transaction (SQLite's backup API into the live file: readers see the old data or
    the new, never a mix). The current contents are first backed up beside it; returns
    that file."""
    live = _sqlite_path()
    check_backup(source)
    kept = live.with_name(f"{live.name}.sebelum-pemulihan-{now():%Y%m%d-%H%M%S}")
    backup(kept)
    backup_file, target = sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(live, timeout=10)
    try:
        backup_file.backup(target)
    finally:
        backup_file.close()
        target.close()
    return kept




ALL_MODELS = [Employee, PositionHistory, RankHistory, Document, ServiceRequest, RequestStep, RequestDocument,
              Notification, Account,
              Authenticator, KeyCheck, RecoveryCode, Token, SessionRecord, TrustedDevice, UnknownNip,
              ActivationLetter, RegistrationRequest, Message, AuditEvent, OidcClient, OidcConsent, OidcSignIn,
              OidcCode, OidcToken, Passkey]


# --------------------------------------------------------------------------- retention

PURGE_BATCH = 5000  # rows per transaction: short write locks while the portal keeps serving
TOKEN_KEEP = timedelta(days=1)  # used or expired tokens stay a day for the helpdesk to see


@dataclass
class PurgeReport:
    sessions: int = 0
    tokens: int = 0
    mail_bodies: int = 0
    audit_events: int = 0
    unknown_nips: int = 0


def purge(idle: timedelta, lifetime: timedelta, audit_days: int, batch: int = PURGE_BATCH) -> PurgeReport:
    """Removes what is no longer needed: sessions past their idle time or lifetime, used or
    expired tokens after a day, the text of sent messages (codes and links; the row
    stays for the record), audit events older than `audit_days`, and the failure counters
    of unknown NIPs once a day has passed and no lock holds."""
    current = now()
    return PurgeReport(
        sessions=_in_batches(SessionRecord, (SessionRecord.last_seen_at < current - idle)
                                    | (SessionRecord.created_at < current - lifetime), batch),
        tokens=_in_batches(Token, (Token.used_at < current - TOKEN_KEEP)
                                  | (Token.expires_at < current - TOKEN_KEEP), batch)
        + _in_batches(OidcToken, (OidcToken.revoked_at < current - TOKEN_KEEP)
                      | ((OidcToken.expires_at < current - TOKEN_KEEP)
                         & (OidcToken.refresh_expires_at.is_null()
                            | (OidcToken.refresh_expires_at < current - TOKEN_KEEP))), batch)
        + _in_batches(OidcCode, OidcCode.expires_at < current - TOKEN_KEEP, batch),
        mail_bodies=_in_batches(Message, (Message.status == "sent") & ((Message.body != "") | (Message.html != "")),
                                batch, values={Message.body: "", Message.html: ""}),
        audit_events=_in_batches(AuditEvent, AuditEvent.created_at < current - timedelta(days=audit_days),
                                        batch),
        unknown_nips=_in_batches(UnknownNip, (UnknownNip.created_at < current - timedelta(days=1))
                                 & (UnknownNip.locked_until.is_null() | (UnknownNip.locked_until < current)), batch))


def _in_batches(model, condition, batch: int, values: dict | None = None) -> int:
    """Deletes the rows matching `condition` (or sets `values` on them, which must make
    them stop matching), `batch` rows per transaction; returns how many."""
    total = 0
    while True:
        with db.atomic():
            ids = [row.id for row in model.select(model.id).where(condition).limit(batch)]
            if ids:
                query = model.update(values) if values else model.delete()
                query.where(model.id.in_(ids)).execute()
        total += len(ids)
        if len(ids) < batch:
            return total


