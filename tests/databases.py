"""The databases tests run on: SQLite files in each test's folder, or, with
ASN_TEST_DATABASE_URL=postgresql://USER@HOST:PORT/postgres, a new PostgreSQL database
for each of them (named after the pytest-xdist worker, so workers never share one)."""

import itertools
import os
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SERVER_URL = os.environ.get("ASN_TEST_DATABASE_URL", "")
ON_POSTGRES = SERVER_URL.startswith("postgres")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")

_names = itertools.count(1)
_databases = {}  # SQLite path a test asked for -> its PostgreSQL database name


def database_url(path: Path) -> str:
    """The URL of an empty test database standing for the SQLite file `path`; asking
    again for the same path gives the same database."""
    if not ON_POSTGRES:
        return f"sqlite:///{path}"
    if str(path) not in _databases:
        name = f"asn_test_{WORKER}_{os.getpid()}_{next(_names)}"
        _server(f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name} TEMPLATE template0")
        _databases[str(path)] = name
    return _url_of(_databases[str(path)])


def take_snapshot(path: Path) -> None:
    """Keep the contents of the (closed) test database `path` for restore_snapshot():
    a copy by SQLite's backup API, or, on PostgreSQL, copies of its tables in a schema
    of the same database (faster than a database made from a template)."""
    if not ON_POSTGRES:
        _sqlite_copy(path, _snapshot_path(path))
        return
    tables = _tables(path)
    _in_database(path, "DROP SCHEMA IF EXISTS snapshot CASCADE", "CREATE SCHEMA snapshot",
                 *(f'CREATE TABLE snapshot."{t}" AS TABLE public."{t}"' for t in tables))


def restore_snapshot(path: Path) -> None:
    """Put the (closed) test database `path` back as take_snapshot() found it."""
    if not ON_POSTGRES:
        _sqlite_copy(_snapshot_path(path), path)
        return
    tables = _tables(path)  # names from pg_tables, not from input
    empty = 'DELETE FROM public."{0}"'  # cheaper than TRUNCATE for a few rows
    copy_rows = 'INSERT INTO public."{0}" SELECT * FROM snapshot."{0}"'
    next_id = ("SELECT setval(pg_get_serial_sequence('public.\"{0}\"', 'id'), "
               '(SELECT coalesce(max(id), 0) + 1 FROM public."{0}"), false)')
    _in_database(path, "SET session_replication_role = replica",  # rows in any order, checks off
                 *(empty.format(t) for t in tables), *(copy_rows.format(t) for t in tables),
                 *(next_id.format(t) for t in tables))


def _snapshot_path(path: Path) -> Path:
    return path.with_name(path.name + ".snapshot")


def _sqlite_copy(source: Path, target: Path) -> None:
    from_db, to_db = sqlite3.connect(source), sqlite3.connect(target)
    try:
        to_db.execute("PRAGMA synchronous=OFF")  # a test database: no need to wait for the disk
        from_db.backup(to_db)
    finally:
        from_db.close()
        to_db.close()


def _tables(path: Path) -> list:
    import psycopg2

    connection = psycopg2.connect(database_url(path))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
            return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


def _in_database(path: Path, *statements: str) -> None:
    import psycopg2

    connection = psycopg2.connect(database_url(path))
    try:
        with connection, connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


def drop_all() -> None:
    """Drop every database this process made (at the end of the session)."""
    if ON_POSTGRES and _databases:
        _server(*(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" for name in _databases.values()))
        _databases.clear()


def _url_of(name: str) -> str:
    parts = urlsplit(SERVER_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _server(*statements: str) -> None:
    import psycopg2

    connection = psycopg2.connect(SERVER_URL)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()
