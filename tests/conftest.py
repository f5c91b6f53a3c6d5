"""Fixtures: a fresh app on a temporary database (SQLite, or PostgreSQL with
ASN_TEST_DATABASE_URL: see tests/databases.py), a frozen clock, employees."""

from datetime import datetime

import pytest

import app as app_module
import models
from security import clock as the_clock
from tests.databases import database_url, drop_all

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "WTF_CSRF_ENABLED": False,
    "ARGON2_COST": (1, 64),  # argon2id still; cheap so the suite stays fast
    "RATELIMIT_ENABLED": False,
    "FORGOT_MIN_SECONDS": 0,  # test_account checks the delay itself
    "BASE_URL": "http://localhost",  # the test client's host
}


@pytest.fixture
def make_app(tmp_path):
    def make(**config):
        return app_module.create_app({**TEST_CONFIG, "DATABASE_URL": database_url(tmp_path / "portal.db"),
                                      "OIDC_KEY_FILE": str(tmp_path / "oidc_keys.json"), **config})
    yield make
    if not models.db.is_closed():
        models.db.close()


def pytest_sessionfinish(session):
    drop_all()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    """A database connection for a test that reads or writes models directly."""
    with models.db.connection_context():
        yield models.db


@pytest.fixture
def clock():
    the_clock.freeze(datetime(2026, 11, 23, 2, 0, 0))
    yield the_clock
    the_clock.unfreeze()


@pytest.fixture
def employee(app):
    from tests.helpers import make_employee

    with models.db.connection_context():
        return make_employee()


@pytest.fixture
def enrolled(client, employee, clock):
    """An employee who finished the first login and signed out, the clock moved to the
    next TOTP step; returns the TOTP secret."""
    from tests.helpers import first_login

    secret = first_login(client)
    client.post("/logout")
    clock.advance(seconds=30)
    return secret


@pytest.fixture
def as_role(app, clock):
    """as_role("admin") is a test client of this test's app signed in as a new employee with
    that role (pegawai, helpdesk or admin) who has just finished the first sign-in; asked
    again in the same test, the same client. The employee has ADMIN_NIP unless `nip` and
    `nik` say otherwise (`fields` go to make_employee); `client` signs in on a client the
    test already holds."""
    from tests.helpers import ADMIN_NIK, ADMIN_NIP, sign_in_as

    signed_in = {}

    def sign_in(role, client=None, nip=ADMIN_NIP, nik=ADMIN_NIK, **fields):
        if client is None and (role, nip) in signed_in:
            return signed_in[role, nip]
        client = client or app.test_client()
        sign_in_as(client, role, nip, nik, **fields)
        signed_in[role, nip] = client
        return client

    return sign_in
