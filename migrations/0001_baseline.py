"""Baseline: any database made before versioned migrations (from the first release on)
reaches the schema of the first versioned release. Tables that are missing are created;
the columns later releases added are added; no row is touched except to fill them."""

from peewee import (
    BlobField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

# (table, column, field) that releases before this one added to existing tables.
ADDED_COLUMNS = [
    ("employee", "akhir_kontrak", DateField(null=True)),
    ("account", "must_activate", BooleanField(default=False)),
    ("account", "temp_password_expires_at", DateTimeField(null=True)),
    ("sessionrecord", "verified_at", DateTimeField(null=True)),  # NOT NULL once filled below
    ("auditevent", "actor_nip", CharField(null=True, index=True)),
]


def up(migrator, db):
    for table, column, field in ADDED_COLUMNS:
        if db.table_exists(table) and column not in {c.name for c in db.get_columns(table)}:
            migrator.migrate(migrator.add_column(table, column, field))
    if db.table_exists("sessionrecord") and _is_nullable(db, "sessionrecord", "verified_at"):
        # A session's last password check is, at the latest, when it signed in.
        db.execute_sql('UPDATE "sessionrecord" SET "verified_at" = "created_at" WHERE "verified_at" IS NULL')
        migrator.migrate(migrator.add_not_null("sessionrecord", "verified_at"))
    db.create_tables(_frozen_models(db), safe=True)


def _is_nullable(db, table, column):
    return next(c.null for c in db.get_columns(table) if c.name == column)


def _frozen_models(db):
    class Base(Model):
        class Meta:
            database = db

    class Employee(Base):
        nip = CharField(unique=True, max_length=18)
        nik = CharField(max_length=16)
        nama = CharField()
        email = CharField(default="")
        telepon = CharField(default="")
        jenis_asn = CharField(max_length=4)
        status = CharField(default="aktif")
        instansi = CharField(default="")
        unit_kerja = CharField(default="")
        jabatan = CharField(default="")
        pangkat = CharField(default="")
        golongan = CharField(default="")
        tmt_cpns = DateField(null=True)
        tmt_pangkat = DateField(null=True)
        akhir_kontrak = DateField(null=True)

    class PositionHistory(Base):
        employee = ForeignKeyField(Employee, on_delete="CASCADE")
        jabatan = CharField()
        unit_kerja = CharField(default="")
        tmt = DateField()
        nomor_sk = CharField(default="")

    class RankHistory(Base):
        employee = ForeignKeyField(Employee, on_delete="CASCADE")
        pangkat = CharField(default="")
        golongan = CharField()
        tmt = DateField()
        nomor_sk = CharField(default="")

    class Document(Base):
        employee = ForeignKeyField(Employee, on_delete="CASCADE")
        jenis = CharField()
        nomor = CharField(default="")
        tanggal = DateField(null=True)
        filename = CharField()
        size = IntegerField()
        content = BlobField()
        uploaded_at = DateTimeField()

    class LeaveRequest(Base):
        employee = ForeignKeyField(Employee, on_delete="CASCADE")
        jenis = CharField()
        start = DateField()
        end = DateField()
        reason = TextField()
        status = CharField(index=True, default="diajukan")
        decision_note = TextField(default="")
        decided_by = CharField(default="")
        created_at = DateTimeField()
        decided_at = DateTimeField(null=True)

    class Notification(Base):
        employee = ForeignKeyField(Employee, on_delete="CASCADE")
        title = CharField()
        body = TextField(default="")
        link = CharField(default="")
        created_at = DateTimeField(index=True)
        read_at = DateTimeField(null=True)

    class Account(Base):
        employee = ForeignKeyField(Employee, unique=True, on_delete="CASCADE")
        password_hash = CharField(null=True)
        must_change_password = BooleanField(default=True)
        role = CharField(default="pegawai")
        failed_count = IntegerField(default=0)
        locked_until = DateTimeField(null=True)
        created_at = DateTimeField()
        password_changed_at = DateTimeField(null=True)
        must_activate = BooleanField(default=False)
        temp_password_expires_at = DateTimeField(null=True)

    class Authenticator(Base):
        account = ForeignKeyField(Account, on_delete="CASCADE")
        name = CharField(default="")
        secret_encrypted = TextField()
        last_used_step = IntegerField(null=True)
        created_at = DateTimeField()
        confirmed_at = DateTimeField(null=True)
        last_used_at = DateTimeField(null=True)

    class RecoveryCode(Base):
        account = ForeignKeyField(Account, on_delete="CASCADE")
        code_hash = CharField(max_length=64)
        created_at = DateTimeField()
        used_at = DateTimeField(null=True)

    class Token(Base):
        employee = ForeignKeyField(Employee, on_delete="CASCADE")
        purpose = CharField(index=True)
        secret_hash = CharField(index=True, max_length=64)
        data = TextField(default="")
        attempts = IntegerField(default=0)
        created_at = DateTimeField()
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)

    class SessionRecord(Base):
        account = ForeignKeyField(Account, on_delete="CASCADE")
        token_hash = CharField(unique=True, max_length=64)
        created_at = DateTimeField()
        last_seen_at = DateTimeField()
        ip = CharField(default="")
        user_agent = CharField(default="")
        verified_at = DateTimeField()

    class Message(Base):
        channel = CharField(default="email")
        recipient = CharField()
        subject = CharField(default="")
        body = TextField()
        html = TextField(default="")
        status = CharField(index=True, default="pending")
        attempts = IntegerField(default=0)
        last_error = CharField(default="")
        nip = CharField(index=True, default="")
        created_at = DateTimeField()
        next_attempt_at = DateTimeField()
        sent_at = DateTimeField(null=True)

    class AuditEvent(Base):
        created_at = DateTimeField(index=True)
        event = CharField(index=True)
        nip = CharField(index=True, default="")
        account = ForeignKeyField(Account, null=True, on_delete="SET NULL")
        ip = CharField(default="")
        user_agent = CharField(default="")
        detail = CharField(default="")
        actor_nip = CharField(index=True, null=True)

    return [Employee, PositionHistory, RankHistory, Document, LeaveRequest, Notification, Account,
            Authenticator, RecoveryCode, Token, SessionRecord, Message, AuditEvent]
