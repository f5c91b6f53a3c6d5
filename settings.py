"""The ASN_* settings, each parsed and range-checked once at start-up. A wrong value
stops the start with one line naming the variable and what it accepts, instead of
misbehaving later (ASN_MAX_FAILED_LOGINS=five once switched lockout off)."""

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlparse

import click
from limits import parse_many
from limits.storage import SCHEMES as RATELIMIT_SCHEMES
from playhouse.db_url import schemes as DATABASE_SCHEMES

import serving

TIMEZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
TRUE_WORDS, FALSE_WORDS = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


class SettingsError(click.ClickException):
    """One line for the operator: the variable, its value and what is allowed. A click
    exception, so `flask --app app …` commands print that line too, not a traceback."""


def _fail(name, value, allowed):
    raise SettingsError(f"ASN_{name}={value!r} tidak valid: {allowed}.")


def boolean(name, value):
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return _fail(name, value, "isi true atau false (juga 1/0, yes/no)")


def integer(minimum, maximum=None):
    def parse(name, value):
        allowed = f"isi bilangan bulat {minimum} sampai {maximum}" if maximum else \
            f"isi bilangan bulat paling kecil {minimum}"
        if isinstance(value, bool):
            _fail(name, value, allowed)
        try:
            number = int(str(value).strip()) if not isinstance(value, int) else value
        except ValueError:
            _fail(name, value, allowed)
        if number < minimum or (maximum is not None and number > maximum):
            _fail(name, value, allowed)
        return number
    return parse


def seconds(name, value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1
    if isinstance(value, bool) or not 0 <= number <= 60:
        _fail(name, value, "isi jumlah detik 0 sampai 60, contoh 0.5")
    return number


def rate_limit(name, value):
    try:
        if parse_many(str(value)):
            return str(value)
    except ValueError:
        pass
    return _fail(name, value, "isi batas seperti 60/minute, 10/hour atau 1/minute;5/hour")


def text(name, value):
    if not isinstance(value, str) or not value.strip():
        _fail(name, value, "tidak boleh kosong")
    return value


def choice(*allowed):
    def parse(name, value):
        if value not in allowed:
            _fail(name, value, "pilih salah satu: " + ", ".join(allowed))
        return value
    return parse


def url(*schemes, optional=False):
    def parse(name, value):
        if optional and value in ("", None):
            return ""
        parsed = urlparse(str(value))
        if parsed.scheme not in schemes or (parsed.scheme not in ("memory", "sqlite") and not parsed.netloc):
            _fail(name, value, ("kosongkan, atau " if optional else "")
                  + "isi alamat lengkap dengan skema " + " / ".join(s + "://" for s in sorted(schemes)))
        return str(value)
    return parse


def base_url(name, value):
    value = url("http", "https", optional=True)(name, value)
    if urlparse(value).query or urlparse(value).fragment:
        _fail(name, value, "isi alamat publik tanpa ? atau #, contoh https://asn.instansi.go.id")
    return value


def sms_sender(name, value):
    if value and not re.fullmatch(r"[\w.]+:\w+", str(value)):
        _fail(name, value, "kosongkan, atau isi modul:fungsi, contoh gateway.sms:kirim")
    return value or ""


def trusted_proxy(name, value):
    """waitress trusts one address (or every address with "*")."""
    if value in ("", None, "*"):
        return value or ""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return _fail(name, value, "kosongkan, isi satu alamat IP proxy (contoh 127.0.0.1), atau *")


def server_cpu(name, value):
    """auto, off, or one CPU this process may run on."""
    word = str(value).strip().lower()
    if word in ("auto", "off"):
        return word
    if word.isdigit() and int(word) in serving.CPUS_GIVEN:
        return int(word)
    return _fail(name, value, "isi auto, off, atau nomor CPU yang boleh dipakai proses ini ("
                 + ", ".join(map(str, serving.CPUS_GIVEN)) + ")")


def argon2_cost(name, value):
    """[time cost, memory KiB] or [time cost, memory KiB, parallelism] (1 when left out)."""
    try:
        numbers = [int(v) for v in value]
    except (TypeError, ValueError):
        numbers = []
    if len(numbers) == 2:
        numbers.append(1)
    time_cost, memory_kib, parallelism = numbers if len(numbers) == 3 else (0, 0, 0)
    if time_cost < 1 or parallelism < 1 or parallelism > 64 or memory_kib < 8 * parallelism:
        _fail(name, value, "isi [biaya waktu, memori KiB] atau [biaya waktu, memori KiB, paralelisme], "
                           "contoh [2, 19456, 1]")
    return time_cost, memory_kib, parallelism


def csrf_time_limit(name, value):
    return None if value in (None, "", "none", "None") else integer(1)(name, value)


def optional_text(name, value):
    if not isinstance(value, str):
        _fail(name, value, "isi teks")
    return value


def layanan_file(name, value):
    """The settings file of the service requests (TOML): read and checked at start."""
    from models.kinds import SettingsError as KindsError
    from models.kinds import parse_settings

    if not value:
        return ""
    try:
        with open(value, encoding="utf-8") as file:
            parse_settings(file.read())
    except OSError as exc:
        _fail(name, value, f"berkas tidak dapat dibaca ({exc.strerror})")
    except UnicodeDecodeError:
        _fail(name, value, "berkas harus UTF-8")
    except KindsError as exc:
        _fail(name, value, str(exc))
    return value


PARSERS = {
    "HOST": text,
    "PORT": integer(1, 65535),
    "SERVER_CPU": server_cpu,
    "DATABASE_URL": url(*DATABASE_SCHEMES),
    "SECRET_KEY": text,
    "DEMO": boolean,
    "MAIL_URL": url("smtp", "smtps", optional=True),
    "MAIL_FROM": text,
    "SMS_SENDER": sms_sender,
    "MAIL_SYNC": boolean,
    "RATELIMIT_ENABLED": boolean,
    "RATELIMIT_STORAGE_URI": url(*RATELIMIT_SCHEMES),
    "RATELIMIT_HEADERS_ENABLED": boolean,
    "LOGIN_RATE_LIMIT": rate_limit,
    "OTP_RATE_LIMIT": rate_limit,
    "SELF_SERVICE_IP_RATE_LIMIT": rate_limit,
    "RESEND_RATE_LIMIT": rate_limit,
    "CODE_RATE_LIMIT": rate_limit,
    "FORGOT_MIN_SECONDS": seconds,
    "BASE_URL": base_url,
    "FIRST_LOGIN": choice("code", "letter", "nik"),
    "ALLOW_NIK_ONLY": boolean,
    "MAX_FAILED_LOGINS": integer(1, 100),
    "LOCKOUT_MINUTES": integer(1, 7 * 24 * 60),
    "PENDING_LOGIN_MINUTES": integer(1, 60),
    "SESSION_IDLE_MINUTES": integer(1, 24 * 60),
    "SESSION_LIFETIME_HOURS": integer(1, 30 * 24),
    "TOTP_ISSUER": text,
    "ARGON2_COST": argon2_cost,
    "HELPDESK_CONTACT": text,
    "TIMEZONE": choice(*TIMEZONES),
    "TRUSTED_PROXY": trusted_proxy,
    "TRUSTED_PROXY_COUNT": integer(1, 10),
    "PROXY_FIX": boolean,
    "METRICS_ENABLED": boolean,
    "METRICS_TOKEN": optional_text,
    "OIDC_KEY_FILE": optional_text,
    "SESSION_COOKIE_HTTPONLY": boolean,
    "SESSION_COOKIE_SECURE": boolean,
    "SESSION_COOKIE_SAMESITE": choice("Lax", "Strict"),
    "WTF_CSRF_ENABLED": boolean,
    "WTF_CSRF_TIME_LIMIT": csrf_time_limit,
    "SEND_FILE_MAX_AGE_DEFAULT": integer(0),
    "MAX_CONTENT_LENGTH": integer(1024),
    "MAX_UPLOAD_LENGTH": integer(1024),
    "LAYANAN_FILE": layanan_file,
    "FOUR_EYES": boolean,
    "REQUEST_DOCUMENT_MB": integer(1, 20),
}


def validate(config) -> None:
    """Parse every known setting in place; raises SettingsError on the first wrong one."""
    for name, parse in PARSERS.items():
        if name in config:
            config[name] = parse(name, config[name])
    if config["PROXY_FIX"] and not config["TRUSTED_PROXY"]:
        # The setting before ASN_TRUSTED_PROXY trusted whichever address spoke to the app.
        config["TRUSTED_PROXY"] = "*"


@dataclass(frozen=True)
class Settings:
    """What the domain rules need from the configuration, typed and checked once by
    create_app (after validate) and handed to the model methods that use it."""

    secret_key: str
    argon2_cost: tuple = (2, 19456, 1)
    first_login: str = "code"
    max_failed_logins: int = 5
    lockout_minutes: int = 15

    @classmethod
    def from_config(cls, config) -> "Settings":
        return cls(config["SECRET_KEY"], tuple(config["ARGON2_COST"]), config["FIRST_LOGIN"],
                   config["MAX_FAILED_LOGINS"], config["LOCKOUT_MINUTES"])
