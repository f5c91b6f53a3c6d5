"""Versioned migrations: old databases reach today's schema without losing a row."""

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import FlaskGroup
from playhouse.db_url import connect

import app as app_module
import migrations
import models
import security
from tests.conftest import TEST_CONFIG
from tests.databases import ON_POSTGRES, database_url

FIXTURES = Path(__file__).parent / "fixtures"
# Databases as old releases made them (tests/fixtures/make_old_databases.py).
OLD_DATABASES = ["first_commit.sql", "recovery_codes.sql"]


def load(dump: str, path: Path) -> str:
    """A new test database (SQLite file `path`, or PostgreSQL) holding the old release's
    schema and rows; returns its URL."""
    url = database_url(path)
    if not ON_POSTGRES:
        con = sqlite3.connect(path)
        con.executescript((FIXTURES / dump).read_text())
        con.close()
        return url
    import psycopg2

    script = (FIXTURES / dump.replace(".sql", ".postgresql.sql")).read_text()
    con = psycopg2.connect(url)
    with con, con.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE")
        # pg_dump's psql meta-commands (\restrict) are not SQL.
        cursor.execute("\n".join(line for line in script.splitlines() if not line.startswith("\\")))
    con.close()
    return url


def opened(url: str):
    database = connect(url)
    database.connect()
    return database


def rows(url: str) -> dict:
    """Every row of every table, keyed by table and id, as {column: value}."""
    database = opened(url)
    found = {}
    for table in database.get_tables():  # names from the catalogue
        if table != migrations.HISTORY_TABLE:
            cursor = database.execute_sql(f'SELECT * FROM "{table}"')  # noqa: S608
            names = [column[0] for column in cursor.description]
            found[table] = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    database.close()
    return found


def schema(url: str) -> dict:
    """Columns (name, type, null, primary key), indexes and foreign keys of each table."""
    database = opened(url)
    found = {table: (sorted((c.name, c.data_type, c.null, c.primary_key) for c in database.get_columns(table)),
                     sorted((i.name, tuple(i.columns), i.unique) for i in database.get_indexes(table)),
                     sorted((f.column, f.dest_table, f.dest_column) for f in database.get_foreign_keys(table)))
             for table in database.get_tables()}
    database.close()
    return found


def dangling_references(url: str) -> list:
    if ON_POSTGRES:  # PostgreSQL checks every reference itself
        return []
    database = opened(url)
    found = database.execute_sql("PRAGMA foreign_key_check").fetchall()
    database.close()
    return found


def flask_cli(url: str, *args):
    """`flask --app app ARGS` against the database at `url`, as an operator runs it."""
    group = FlaskGroup(create_app=lambda: app_module.create_app({**TEST_CONFIG, "DATABASE_URL": url}))
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
            kept = {k: v for k, v in old.items() if (table, k) != ("employee", "nik")}
            assert {k: after[table][row_id][k] for k in kept} == kept, f"{table} row {row_id} changed"
    # The NIK is no longer kept in clear: its keyed hash and last four digits are.
    for row_id, old in before["employee"].items():
        new = after["employee"][row_id]
        assert "nik" not in new and new["nik_last4"] == old["nik"][-4:]
        assert new["nik_hash"] == models.nik_hash(old["nik"])
        assert new["nama_cari"] == security.normalize_name(old["nama"]) != ""
    # Audit events still point to their accounts; sessions were verified when they signed in.
    assert [e["account_id"] for e in after["auditevent"].values()] == [
        e["account_id"] for e in before["auditevent"].values()]
    assert all(s["verified_at"] == s["created_at"] for s in after["sessionrecord"].values())
    assert all(not a["must_activate"] for a in after["account"].values())
    assert dangling_references(database) == []


@pytest.mark.parametrize("dump", OLD_DATABASES)
def test_a_migrated_database_has_the_schema_of_a_new_one(tmp_path, make_app, dump):
    migrated = load(dump, tmp_path / "old.db")
    assert flask_cli(migrated, "migrate").exit_code == 0
    new = database_url(tmp_path / "new.db")
    assert flask_cli(new, "init-db").exit_code == 0
    assert schema(migrated) == schema(new)


def test_after_migrate_the_enrolled_user_still_needs_the_otp(tmp_path, make_app, clock):
    """The data loss made a password alone enough to enrol a new authenticator."""
    from tests.helpers import login

    database = load("first_commit.sql", tmp_path / "old.db")
    nik = rows(database)["employee"][1]["nik"]
    flask_cli(database, "migrate")
    app = make_app(DATABASE_URL=database)
    with models.db.connection_context():
        employee = models.Employee.get_by_id(1)
        account = models.Account.for_employee(employee)
        account.password_hash = None  # the NIK works again, so the test needs no old hash
        account.save()
        assert account.authenticators.count() == 2
    response = login(app.test_client(), employee.nip, nik)
    assert response.location == "/login/kode"  # the old NIK still works, and still needs the code


def test_the_app_refuses_an_out_of_date_database(tmp_path, make_app):
    database = load("first_commit.sql", tmp_path / "old.db")
    with pytest.raises(migrations.SchemaOutOfDate, match="flask --app app migrate"):
        make_app(DATABASE_URL=database)
    assert rows(database) == rows(load("first_commit.sql", tmp_path / "same.db"))


def test_the_command_line_works_on_an_out_of_date_database(tmp_path):
    database = load("first_commit.sql", tmp_path / "old.db")
    result = flask_cli(database, "init-db")
    assert result.exit_code != 0 and "flask --app app migrate" in result.output


def test_demo_mode_migrates_an_old_demo_database(tmp_path, make_app):
    database = load("first_commit.sql", tmp_path / "demo.db")
    authenticators = rows(database)["authenticator"]
    make_app(DATABASE_URL=database, DEMO=True)
    with models.db.connection_context():
        assert migrations.pending(models.db.obj) == []
    assert rows(database)["authenticator"] == authenticators


def test_migrate_is_idempotent(tmp_path):
    database = load("recovery_codes.sql", tmp_path / "old.db")
    assert flask_cli(database, "migrate").exit_code == 0
    migrated = rows(database)
    result = flask_cli(database, "migrate")
    assert result.exit_code == 0 and result.output.startswith("0 migrasi diterapkan")
    after = rows(database)
    # The first start on a current schema stores the secret key's check value; nothing else.
    assert after.pop("keycheck") and not migrated.pop("keycheck")
    assert after == migrated


def test_a_new_database_is_created_current(tmp_path, make_app):
    make_app()
    with models.db.connection_context():
        assert migrations.pending(models.db.obj) == []
        applied = [r[0] for r in models.db.execute_sql('SELECT name FROM "schema_version"')]
    assert applied == [p.stem for p in sorted(Path(migrations.__file__).parent.glob("[0-9]*.py"))]


@pytest.mark.skipif(ON_POSTGRES, reason="PostgreSQL never lets a reference break")
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
    assert not opened(database).table_exists(migrations.HISTORY_TABLE)


def test_leave_requests_become_service_requests_of_kind_cuti(tmp_path, make_app):
    """0005 moves every leave request into the one table of requests, ids, dates, reason
    and decision kept, each with its timeline; the leave rules work on them after."""
    database = load("recovery_codes.sql", tmp_path / "old.db")
    old = opened(database)
    migrations.runner(old).up("0004_search_indexes")  # the release before requests
    insert = ('INSERT INTO "leaverequest" (id, employee_id, jenis, start, "end", reason, status, decision_note, '
              'decided_by, created_at, decided_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)'
              ).replace("%s", old.param)
    leave = [
        (3, 1, "tahunan", "2026-03-02", "2026-03-06", "Mudik", "disetujui", "Sesuai jatah", "199001012020011003",
         "2026-02-01 01:00:00", "2026-02-02 03:00:00"),
        (5, 1, "tahunan", "2026-06-01", "2026-06-03", "Keluarga", "diajukan", "", "", "2026-05-01 01:00:00", None),
        (7, 2, "sakit", "2026-04-06", "2026-04-06", "Demam", "ditolak", "Tanpa surat dokter",
         "199001012020011003", "2026-04-06 01:00:00", "2026-04-07 01:00:00"),
    ]
    with old.atomic():
        for row in leave:
            old.execute_sql(insert, row)
    old.close()

    result = flask_cli(database, "migrate")
    assert result.exit_code == 0, result.output
    assert "0005_service_requests" in result.output
    after = rows(database)
    assert "leaverequest" not in after
    assert sorted(after["servicerequest"]) == [3, 5, 7]
    assert dangling_references(database) == []

    make_app(DATABASE_URL=database)
    with models.db.connection_context():
        approved, waiting, rejected = (models.LeaveRequest.get_by_id(i) for i in (3, 5, 7))
        assert (approved.kind, approved.jenis, approved.status, approved.reason) == ("cuti", "tahunan",
                                                                                    "disetujui", "Mudik")
        assert (str(approved.start), str(approved.end), approved.days) == ("2026-03-02", "2026-03-06", 5)
        assert (approved.decision_note, approved.decided_by) == ("Sesuai jatah", "199001012020011003")
        assert str(approved.decided_at) == "2026-02-02 03:00:00" and str(approved.submitted_at) == "2026-02-01 01:00:00"
        assert waiting.status == "diajukan" and waiting.decided_at is None
        assert (rejected.employee.nip, rejected.jenis, rejected.note) == ("199001012020011002", "sakit",
                                                                          "Tanpa surat dokter")
        assert [(s.to_status, s.actor_nip) for s in approved.timeline()] == [
            ("diajukan", "199001012020011001"), ("disetujui", "199001012020011003")]
        assert [s.to_status for s in waiting.timeline()] == ["diajukan"]
        # The leave rules count the moved requests: 5 approved + 3 waiting of the 12 days.
        assert models.LeaveRequest.annual_days_used(approved.employee, 2026) == 8
        # New requests get new ids after the moved ones.
        new = models.LeaveRequest.file(approved.employee, "sakit", approved.start, approved.start, "Flu")
        assert new.id > 7
