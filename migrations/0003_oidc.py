"""Single sign-on: the portal as the instansi's OpenID Connect provider.

- accounts get `subject`, the opaque id apps know them by (given on first use);
- sessions remember how the second factor was proved (`amr` in ID tokens);
- new tables: registered apps (clients), consents, the apps signed in through each
  session (back-channel logout), authorization codes and tokens (all stored hashed)."""

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, Model, TextField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("account", "subject", CharField(max_length=43, null=True)),
        migrator.add_index("account", ("subject",), True),
        migrator.add_column("sessionrecord", "auth_method", CharField(default="")),
    )
    db.create_tables(_frozen_models(db), safe=True)


def _frozen_models(db):
    class Base(Model):
        class Meta:
            database = db

    class Account(Base):
        class Meta:
            table_name = "account"

    class SessionRecord(Base):
        class Meta:
            table_name = "sessionrecord"

    class OidcClient(Base):
        client_id = CharField(max_length=64, unique=True)
        name = CharField()
        secret_hash = CharField(default="")
        redirect_uris = TextField()
        post_logout_redirect_uris = TextField(default="")
        backchannel_logout_uri = CharField(default="")
        is_public = BooleanField(default=False)
        is_pre_approved = BooleanField(default=False)
        is_disabled = BooleanField(default=False)
        created_at = DateTimeField()
        secret_changed_at = DateTimeField(null=True)

    class OidcConsent(Base):
        account = ForeignKeyField(Account, backref="consents", on_delete="CASCADE")
        client = ForeignKeyField(OidcClient, backref="consents", on_delete="CASCADE")
        scope = CharField()
        granted_at = DateTimeField()
        last_used_at = DateTimeField()

        class Meta:
            indexes = ((("account", "client"), True),)

    class OidcSignIn(Base):
        session = ForeignKeyField(SessionRecord, backref="app_sign_ins", on_delete="CASCADE")
        client = ForeignKeyField(OidcClient, backref="sign_ins", on_delete="CASCADE")
        sid = CharField(max_length=43)
        created_at = DateTimeField()

        class Meta:
            indexes = ((("session", "client"), True),)

    class OidcCode(Base):
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
        created_at = DateTimeField()
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)

    class OidcToken(Base):
        client = ForeignKeyField(OidcClient, backref="tokens", on_delete="CASCADE")
        account = ForeignKeyField(Account, backref="app_tokens", on_delete="CASCADE")
        session = ForeignKeyField(SessionRecord, null=True, on_delete="SET NULL")
        code = ForeignKeyField(OidcCode, null=True, on_delete="SET NULL")
        access_token_hash = CharField(max_length=64, unique=True)
        refresh_token_hash = CharField(max_length=64, null=True, unique=True)
        scope = CharField()
        issued_at = DateTimeField()
        expires_at = DateTimeField()
        refresh_expires_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True, index=True)

    return [OidcClient, OidcConsent, OidcSignIn, OidcCode, OidcToken]
