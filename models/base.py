"""The database: the connection pool behind every model, and the keyed hash for values
that are checked but never read back."""

import functools
from pathlib import Path

from peewee import (
    SQL,
    AutoField,
    BigIntegerField,
    CharField,
    DatabaseProxy,
    ForeignKeyField,
    IntegerField,
    Model,
    Select,
    TextField,
    fn,
)
from playhouse.db_url import connect

import security

db = DatabaseProxy()
POOL_SIZE = 32  # more than the server's threads, the mail thread and a streamed download
POOL_WAIT_SECONDS = 10


def open_database(url: str, root: Path):
    """Connect to `url`; a relative SQLite path is taken from the project folder."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{root / url.removeprefix('sqlite:///')}"
    if url.startswith("sqlite:///"):
        # The database holds the portal's secrets: only the portal's own user may read it
        # (SQLite gives its -wal and -shm files the database file's mode).
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.touch(mode=0o600)
    # Connections are pooled: opening one (and setting its pragmas) cost more than most
    # pages. A request takes one at its first query and gives it back at its end.
    scheme, rest = url.split("://", 1)
    pooled = f"{scheme.removesuffix('+pool')}+pool://{rest}"
    pool = {"max_connections": POOL_SIZE, "timeout": POOL_WAIT_SECONDS}
    if url.startswith("sqlite"):
        # WAL lets readers work beside the writer; IMMEDIATE takes the write lock at
        # BEGIN so read-then-write transactions never deadlock on upgrade.
        database = connect(pooled, lock_type="IMMEDIATE", check_same_thread=False, pragmas={
            "journal_mode": "wal", "busy_timeout": 10000, "foreign_keys": 1,
            "synchronous": "normal"}, **pool)
    else:
        database = connect(pooled, stale_timeout=300, **pool)
    if db.obj is not None:
        db.obj.close_all()  # another app in the same process (tests, scripts): the old pool is done
    db.initialize(database)
    return database


_prebuilt_sql = {}  # (database class, name) -> SQL text


def run_prebuilt(name: str, build, params: list):
    """Run the query `build()` makes, with `params` in place of the values it was built
    with. Its SQL is built once per kind of database: for the small queries every page
    runs, building SQL with the query builder took longer than running it."""
    key = (type(db.obj), name)
    if key not in _prebuilt_sql:
        _prebuilt_sql[key] = build().sql()[0]
    return db.execute_sql(_prebuilt_sql[key], params)


def count_prebuilt(name: str, build, params: list, cap: int) -> int:
    """How many rows the query `build()` makes (`params` in place of its values), counting
    at most `cap`: past that, counting would be a pass over every match. Built once, like
    run_prebuilt."""
    def counting():
        matches = build().order_by().limit(cap).alias("_wrapped")
        return Select([matches], [fn.COUNT(SQL("1"))]).bind(db)
    return run_prebuilt(name + ", counted", counting, [*params, cap]).fetchone()[0]


def instances_from_row(row, models_selected) -> list:
    """One instance of each model from a row of a prebuilt query that selected their
    columns in this order (what `select(A, B, ...)` lists); None for a model whose
    columns are all NULL (an outer join that found nothing)."""
    values, loaded = iter(row), []
    for model in models_selected:
        readers = _readers(model)
        raw = [next(values) for _ in readers]
        if all(value is None for value in raw):
            loaded.append(None)
            continue
        # Filled in directly: setting each field through its descriptor cost more than the query.
        instance = model(__no_default__=1)
        instance.__data__ = {name: value if type(value) is ready else convert(value)
                             for (name, convert, ready), value in zip(readers, raw, strict=True)}
        instance._dirty.clear()
        loaded.append(instance)
    return loaded


# Fields whose values come from both drivers as the very object python_value would make
# (text as str, integers as int): for them the call is skipped. Exact types only, so a
# field class with a python_value of its own always gets it.
_READY_AS = {CharField: str, TextField: str, IntegerField: int, BigIntegerField: int, AutoField: int}


@functools.cache
def _readers(model) -> tuple:
    """(name, python_value, the type a value needs no conversion in) of each field of `model`."""
    readers = []
    for field in model._meta.sorted_fields:
        ready = _READY_AS.get(type(field))
        if type(field) is ForeignKeyField:
            ready = _READY_AS.get(type(field.rel_field))
        readers.append((field.name, field.python_value, ready))
    return tuple(readers)


class BaseModel(Model):
    class Meta:
        database = db





# Hashes of what must be checked but never read back (NIK, client secrets) are keyed with
# ASN_SECRET_KEY, so a copy of the database alone cannot test guesses. Set once by create_app.
_secret_key = None


def use_secret_key(secret_key: str) -> None:
    global _secret_key
    _secret_key = secret_key


def keyed_hash(value: str) -> str:
    if _secret_key is None:
        raise RuntimeError("models.use_secret_key() has not been called")
    return security.keyed_hash(value, _secret_key)
