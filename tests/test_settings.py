"""settings.py: every ASN_* value parsed once at start-up; a wrong one stops the start
with one line naming the variable and what is allowed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import app as app_module
import models
from settings import SettingsError

ROOT = Path(__file__).resolve().parent.parent

WRONG = [
    ("MAX_FAILED_LOGINS", "five", "bilangan bulat"),
    ("MAX_FAILED_LOGINS", "0", "bilangan bulat"),
    ("LOCKOUT_MINUTES", "-5", "bilangan bulat"),
    ("PORT", "70000", "1 sampai 65535"),
    ("SESSION_IDLE_MINUTES", "true", "bilangan bulat"),
    ("DEMO", "maybe", "true atau false"),
    ("RATELIMIT_ENABLED", "2", "true atau false"),
    ("LOGIN_RATE_LIMIT", "banyak", "60/minute"),
    ("RESEND_RATE_LIMIT", "1/minute;lima/hour", "60/minute"),
    ("RATELIMIT_STORAGE_URI", "redsi://localhost:6379", "redis://"),
    ("DATABASE_URL", "mysqll://localhost/db", "sqlite://"),
    ("MAIL_URL", "http://mail.instansi.go.id", "smtp://"),
    ("BASE_URL", "asn.instansi.go.id", "https://"),
    ("TIMEZONE", "Europe/Berlin", "Asia/Jakarta, Asia/Makassar, Asia/Jayapura"),
    ("TRUSTED_PROXY", "proxy.local", "alamat IP"),
    ("TRUSTED_PROXY_COUNT", "0", "bilangan bulat"),
    ("FORGOT_MIN_SECONDS", "lama", "detik"),
    ("SERVER_CPU", "semua", "isi auto, off, atau nomor CPU"),
    ("SERVER_CPU", "4096", "isi auto, off, atau nomor CPU"),
    ("SMS_SENDER", "gateway sms", "modul:fungsi"),
    ("SESSION_COOKIE_SAMESITE", "None", "Lax, Strict"),
    ("ARGON2_COST", "[3]", "[2, 19456, 1]"),
    ("ARGON2_COST", "[2, 19456, 0]", "[2, 19456, 1]"),
]


@pytest.mark.parametrize("name, value, allowed", WRONG)
def test_wrong_setting_from_the_environment_stops_start(monkeypatch, tmp_path, name, value, allowed):
    monkeypatch.setenv("ASN_DATABASE_URL", f"sqlite:///{tmp_path}/portal.db")
    monkeypatch.setenv("ASN_BASE_URL", "http://localhost")
    monkeypatch.setenv(f"ASN_{name}", value)
    with pytest.raises(SettingsError) as raised:
        app_module.create_app({"TESTING": True, "SECRET_KEY": "k"})
    message = str(raised.value)
    assert message.startswith(f"ASN_{name}=") and allowed in message and "\n" not in message


@pytest.mark.parametrize("value, parsed", [("yes", True), ("no", False), ("1", True), ("0", False),
                                           ("true", True), ("FALSE", False)])
def test_booleans_accept_the_usual_words(monkeypatch, tmp_path, value, parsed):
    monkeypatch.setenv("ASN_DATABASE_URL", f"sqlite:///{tmp_path}/portal.db")
    monkeypatch.setenv("ASN_BASE_URL", "http://localhost")
    monkeypatch.setenv("ASN_SESSION_COOKIE_SECURE", value)
    assert app_module.create_app({"TESTING": True, "SECRET_KEY": "k"}).config["SESSION_COOKIE_SECURE"] is parsed


def test_good_values_are_parsed_once(monkeypatch, tmp_path):
    monkeypatch.setenv("ASN_DATABASE_URL", f"sqlite:///{tmp_path}/portal.db")
    monkeypatch.setenv("ASN_BASE_URL", "http://localhost")
    for name, value in {"MAX_FAILED_LOGINS": "7", "TRUSTED_PROXY": " 10.0.0.2", "TIMEZONE": "Asia/Jayapura",
                        "ARGON2_COST": "[2, 32768]", "RATELIMIT_STORAGE_URI": "memory://",
                        "FORGOT_MIN_SECONDS": "0.25", "MAIL_URL": "smtps://u:p@mail.go.id:465"}.items():
        monkeypatch.setenv(f"ASN_{name}", value)
    config = app_module.create_app({"TESTING": True, "SECRET_KEY": "k"}).config
    assert config["MAX_FAILED_LOGINS"] == 7 and config["TRUSTED_PROXY"] == "10.0.0.2"
    assert config["ARGON2_COST"] == (2, 32768, 1) and config["FORGOT_MIN_SECONDS"] == 0.25
    assert config["TIMEZONE"] == "Asia/Jayapura"


def _run_app_py(tmp_path, **env):
    environment = {**os.environ, "ASN_DATABASE_URL": f"sqlite:///{tmp_path}/portal.db",
                   "ASN_BASE_URL": "http://127.0.0.1:5000",
                   "ASN_SECRET_KEY": "k", **env}
    return subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=60)


def test_python_app_py_prints_one_line_and_exits_2(tmp_path):
    result = _run_app_py(tmp_path, ASN_MAX_FAILED_LOGINS="five")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "ASN_MAX_FAILED_LOGINS='five' tidak valid" in line


# --------------------------------------------------------------------------- the secret key


@pytest.fixture
def enrolled_under_key_a(make_app, clock):
    """A database with an enrolled authenticator, encrypted under the key "kunci-a"."""
    from tests.helpers import first_login, make_employee

    app = make_app(SECRET_KEY="kunci-a")
    with models.db.connection_context():
        make_employee()
    first_login(app.test_client())
    return app


def test_restore_under_another_secret_key_refuses_start(make_app, enrolled_under_key_a):
    with pytest.raises(SettingsError) as raised:
        make_app(SECRET_KEY="kunci-b")
    assert str(raised.value).startswith("ASN_SECRET_KEY ") and "Secret key lost" in str(raised.value)
    make_app(SECRET_KEY="kunci-a")  # the right key still starts


def test_database_from_before_the_key_check_is_tested_on_its_totp_secrets(make_app, enrolled_under_key_a):
    with models.db.connection_context():
        models.KeyCheck.delete().execute()
    with pytest.raises(SettingsError):
        make_app(SECRET_KEY="kunci-b")
    with models.db.connection_context():
        assert models.KeyCheck.select().count() == 0
    make_app(SECRET_KEY="kunci-a")
    with models.db.connection_context():
        assert models.KeyCheck.select().count() == 1
    with pytest.raises(SettingsError):
        make_app(SECRET_KEY="kunci-b")


def test_python_app_py_refuses_a_wrong_secret_key(tmp_path, enrolled_under_key_a):
    database = enrolled_under_key_a.config["DATABASE_URL"]
    result = _run_app_py(tmp_path, ASN_DATABASE_URL=database, ASN_SECRET_KEY="kunci-b")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "ASN_SECRET_KEY bukan kunci yang dipakai basis data ini" in result.stderr
