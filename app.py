"""Portal ASN Digital: application factory, configuration, CLI commands and server."""

import functools
import gzip
import hashlib
import secrets
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import click
from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask.templating import Environment
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from htmx_flask import Htmx
from htmx_flask.extension import HtmxAwareRequest
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import ImmutableMultiDict, iter_multi_items
from werkzeug.exceptions import SecurityError

import demo
import letters
import mail
import migrations
import models
import oidc
import security
import serving
import settings
from views import built_once, limiter, localtime, register_blueprints
from views import today as views_today

ROOT = Path(__file__).resolve().parent

DEFAULTS = {
    "HOST": "127.0.0.1",
    "PORT": 5000,
    "SERVER_CPU": "auto",  # python app.py: the server's threads on one CPU (see serving.keep_on_one_cpu)
    "DATABASE_URL": "sqlite:///instance/portal.db",
    "DEMO": False,
    "MAIL_URL": "",  # smtp://user:pass@host:587?starttls=1; empty: messages stay in the outbox
    "MAIL_FROM": "Portal ASN Digital <no-reply@portal-asn.local>",
    "SMS_SENDER": "",  # "module:function" for an SMS gateway; empty: the outbox
    "MAIL_SYNC": False,  # send in the request thread (command line, scripts)
    "RATELIMIT_STORAGE_URI": "memory://",  # redis://127.0.0.1:6379/0 shares the limits of several workers
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,  # Redis unreachable: per-process limits, logged, never a 500
    "RATELIMIT_HEADERS_ENABLED": True,
    "LOGIN_RATE_LIMIT": "60/minute",  # per IP: a whole office may share one NAT address
    "OTP_RATE_LIMIT": "60/minute",
    "SELF_SERVICE_IP_RATE_LIMIT": "30/minute",  # registration, codes, forgotten password
    "RESEND_RATE_LIMIT": "1/minute;5/hour",  # per sign-in or registration in a browser
    "CODE_RATE_LIMIT": "30/hour",  # per sign-in in a browser and address: OTP, enrollment, codes
    "FORGOT_MIN_SECONDS": 0.5,  # every forgotten-password answer takes this long, match or not
    "BASE_URL": "",  # https://asn.instansi.go.id: required outside demo mode; every mailed link uses it
    "FIRST_LOGIN": "code",  # code | letter | nik: what proves a first sign-in besides the public NIK
    "ALLOW_NIK_ONLY": False,  # FIRST_LOGIN=nik outside demo mode needs this too
    "MAX_FAILED_LOGINS": 5,
    "LOCKOUT_MINUTES": 15,
    "PENDING_LOGIN_MINUTES": 10,
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_LIFETIME_HOURS": 8,
    "AUDIT_RETENTION_DAYS": 730,  # flask --app app purge removes older audit events
    "TOTP_ISSUER": "Portal ASN Digital",
    "ARGON2_COST": security.DEFAULT_ARGON2_COST,  # argon2id time cost, memory KiB, parallelism (OWASP)
    "HELPDESK_CONTACT": "admin kepegawaian (BKPSDM) instansi Anda",
    "TIMEZONE": "Asia/Jakarta",  # every time shown or mailed; Asia/Makassar (WITA), Asia/Jayapura (WIT)
    "TRUSTED_PROXY": "",  # the reverse proxy's address (or *) whose X-Forwarded-* headers count
    "TRUSTED_PROXY_COUNT": 1,
    "PROXY_FIX": False,  # the older name: true means TRUSTED_PROXY=*
    "METRICS_ENABLED": False,  # /metrics in Prometheus format
    "METRICS_TOKEN": "",  # when set, /metrics needs "Authorization: Bearer <token>"
    "OIDC_KEY_FILE": "",  # the OpenID Connect signing keys; empty: instance/oidc_keys.json
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,  # also set per request when served over HTTPS
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "SEND_FILE_MAX_AGE_DEFAULT": 31536000,  # static URLs carry a content hash
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "MAX_UPLOAD_LENGTH": 64 * 1024 * 1024,  # the admin's employee CSV: ~220,000 rows, read from disk
    "LAYANAN_FILE": "",  # TOML: kinds of service request switched off, reviewers, checklist wording
    "FOUR_EYES": True,  # who verified a request cannot also approve it
    "REQUEST_DOCUMENT_MB": 5,  # one PDF filed with a service request
}

csrf = CSRFProtect()
login_manager = LoginManager()


class SessionInterface(SecureCookieSessionInterface):
    """Marks the cookie Secure whenever the request itself came over HTTPS, builds the
    signing serializer once per set of keys instead of twice per request, and checks a
    cookie's signature once (see _signed_at)."""

    _serializer = (None, None)  # (the keys, the serializer built for them)

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        built_for, serializer = self._serializer
        if built_for != keys:
            serializer = super().get_signing_serializer(app)
            self._serializer = (keys, serializer)
        return serializer

    def get_cookie_secure(self, app):
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)

    def open_session(self, app, request):
        """Flask's, but the signature of a cookie seen before is not checked again; its
        age still is, on every request."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        try:
            signed_at = _signed_at(serializer, value)
        except BadSignature:
            return self.session_class()
        if not 0 <= time.time() - signed_at <= app.permanent_session_lifetime.total_seconds():
            return self.session_class()
        payload = value.rsplit(".", 2)[0]  # itsdangerous: payload.timestamp.signature
        return self.session_class(serializer.load_payload(payload.encode()))


@functools.lru_cache(maxsize=4096)
def _signed_at(serializer, cookie: str) -> int:
    """When a session cookie with a good signature was signed; BadSignature otherwise (not
    kept: a bad cookie is checked each time). A browser sends the same cookie with every
    request, and checking its signature (two HMACs) was half the cost of reading it."""
    return int(serializer.loads(cookie, return_timestamp=True)[1].timestamp())


class TemplateEnvironment(Environment):
    """Each template sees the globals as one plain dict. Jinja's default, a ChainMap over
    the environment's globals, cost every render, include and import about 8 µs walking
    it. The globals are complete once create_app returns (it empties the template cache
    then, in case a template was loaded before the last global was added)."""

    def make_globals(self, d):
        return {**self.globals, **(d or {})}


class Portal(Flask):
    jinja_environment = TemplateEnvironment

    def ensure_sync(self, func):
        """Flask asks `inspect` whether every view and hook is a coroutine function on
        every request (about twenty times); the answer is kept per function instead."""
        known = self.__dict__.setdefault("_sync_functions", set())
        if func in known:
            return func
        wrapped = super().ensure_sync(func)
        if wrapped is func and len(known) < 10_000:
            known.add(func)
        return wrapped


class TextWithoutNul(ImmutableMultiDict):
    """Form fields and query parameters with each NUL character replaced by U+FFFD:
    PostgreSQL can neither store nor compare text holding NUL (SQLite can), and junk
    must stay junk (a NUL password is a wrong one, not an empty one)."""

    def __init__(self, mapping=None):
        pairs = iter_multi_items(mapping) if mapping is not None else ()
        super().__init__([(_without_nul(key), _without_nul(value)) for key, value in pairs])


def _without_nul(value):
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


class Request(HtmxAwareRequest):
    parameter_storage_class = TextWithoutNul


def create_app(config=None):
    app = Portal(__name__, instance_path=str(ROOT / "instance"))
    _configure(app, config)
    _open_database(app)

    Htmx(app)
    app.request_class = Request
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = None  # sessions are server-side records instead
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)
    oidc.init_app(app)
    register_blueprints(app)
    _register_error_handlers(app)
    _register_cli(app)

    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True
    app.jinja_env.globals["asset"] = _asset_url
    app.jinja_env.globals["url_for"] = _link
    app.jinja_env.filters["localtime"] = localtime
    # csrf_token: in place of the one Flask-WTF's own context processor gives.
    app.context_processor(lambda: {"demo_mode": app.config["DEMO"], "csrf_token": _csrf_token})
    app.after_request(_send_logout_notices)
    app.after_request(_security_headers)
    app.after_request(_compress)
    app.jinja_env.cache.clear()  # see TemplateEnvironment
    return app


# --------------------------------------------------------------------------- plumbing


def _configure(app, config) -> None:
    """Settings from DEFAULTS, ASN_* and `config`, checked once; a wrong one stops here."""
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env("ASN")
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(Path(app.instance_path))
    settings.validate(app.config)
    _check_sign_in_settings(app)
    models.use_secret_key(app.config["SECRET_KEY"])
    app.extensions["settings"] = settings.Settings.from_config(app.config)
    layanan = app.config["LAYANAN_FILE"]
    models.kinds.configure(models.kinds.parse_settings(Path(layanan).read_text(encoding="utf-8")) if layanan else None)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["SESSION_LIFETIME_HOURS"])
    if app.config["TRUSTED_PROXY"]:
        app.wsgi_app = serving.TrustedProxyFix(app.wsgi_app, app.config["TRUSTED_PROXY"],
                                               app.config["TRUSTED_PROXY_COUNT"])
    app.session_interface = SessionInterface()
    if app.config["RATELIMIT_STORAGE_URI"].startswith("redis"):
        # An unreachable Redis must fail fast, so that the limiter falls back at once.
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1})


def _open_database(app) -> None:
    """The pool, the schema (created, or migrated in demo mode), the key check, demo data."""
    models.open_database(app.config["DATABASE_URL"], ROOT)
    serving.init_access_log(app)
    app.before_request(_refuse_nul_in_path)
    app.teardown_request(_close_db)
    with models.db.connection_context():
        # The command line stays usable on an old schema: it is where `migrate` runs.
        try:
            models.prepare_schema(migrate_if_old=app.config["DEMO"])
        except migrations.SchemaOutOfDate:
            if click.get_current_context(silent=True) is None:
                raise
        else:
            if not models.KeyCheck.matches(app.extensions["settings"]):
                raise settings.SettingsError(
                    "ASN_SECRET_KEY bukan kunci yang dipakai basis data ini (kode OTP tidak dapat "
                    "dibaca): pasang kembali kunci lama, atau lihat README bagian \"Secret key lost\".")
        if app.config["DEMO"]:
            with app.app_context():
                demo.seed()


def _check_sign_in_settings(app):
    """What settings.validate cannot see alone: combinations that would make sign-in unsafe."""
    cfg = app.config
    if cfg["FIRST_LOGIN"] == "nik":
        if not (cfg["DEMO"] or cfg["ALLOW_NIK_ONLY"]):
            raise settings.SettingsError("ASN_FIRST_LOGIN=nik membuat siapa pun yang tahu NIP dan NIK (data publik) "
                                "dapat mengambil alih akun yang belum pernah dipakai. Pakai code atau letter, "
                                "atau setel juga ASN_ALLOW_NIK_ONLY=true bila memang disengaja.")
        app.logger.warning("PERINGATAN: ASN_FIRST_LOGIN=nik: login pertama hanya memakai NIP dan NIK, yang "
                           "keduanya bukan rahasia. Akun yang belum pernah dipakai dapat diambil alih.")
    base_url = cfg["BASE_URL"].rstrip("/")
    if not base_url:
        if not cfg["DEMO"]:
            raise settings.SettingsError("ASN_BASE_URL wajib diisi dengan alamat publik portal, misalnya "
                                "https://asn.instansi.go.id: setiap tautan dalam email memakainya.")
        return
    parsed = urlparse(base_url)
    cfg["BASE_URL"] = base_url
    if cfg.get("TRUSTED_HOSTS") is None:
        # Requests naming another host are refused, so no page or link is ever built from
        # a Host header a stranger chose.
        cfg["TRUSTED_HOSTS"] = [parsed.hostname]  # any port: werkzeug compares names only


def _instance_secret_key(folder: Path) -> str:
    """Generated once, kept in the instance folder, so restarts keep sessions and the
    encrypted TOTP secrets stay readable."""
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def _refuse_nul_in_path():
    if "\x00" in request.path:  # no page has one; PostgreSQL could not even look it up
        abort(404)


def _send_logout_notices(response):
    if request.method == "POST" or request.endpoint == "oidc.end_session":
        mail.send_logout_notices(current_app._get_current_object())
    return response


def _close_db(exc):
    if not models.db.is_closed():
        models.db.close()


def _load_user(token):
    cfg = current_app.config
    record, expired = models.SessionRecord.resume(
        token, idle=timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]),
        lifetime=timedelta(hours=cfg["SESSION_LIFETIME_HOURS"]))
    if record is None:
        g.session_expired = expired
        return None
    account = record.account
    account.current_session = record
    return account


def _unauthorized():
    """To the login page, saying why when a session has just expired."""
    cfg = current_app.config
    expired = g.get("session_expired")
    if expired == "idle":
        message = (f"Sesi Anda berakhir karena tidak ada aktivitas selama {cfg['SESSION_IDLE_MINUTES']} "
                   "menit. Silakan masuk lagi.")
    elif expired == "lifetime":
        message = (f"Sesi Anda berakhir karena sudah {cfg['SESSION_LIFETIME_HOURS']} jam. Demi keamanan, "
                   "silakan masuk lagi.")
    else:
        message = "Silakan masuk terlebih dahulu."
    if expired:
        session.clear()
    flash(message, "info")
    url = url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
    if request.headers.get("HX-Request") == "true":
        return "", 200, {"HX-Redirect": url}
    return redirect(url)


def _asset_url(filename: str) -> str:
    """A static URL with a content hash, so browsers may cache it for a year."""
    def hashed():
        digest = hashlib.sha256((ROOT / "static" / filename).read_bytes()).hexdigest()[:10]
        return url_for("static", filename=filename, v=digest)
    return built_once(("asset", filename), hashed)


def _link(endpoint: str, **values) -> str:
    """url_for for templates; a link without arguments (the menus, the form actions) is
    built once instead of on every page."""
    if values or endpoint.startswith(".") or not has_request_context():
        return url_for(endpoint, **values)
    return built_once(("link", endpoint), lambda: url_for(endpoint))


def _csrf_token() -> str:
    """Flask-WTF's form token, signed once per session rather than on every page (it
    lives as long as the session unless ASN_WTF_CSRF_TIME_LIMIT says otherwise)."""
    raw = session.get("csrf_token")
    if raw is None or current_app.config["WTF_CSRF_TIME_LIMIT"]:
        return generate_csrf()
    return _signed_csrf_token(current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key, raw)


@functools.lru_cache(maxsize=4096)
def _signed_csrf_token(secret_key: str, raw: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt="wtf-csrf-token").dumps(raw)


CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                    ("Referrer-Policy", "no-referrer"))


def _security_headers(response):
    headers = response.headers
    # Every response gets these. Werkzeug's Headers.set scans and rewrites the whole list
    # for each name, and response.vary parses and rewrites Vary: the names already there
    # are read once, and an absent header (nearly always) is appended: a third of the time.
    present = {name.lower() for name, _ in headers}
    put = [("Content-Security-Policy", CSP)] if "content-security-policy" not in present else []
    put += SECURITY_HEADERS
    if request.is_secure:
        put.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    if request.endpoint != "static":
        put.append(("Cache-Control", "no-store"))
        add_vary(headers, "HX-Request")
    for name, value in put:
        if name.lower() in present:
            headers[name] = value
        else:
            headers.add(name, value)
    return response


def add_vary(headers, name: str) -> None:
    """Add `name` to the Vary header (response.vary does the same at several times the cost)."""
    vary = headers.get("Vary")
    if vary is None:
        headers.add("Vary", name)
    elif name.lower() not in (part.strip().lower() for part in vary.split(",")):
        headers["Vary"] = f"{vary}, {name}"


COMPRESSIBLE = ("text/", "application/javascript", "image/svg+xml", "application/json")


_gzipped_static = {}  # (path, ETag) -> the file's gzip bytes: each file is compressed once


def _compress(response):
    """gzip for text responses (static files included): the login page must stay small
    on 3G. A few lines instead of a dependency."""
    if (response.status_code < 200 or response.status_code in (204, 206, 304)
            or "gzip" not in request.headers.get("Accept-Encoding", "")
            or "Content-Encoding" in response.headers
            # Downloads are streamed; compressing here would hold them whole in memory.
            or response.headers.get("Content-Disposition", "").startswith("attachment")
            or not (response.mimetype or "").startswith(COMPRESSIBLE)):
        return response
    static_key = (request.path, response.headers.get("ETag")) if request.endpoint == "static" else None
    compressed = _gzipped_static.get(static_key) if static_key else None
    if compressed is None:
        response.direct_passthrough = False
        data = response.get_data()
        if len(data) < 500:
            return response
        compressed = gzip.compress(data, compresslevel=6 if static_key is None else 9, mtime=0)
        if static_key:
            _gzipped_static[static_key] = compressed
    else:
        response.close()  # the file it would have read
    response.set_data(compressed)
    response.headers["Content-Encoding"] = "gzip"
    add_vary(response.headers, "Accept-Encoding")
    if response.headers.get("ETag"):
        response.headers["ETag"] = response.headers["ETag"].rstrip('"') + '-gz"'
    return response


def _error_page(status: int, title: str, message: str):
    if request.headers.get("HX-Request") == "true":
        # Shown in the page's message area instead of replacing the form.
        html = render_template("_alert.html", message=message, level="error")
        return html, status, {"HX-Retarget": "#pesan", "HX-Reswap": "innerHTML"}
    return render_template("error.html", title=title, message=message), status


# What each error page says: (title, message). A CSRF failure is a 400 of its own.
ERROR_PAGES = {
    CSRFError: ("Sesi formulir berakhir", "Formulir ini sudah kedaluwarsa atau tidak sah. Muat ulang halaman lalu "
                                          "coba lagi."),
    400: ("Permintaan tidak valid", "Permintaan tidak dapat diproses. Periksa isian Anda lalu coba lagi."),
    403: ("Akses ditolak", "Anda tidak berhak membuka halaman ini."),
    404: ("Halaman tidak ditemukan", "Alamat yang Anda buka tidak ada. Periksa kembali alamatnya."),
    405: ("Cara akses tidak diizinkan", "Halaman ini tidak dapat dibuka dengan cara tersebut."),
    413: ("Data terlalu besar", "Data yang dikirim terlalu besar."),
    429: ("Terlalu banyak percobaan", "Terlalu banyak permintaan dari jaringan Anda. Tunggu sebentar (sekitar satu "
                                     "menit) lalu coba lagi."),
    500: ("Terjadi gangguan", "Maaf, terjadi gangguan pada server. Coba lagi beberapa saat lagi."),
}


def _register_error_handlers(app):
    for error, (title, message) in ERROR_PAGES.items():
        def handler(exc, title=title, message=message):
            status = getattr(exc, "code", None) or 500
            body, status, *headers = _error_page(status, title, message)
            # A 405 says which methods the URL takes (the Allow header).
            extra = dict(exc.get_headers()) if status == 405 else {}
            return body, status, {**(headers[0] if headers else {}), **extra}
        app.register_error_handler(error, handler)

    @app.errorhandler(SecurityError)
    def untrusted_host(exc):
        # A Host that is not ASN_BASE_URL's: no URL can be built for it, so a bare page.
        return ("<!doctype html><html lang=\"id\"><meta charset=\"utf-8\"><title>Alamat tidak dikenal</title>"
                "<p>Portal ASN Digital hanya melayani alamat resminya. Periksa alamat yang Anda buka.</p></html>",
                400, {"Content-Type": "text/html; charset=utf-8"})


# --------------------------------------------------------------------------- CLI


def _register_cli(app):
    @app.cli.command("init-db")
    def init_db():
        """Create the tables in an empty database (safe to run again)."""
        if models.is_empty():
            models.create_tables()
        elif migrations.pending(models.db.obj):
            raise click.ClickException(f"Basis data ini dari versi lama. Jalankan: {migrations.UPGRADE_COMMAND}")
        click.echo("Basis data siap.")

    @app.cli.command("migrate")
    def migrate():
        """Bring an existing database to the current schema (back it up first)."""
        try:
            applied = migrations.apply(models.db.obj)
        except migrations.MigrationError as exc:
            raise click.ClickException(f"Migrasi dibatalkan, basis data tidak diubah. {exc}") from None
        for name in applied:
            click.echo(f"  diterapkan: {name}")
        click.echo(f"{len(applied)} migrasi diterapkan. Skema basis data mutakhir.")

    @app.cli.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    def backup(file):
        """Copy the SQLite database to FILE while the portal keeps running."""
        try:
            models.backup(file)
        except models.BackupError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Cadangan tersimpan di {file} ({file.stat().st_size:,} bita), integritas diperiksa.")

    @app.cli.command("restore")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    def restore(file):
        """Replace the SQLite database with the backup FILE (stop the portal first)."""
        try:
            kept = models.restore(file)
        except models.BackupError as exc:
            raise click.ClickException(f"Pemulihan dibatalkan, basis data tidak diubah. {exc}") from None
        click.echo(f"Basis data dipulihkan dari {file}. Isi sebelumnya disimpan di {kept}.")
        if migrations.pending(models.db.obj):
            click.echo(f"Cadangan ini dari versi lama: jalankan {migrations.UPGRADE_COMMAND} sebelum "
                       "menyalakan portal.")

    @app.cli.command("import-employees")
    @click.argument("csv_file", type=click.File("rb"))
    def import_employees(csv_file):
        """Import or update employees from a CSV file."""
        report = models.import_employees(csv_file)
        click.echo(f"{report.created} pegawai baru, {report.updated} diperbarui, "
                   f"{report.rejected} baris ditolak.")
        for line, reason in report.errors:
            click.echo(f"  baris {line}: {reason}", err=True)
        if report.rejected > len(report.errors):
            click.echo(f"  … dan {report.rejected - len(report.errors)} baris lain yang ditolak.", err=True)
        if report.rejected:
            sys.exit(1)

    @app.cli.command("create-admin")
    @click.argument("nip")
    def create_admin(nip):
        """Give an existing employee the admin role."""
        try:
            employee = models.Employee.by_nip(security.parse_nip(nip).value)
        except security.NipError as exc:
            raise click.ClickException(str(exc)) from None
        if employee is None:
            raise click.ClickException(f"Tidak ada pegawai dengan NIP {nip}. Impor data pegawai dahulu.")
        account = models.Account.for_employee(employee)
        if account.role == "admin":
            click.echo(f"{employee.nama} ({employee.nip}) sudah admin.")
        else:
            models.AuditEvent.record("role.changed", nip=employee.nip, account=account,
                                     detail=f"{account.role} → admin (perintah create-admin)")
            account.set_role("admin")
            click.echo(f"{employee.nama} ({employee.nip}) sekarang admin.")
        if account.password_hash is None or account.has_temporary_password:
            password = account.issue_temporary_password(app.extensions["settings"])
            models.AuditEvent.record("password.reset", nip=employee.nip, account=account,
                                     detail="kata sandi sementara dari perintah create-admin")
            click.echo(f"Kata sandi sementara (hanya ditampilkan sekali, berlaku "
                       f"{models.TEMPORARY_PASSWORD_HOURS} jam, wajib diganti saat masuk): {password}")

    @app.cli.command("activation-letters")
    @click.option("--unit", default="", help="Hanya pegawai di unit kerja ini.")
    @click.argument("out", type=click.Path(dir_okay=False, writable=True))
    def activation_letters(unit, out):
        """Print activation letters (PDF) for active employees who have no password yet."""
        pdf, count = letters.activation_letters(models.ActivationLetter.recipients(unit), app.extensions["settings"],
                                                app.config["BASE_URL"] or "http://127.0.0.1:5000",
                                                app.config["HELPDESK_CONTACT"])
        Path(out).write_bytes(pdf)
        models.AuditEvent.record("activation_letters.printed", detail=f"{count} surat; unit: {unit or 'semua'} "
                                                                      "(perintah activation-letters)")
        click.echo(f"{count} surat aktivasi ditulis ke {out}.")

    @app.cli.command("send-mail")
    def send_mail():
        """Retry the messages whose next attempt is due (for cron)."""
        click.echo(f"{mail.deliver_due(app)} pesan terkirim.")

    @app.cli.command("request-digest")
    def request_digest():
        """Mail each employee the service requests still waiting (weekly, for cron or a timer)."""
        with app.test_request_context(), models.db.connection_context():
            by_employee = {}
            for item in models.ServiceRequest.waiting_since(security.now()):
                by_employee.setdefault(item.employee, []).append(item)
            for employee, items in by_employee.items():
                mail.request_digest(employee, items, views_today())
            models.AuditEvent.record("request.digest_sent", detail=f"{len(by_employee)} pegawai")
        click.echo(f"{len(by_employee)} ringkasan pengajuan dikirim.")

    @app.cli.command("purge")
    def purge():
        """Remove expired sessions and tokens, sent mail text and old audit events (for a daily timer)."""
        report = models.purge(idle=timedelta(minutes=app.config["SESSION_IDLE_MINUTES"]),
                              lifetime=timedelta(hours=app.config["SESSION_LIFETIME_HOURS"]),
                              audit_days=int(app.config["AUDIT_RETENTION_DAYS"]))
        click.echo(f"Dibersihkan: {report.sessions} sesi kedaluwarsa, {report.tokens} token lama, "
                   f"{report.mail_bodies} isi pesan terkirim, {report.audit_events} catatan audit lebih dari "
                   f"{app.config['AUDIT_RETENTION_DAYS']} hari, {report.unknown_nips} penghitung NIP tak dikenal.")

    @app.cli.command("oidc-client")
    @click.argument("action", type=click.Choice(["add"]))
    @click.argument("name")
    @click.option("--redirect-uri", "redirect_uris", multiple=True, required=True,
                  help="Alamat kembali aplikasi (persis); boleh diulang.")
    @click.option("--backchannel-logout-uri", default="", help="Alamat back-channel logout aplikasi.")
    @click.option("--post-logout-redirect-uri", "post_logout_uris", multiple=True,
                  help="Alamat tujuan setelah keluar; boleh diulang.")
    @click.option("--public", "is_public", is_flag=True, help="Aplikasi tanpa rahasia (wajib PKCE).")
    @click.option("--pre-approved", "is_pre_approved", is_flag=True, help="Aplikasi internal: tanpa halaman izin.")
    def oidc_client(action, name, redirect_uris, backchannel_logout_uri, post_logout_uris, is_public,
                    is_pre_approved):
        """Register an app that signs its users in through the portal (OpenID Connect)."""
        problems = models.OidcClient.uri_problems(redirect_uris, backchannel_logout_uri, post_logout_uris)
        if not name.strip() or problems:
            raise click.ClickException(" ".join(problems) or "Nama aplikasi wajib diisi.")
        client, secret = models.OidcClient.register(
            name.strip(), list(redirect_uris), is_public=is_public, is_pre_approved=is_pre_approved,
            backchannel_logout_uri=backchannel_logout_uri, post_logout_redirect_uris=list(post_logout_uris))
        models.AuditEvent.record("oidc.client_added", detail=f"{client.name} ({client.client_id}) "
                                                             "(perintah oidc-client add)")
        click.echo(f"client_id: {client.client_id}")
        if secret:
            click.echo(f"client_secret: {secret}")

    @app.cli.command("oidc-rotate-key")
    def oidc_rotate_key():
        """Publish a new signing key; the previous one stays published until its tokens expire."""
        kid = oidc.rotate_key(app)
        models.AuditEvent.record("oidc.key_rotated", detail=f"kunci baru {kid} (perintah oidc-rotate-key)")
        click.echo(f"Kunci penandatanganan baru: {kid}. Kunci sebelumnya tetap diumumkan "
                   f"{oidc.RETIRED_KEY_KEPT.days} hari.")

    @app.cli.command("seed-demo")
    @click.option("--peserta", type=click.IntRange(0, demo.MAX_PARTICIPANTS), default=0,
                  help="Jumlah akun peserta bernomor untuk satu kelas (misalnya 30).")
    def seed_demo(peserta):
        """Create (or refresh) the demo employees and, with --peserta N, N participant accounts."""
        demo.seed(participants=peserta)
        click.echo("Data demo siap:")
        for row in demo.login_table(everyone=True):
            click.echo(f"  NIP {row['nip']}  NIK {row['nik']}  {row['nama']} ({row['status']})  {row['email']}")

    @app.cli.command("reset-demo")
    def reset_demo():
        """Put every demo account back to its first-login state."""
        demo.reset()
        click.echo("Semua akun demo kembali ke keadaan login pertama.")


def main(argv):
    import os

    import waitress

    if "--demo" in argv:
        os.environ["ASN_DEMO"] = "true"
        os.environ.setdefault("ASN_DATABASE_URL", "sqlite:///instance/demo.db")
    serving.configure_logging()
    try:
        app = create_app()
    except settings.SettingsError as exc:
        print(f"Portal ASN Digital tidak dijalankan: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    except migrations.SchemaOutOfDate as exc:
        sys.exit(str(exc))
    host, port = app.config["HOST"], int(app.config["PORT"])
    cpu = serving.keep_on_one_cpu(app.config["SERVER_CPU"])  # before any server thread starts
    print(f"Portal ASN Digital berjalan di http://{host}:{port}/"
          + ("  (MODE DEMO)" if app.config["DEMO"] else "")
          + (f"  (thread server di CPU {cpu})" if cpu is not None else ""), flush=True)
    # Mail and SMS wait in the outbox without a server or gateway; back-channel logouts
    # to apps are always retried.
    threading.Thread(target=_retry_mail_forever, args=(app,), daemon=True).start()
    waitress.serve(app, **serving.waitress_options(app.config))


def _retry_mail_forever(app, interval=60):
    while True:
        time.sleep(interval)
        mail.deliver_due(app)


if __name__ == "__main__":
    main(sys.argv[1:])
