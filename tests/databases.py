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


def copy_database(source: Path, target: Path) -> None:
    """Make `target` a copy of `source` (both closed): SQLite's backup API, or a
    PostgreSQL database made from the other as template."""
    if not ON_POSTGRES:
        from_db, to_db = sqlite3.connect(source), sqlite3.connect(target)
        try:
            to_db.execute("PRAGMA synchronous=OFF")  # a test database: no need to wait for the disk
            from_db.backup(to_db)
        finally:
            from_db.close()
            to_db.close()
        return
    database_url(source)
    name = _databases.setdefault(str(target), f"asn_test_{WORKER}_{os.getpid()}_{next(_names)}")
    _server(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
            f"CREATE DATABASE {name} TEMPLATE {_databases[str(source)]}")


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
