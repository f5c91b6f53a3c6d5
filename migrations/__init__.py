"""Versioned schema migrations (playhouse.migrations' runner, history in `schema_version`).

Adding a migration is one new file here, numbered after the last one, e.g.
`0002_account_contact_proof.py`:

    from peewee import CharField

    def up(migrator, db):
        migrator.migrate(
            migrator.add_column("account", "contact_proof", CharField(default="")))

`migrator` is a playhouse.migrate SchemaMigrator for the database, `db` the database.
A new table is a frozen model declared inside `up()` (a copy, never the class from
models/, which keeps changing) created with `db.create_tables([...])`. Data changes
are plain queries (`db.execute_sql(...)`). Change the models in the same commit, so a
fresh database (created from models/ and stamped) and a migrated one end up alike:
tests/test_migrations.py compares the two.

`apply(db)` runs every pending migration in one transaction. On SQLite foreign keys
are switched off around it: a column change rebuilds the table (CREATE, copy, DROP,
RENAME) and DROP TABLE with foreign keys on would fire ON DELETE CASCADE and empty
the tables that point to it. `PRAGMA foreign_key_check` runs before the commit; any
dangling reference rolls the whole upgrade back. The pragma is a no-op inside a
transaction, hence off before BEGIN and on again after COMMIT.
"""

from contextlib import contextmanager
from pathlib import Path

from peewee import SqliteDatabase
from playhouse.migrations import Runner

HISTORY_TABLE = "schema_version"
UPGRADE_COMMAND = "flask --app app migrate"


class MigrationError(Exception):
    pass


class SchemaOutOfDate(Exception):
    def __init__(self, pending):
        super().__init__(
            f"Skema basis data belum mutakhir ({len(pending)} migrasi tertunda: {', '.join(pending)}). "
            f"Cadangkan basis data, lalu jalankan: {UPGRADE_COMMAND}")
        self.pending = pending


def runner(db) -> Runner:
    return Runner(db, directory=str(Path(__file__).parent), table_name=HISTORY_TABLE)


def pending(db) -> list[str]:
    """Names of the migrations this database has not had yet."""
    return [m.name for m in runner(db).status() if m.path is not None and not m.applied]


def apply(db) -> list[str]:
    """Apply the pending migrations in order, all or none; returns their names."""
    migrations = runner(db)
    with _foreign_keys_off(db), db.atomic():
        names = migrations.up()
        if isinstance(db, SqliteDatabase):
            dangling = db.execute_sql("PRAGMA foreign_key_check").fetchall()
            if dangling:
                raise MigrationError(f"Rujukan antar-tabel rusak setelah migrasi: {dangling[:5]}")
    return names


def stamp(db) -> None:
    """Record every migration as applied: for a database just created from models/."""
    runner(db).fake()


@contextmanager
def _foreign_keys_off(db):
    if not isinstance(db, SqliteDatabase) or not db.pragma("foreign_keys"):
        yield
        return
    db.pragma("foreign_keys", 0)
    try:
        yield
    finally:
        db.pragma("foreign_keys", 1)
