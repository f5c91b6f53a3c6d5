"""Passkeys (WebAuthn) beside the TOTP authenticators: one new table, nothing else changes."""

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def up(migrator, db):
    class Account(Model):
        class Meta:
            database = db
            table_name = "account"

    class Passkey(Model):
        account = ForeignKeyField(Account, backref="passkeys", on_delete="CASCADE")
        name = CharField()
        credential_id = CharField(max_length=1400, unique=True)
        public_key = TextField()
        sign_count = IntegerField(default=0)
        transports = CharField(default="")
        created_at = DateTimeField()
        last_used_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "passkey"

    db.create_tables([Passkey], safe=True)
