"""flask --app app backup / restore: consistent copies of a database in use, and a
restore that takes only an intact portal backup."""

import sqlite3
import threading

import pytest

import models
from tests.databases import ON_POSTGRES
from tests.helpers import NIP, make_employee

pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="SQLite's backup API; PostgreSQL uses pg_dump")


def audit_ids(path) -> list:
    con = sqlite3.connect(path)
    try:
        return [row[0] for row in con.execute("SELECT id FROM auditevent ORDER BY id")]
    finally:
        con.close()


def integrity(path) -> str:
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def test_backup_while_rows_are_being_written_is_consistent(app, tmp_path):
    database = tmp_path / "portal.db"
    with models.db.connection_context():
        make_employee()
        with models.db.atomic():  # a few MB, so the copy takes a while
            models.AuditEvent.insert_many(
                [{"event": "login.ok", "nip": str(i), "detail": "x" * 200} for i in range(20_000)]).execute()
    stop, written = threading.Event(), []

    def write_rows():
        con = sqlite3.connect(database, timeout=10)
        while not stop.is_set():
            with con:
                cursor = con.execute("INSERT INTO auditevent (created_at, event, nip, ip, user_agent, detail) "
                                     "VALUES ('2026-11-23 02:00:00', 'login.failed', 'w', '', '', 'tulis')")
            written.append(cursor.lastrowid)
        con.close()

    writer = threading.Thread(target=write_rows)
    writer.start()
    try:
        while len(written) < 20:
            pass
        copies = []
        for n in range(3):
            copy = tmp_path / f"cadangan-{n}.db"
            result = app.test_cli_runner().invoke(args=["backup", str(copy)])
            assert result.exit_code == 0, result.output
            copies.append(copy)
    finally:
        stop.set()
        writer.join()
    assert len(written) > 20
    for copy in copies:
        assert integrity(copy) == "ok"
        ids = audit_ids(copy)
        # A snapshot: every row committed before it, none after, no half-written one.
        assert ids == list(range(1, len(ids) + 1))
        assert 20_000 + 20 <= len(ids) <= 20_000 + len(written)
        assert not copy.with_name(copy.name + "-wal").exists()
    assert audit_ids(copies[-1])[-1] > audit_ids(copies[0])[-1]


def test_restore_brings_back_the_backup_and_keeps_the_replaced_data(app, tmp_path):
    runner = app.test_cli_runner()
    with models.db.connection_context():
        make_employee()
    copy = tmp_path / "cadangan.db"
    assert runner.invoke(args=["backup", str(copy)]).exit_code == 0
    with models.db.connection_context():
        make_employee(nip="198507152010012002", nik="3273015507850002", nama="Pegawai Baru")
        assert models.Employee.select().count() == 2

    result = runner.invoke(args=["restore", str(copy)])
    assert result.exit_code == 0, result.output
    with models.db.connection_context():
        assert [e.nip for e in models.Employee.select()] == [NIP]
    kept = next(tmp_path.glob("portal.db.sebelum-pemulihan-*"))
    assert str(kept) in result.output
    con = sqlite3.connect(kept)
    assert con.execute("SELECT count(*) FROM employee").fetchone()[0] == 2
    con.close()
    assert integrity(tmp_path / "portal.db") == "ok"


@pytest.mark.parametrize("content, message", [
    (b"bukan basis data, hanya teks" * 100, "bukan basis data SQLite"),
    (None, "tabel"),  # an SQLite database of something else
])
def test_restore_refuses_a_file_that_is_not_a_portal_backup(app, tmp_path, content, message):
    with models.db.connection_context():
        make_employee()
    other = tmp_path / "lain.db"
    if content is None:
        con = sqlite3.connect(other)
        con.execute("CREATE TABLE catatan (isi TEXT)")
        con.commit()
        con.close()
    else:
        other.write_bytes(content)
    result = app.test_cli_runner().invoke(args=["restore", str(other)])
    assert result.exit_code != 0 and message in result.output and "tidak diubah" in result.output
    with models.db.connection_context():
        assert models.Employee.select().count() == 1


def test_restore_refuses_a_damaged_backup(app, tmp_path):
    with models.db.connection_context():
        make_employee()
        models.AuditEvent.insert_many([{"event": "login.ok", "detail": "x" * 500}] * 2000).execute()
    copy = tmp_path / "cadangan.db"
    assert app.test_cli_runner().invoke(args=["backup", str(copy)]).exit_code == 0
    data = bytearray(copy.read_bytes())
    page = 4096
    data[page * 5:page * 5 + 200] = b"\xff" * 200  # a b-tree page overwritten
    copy.write_bytes(bytes(data))
    result = app.test_cli_runner().invoke(args=["restore", str(copy)])
    assert result.exit_code != 0 and "tidak diubah" in result.output
    with models.db.connection_context():
        assert models.AuditEvent.select().count() == 2000


def test_backup_on_postgresql_points_to_pg_dump(app, monkeypatch, tmp_path):
    from playhouse.db_url import connect

    monkeypatch.setattr(models.db, "obj", connect("postgresql://portal@127.0.0.1:1/portal"))
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "x.db")])
    assert result.exit_code != 0 and "pg_dump" in result.output


def test_an_old_database_is_backed_up_before_its_upgrade_and_restores(tmp_path):
    """The upgrade steps: back up the old database, migrate; a restore of that backup
    needs the migration again."""
    from tests.test_migrations import flask_cli, load, rows

    database = load("first_commit.sql", tmp_path / "lama.db")
    before = rows(database)
    copy = tmp_path / "sebelum-upgrade.db"
    assert flask_cli(database, "backup", str(copy)).exit_code == 0
    assert flask_cli(database, "migrate").exit_code == 0
    result = flask_cli(database, "restore", str(copy))
    assert result.exit_code == 0 and "flask --app app migrate" in result.output
    assert rows(database) == before
