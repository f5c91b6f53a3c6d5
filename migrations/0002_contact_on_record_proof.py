"""Nobody takes over an account with public data (issue: contact on record, first-login
proof, lockout without denial of service):

- the NIK is kept as a keyed hash (HMAC with a key derived from ASN_SECRET_KEY) and its
  last four digits, instead of in clear;
- accounts count lock periods (each lock lasts longer);
- new tables: known browsers (device-cookie lockout), failure counters for unknown NIPs,
  printed activation letters, registrations waiting for the helpdesk, and the secret
  key's check value.

The NIK hash needs the secret key: run it through `flask --app app migrate`, which loads
the configured ASN_SECRET_KEY first."""

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField

from models import nik_hash


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("employee", "nik_hash", CharField(max_length=64, default="")),
        migrator.add_column("employee", "nik_last4", CharField(max_length=4, default="")),
        migrator.add_column("account", "lock_count", IntegerField(default=0)),
    )
    class Employee(Model):
        nik = CharField()
        nik_hash = CharField()
        nik_last4 = CharField()

        class Meta:
            database = db
            table_name = "employee"

    for row in Employee.select(Employee.id, Employee.nik):
        Employee.update(nik_hash=nik_hash(row.nik), nik_last4=row.nik[-4:]).where(Employee.id == row.id).execute()
    migrator.migrate(migrator.drop_column("employee", "nik"))
    db.create_tables(_frozen_models(db), safe=True)


def _frozen_models(db):
    class Base(Model):
        class Meta:
            database = db

    class Employee(Base):
        class Meta:
            table_name = "employee"

    class Account(Base):
        class Meta:
            table_name = "account"

    class Lockable(Base):
        failed_count = IntegerField(default=0)
        locked_until = DateTimeField(null=True)
        lock_count = IntegerField(default=0)

    class TrustedDevice(Lockable):
        account = ForeignKeyField(Account, backref="devices", on_delete="CASCADE")
        token_hash = CharField(max_length=64, unique=True)
        user_agent = CharField(default="")
        created_at = DateTimeField()
        last_used_at = DateTimeField()

    class UnknownNip(Lockable):
        nip = CharField(max_length=18, unique=True)
        created_at = DateTimeField()

    class ActivationLetter(Base):
        employee = ForeignKeyField(Employee, backref="activation_letters", on_delete="CASCADE")
        code_hash = CharField(max_length=64)
        created_at = DateTimeField()
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)

    class RegistrationRequest(Base):
        employee = ForeignKeyField(Employee, backref="registration_requests", on_delete="CASCADE")
        email = CharField()
        telepon = CharField(default="")
        status = CharField(default="menunggu", index=True)
        created_at = DateTimeField()
        decided_at = DateTimeField(null=True)
        decided_by = CharField(default="")
        note = CharField(default="")

    class KeyCheck(Base):
        value = TextField()
        created_at = DateTimeField()

    return [TrustedDevice, UnknownNip, ActivationLetter, RegistrationRequest, KeyCheck]
