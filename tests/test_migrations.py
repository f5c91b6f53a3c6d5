"""Versioned migrations: old databases reach today's schema without losing a row."""

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import FlaskGroup

import app as app_module
import migrations
import models
from tests.conftest import TEST_CONFIG

FIXTURES = Path(__file__).parent / "fixtures"
# Databases as old releases made them (tests/fixtures/make_old_databases.py).
OLD_DATABASES = ["first_commit.sql", "recovery_codes.sql"]


def load(dump: str, path: Path) -> Path:
    con = sqlite3.connect(path)
    con.executescript((FIXTURES / dump).read_text())
    con.close()
    return path


def rows(path: Path) -> dict:
    """Every row of every table, keyed by table and id, as {column: value}."""
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "AND name NOT LIKE 'sqlite_%' AND name != 'schema_version'")]
    found = {}
    for table in tables:  # names from sqlite_master
        found[table] = {row["id"]: dict(row) for row in con.execute(f'SELECT * FROM "{table}"')}  # noqa: S608
    con.close()
    return found


def schema(path: Path) -> dict:
    """Columns (name, type, not null, primary key), indexes and foreign keys of each table."""
    con = sqlite3.connect(path)
    tables = sorted(r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                              "AND name NOT LIKE 'sqlite_%'"))
    found = {}
    for table in tables:
        columns = sorted((c[1], c[2], c[3], c[5]) for c in con.execute(f'PRAGMA table_info("{table}")'))
        indexes = sorted(
            (tuple(i[2] for i in con.execute(f'PRAGMA index_info("{index[1]}")')), index[2])
            for index in con.execute(f'PRAGMA index_list("{table}")'))
        foreign_keys = sorted((f[2], f[3], f[4], f[6]) for f in con.execute(f'PRAGMA foreign_key_list("{table}")'))
        found[table] = (columns, indexes, foreign_keys)
    con.close()
    return found


def flask_cli(database: Path, *args):
    """`flask --app app ARGS` against `database`, as an operator runs it."""
    group = FlaskGroup(create_app=lambda: app_module.create_app(
        {**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{database}"}))
    result = CliRunner().invoke(group, list(args), catch_exceptions=False)
    if not models.db.is_closed():
        models.db.close()
    return result


@pytest.mark.parametrize("dump", OLD_DATABASES)
def test_migrate_keeps_every_row_of_an_old_database(tmp_path, dump):
    database = load(dump, tmp_path / "old.db")
    before = rows(database)
    assert before["authenticator"] and before["sessionrecord"] and before["auditevent"]

    result = flask_cli(database, "migrate")
    assert result.exit_code == 0, result.output
    assert "0001_baseline" in result.output

    after = rows(database)
    for table, old_rows in before.items():
        assert after[table].keys() == old_rows.keys(), f"rows lost or added in {table}"
        for row_id, old in old_rows.items():
            assert {k: after[table][row_id][k] for k in old} == old, f"{table} row {row_id} changed"
    # Audit events still point to their accounts; sessions were verified when they signed in.
    assert [e["account_id"] for e in after["auditevent"].values()] == [
        e["account_id"] for e in before["auditevent"].values()]
    assert all(s["verified_at"] == s["created_at"] for s in after["sessionrecord"].values())
    assert all(a["must_activate"] == 0 for a in after["account"].values())
    con = sqlite3.connect(database)
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    con.close()


@pytest.mark.parametrize("dump", OLD_DATABASES)
def test_a_migrated_database_has_the_schema_of_a_new_one(tmp_path, make_app, dump):
    migrated = load(dump, tmp_path / "old.db")
    assert flask_cli(migrated, "migrate").exit_code == 0
    new = tmp_path / "new.db"
    assert flask_cli(new, "init-db").exit_code == 0
    assert schema(migrated) == schema(new)


def test_after_migrate_the_enrolled_user_still_needs_the_otp(tmp_path, make_app, clock):
    """The data loss made a password alone enough to enrol a new authenticator."""
    from tests.helpers import login

    database = load("first_commit.sql", tmp_path / "old.db")
    flask_cli(database, "migrate")
    app = make_app(DATABASE_URL=f"sqlite:///{database}")
    with models.db.connection_context():
        employee = models.Employee.get_by_id(1)
        account = models.Account.for_employee(employee)
        account.password_hash = None  # the NIK works again, so the test needs no old hash
        account.save()
        assert account.authenticators.count() == 2
    response = login(app.test_client(), employee.nip, employee.nik)
    assert response.location != "/mfa/setup"


def test_the_app_refuses_an_out_of_date_database(tmp_path, make_app):
    database = load("first_commit.sql", tmp_path / "old.db")
    with pytest.raises(migrations.SchemaOutOfDate, match="flask --app app migrate"):
        make_app(DATABASE_URL=f"sqlite:///{database}")
    assert rows(database) == rows(load("first_commit.sql", tmp_path / "same.db"))


def test_the_command_line_works_on_an_out_of_date_database(tmp_path):
    database = load("first_commit.sql", tmp_path / "old.db")
    result = flask_cli(database, "init-db")
    assert result.exit_code != 0 and "flask --app app migrate" in result.output


def test_demo_mode_migrates_an_old_demo_database(tmp_path, make_app):
    database = load("first_commit.sql", tmp_path / "demo.db")
    authenticators = rows(database)["authenticator"]
    make_app(DATABASE_URL=f"sqlite:///{database}", DEMO=True)
    with models.db.connection_context():
        assert migrations.pending(models.db.obj) == []
    assert rows(database)["authenticator"] == authenticators


def test_migrate_is_idempotent(tmp_path):
    database = load("recovery_codes.sql", tmp_path / "old.db")
    assert flask_cli(database, "migrate").exit_code == 0
    migrated = rows(database)
    result = flask_cli(database, "migrate")
    assert result.exit_code == 0 and result.output.startswith("0 migrasi diterapkan")
    assert rows(database) == migrated


def test_a_new_database_is_created_current(tmp_path, make_app):
    make_app()
    with models.db.connection_context():
        assert migrations.pending(models.db.obj) == []
        applied = [r[0] for r in models.db.execute_sql('SELECT name FROM "schema_version"')]
    assert applied == [p.stem for p in sorted(Path(migrations.__file__).parent.glob("[0-9]*.py"))]


def test_a_migration_that_breaks_a_reference_is_rolled_back(tmp_path, monkeypatch):
    database = load("first_commit.sql", tmp_path / "old.db")
    before = rows(database)
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_orphan.py").write_text(
        "def up(migrator, db):\n"
        "    db.execute_sql('DELETE FROM account WHERE id = 1')\n")
    real_runner = migrations.runner
    monkeypatch.setattr(migrations, "runner", lambda db: type(real_runner(db))(
        db, directory=str(folder), table_name=migrations.HISTORY_TABLE))
    result = flask_cli(database, "migrate")
    assert result.exit_code != 0 and "tidak diubah" in result.output
    assert rows(database) == before
    con = sqlite3.connect(database)
    assert con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'schema_version'").fetchone()[0] == 0
    con.close()
