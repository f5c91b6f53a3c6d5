"""Junk sent to every POST route of the URL map, as an anonymous visitor, a visitor half-way
through registration, a signed-in pegawai and a signed-in admin, with demo mode on so the
trainer routes answer too. Whatever arrives, the answer is never a 5xx, and a 4xx is a page
(or an htmx fragment) in Bahasa Indonesia, never a stock English framework page.

The routes come from the URL map, so a new route is swept as soon as it exists. URL
arguments are real ids (a document, a leave request, an authenticator... of the pegawai;
a demo account and its virtual phone entry for the trainer routes), sometimes someone
else's or a missing one. Form fields are the names each endpoint reads (ENDPOINT_FIELDS,
checked against the URL map), each missing, sent once or sent two or three times, with junk
values (long strings, NUL bytes, RTL marks) or a valid-looking value (the current OTP, a
leave type, a scenario slug) so the sweep also gets past the first check of a form.

Every request starts from the same database: it is put back from a snapshot before each
request, so a request that signs someone out, resets a demo account or changes a role
does not change what the next one sees, and a failure replays on its own. The clock is
frozen so the OTP codes and expiry times stay put.

A second, deterministic pass turns CSRF protection on: every POST route without a token,
with a made-up one, or with a body over the size limit is refused with a 400 (413) in
Indonesian, as anonymous, pegawai and admin; the trainer routes answer 404 when demo mode is
off, and the two upload views that check CSRF themselves refuse non-staff before that.

Requests that once broke are replayed from REGRESSIONS.
SWEEP_EXAMPLES=100 in the environment makes a deeper (slower) sweep."""

import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from html import unescape
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

import app as app_module
import demo
import models
import security
from models import kinds
from security import clock as the_clock
from security import now
from tests.conftest import TEST_CONFIG
from tests.databases import database_url, restore_snapshot, take_snapshot
from tests.helpers import PASSWORD, code, first_login, make_employee, sign_in_as
from tests.strategies import char, junk

SWEEP = settings(max_examples=int(os.environ.get("SWEEP_EXAMPLES", 8)), deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FROZEN_AT = datetime(2026, 11, 23, 2, 0, 0)

PEGAWAI_NIP, PEGAWAI_NIK = "198001012005011009", "3201010101800009"
ADMIN_NIP, ADMIN_NIK = "197501012000031002", "3201014101750002"
REGISTRANT_NIP, REGISTRANT_NIK = "198611102011011006", "3273011011860006"
UNKNOWN_NIP = "199912312099121999"
MISSING_ID = 999_999
KNOWN_CODE = "123456"  # of the pending contact change and of the registration in progress
TOTP_KEY = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

# The upload views are exempt from the global CSRF check and make it themselves, after the
# role check (so the larger upload limit applies); everyone else is refused before that.
CSRF_CHECKED_IN_VIEW = {"admin.upload_post", "admin.document_post"}
# The employee's upload of a request document does the same for every signed-in employee.
EMPLOYEE_UPLOADS = {"requests.document_post"}
# OpenID Connect endpoints for apps, not people: no CSRF token (the app's secret, PKCE or
# bearer token instead) and OAuth's JSON errors.
MACHINE_ENDPOINTS = {"oidc.token", "oidc.userinfo", "oidc.revoke"}
MACHINE_PATHS = {"/oidc/token", "/oidc/userinfo", "/oidc/revoke"}

# --------------------------------------------------------------------------- field names

# The form fields each POST endpoint reads (the OAuth parameters for the OpenID Connect
# ones), sent to it more often so its form gets past the first check now and then. A new
# POST route fails test_every_post_endpoint_has_its_fields_listed until it is listed here.
PASSWORD_PAIR = ["new_password", "confirm_password"]
REAUTH = ["password", "otp"]
# What a request of each kind asks the employee, and the reviewer at approval.
KIND_FIELDS = sorted({f.name for kind in kinds.DECLARED.values() for f in kind.fields})
APPROVAL_FIELDS = sorted({f.name for kind in kinds.DECLARED.values() for f in kind.approval_fields})
STAFF_CHECK = ["verifikasi", "alasan"]
AUTHORIZE = ["client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge",
             "code_challenge_method"]
ENDPOINT_FIELDS = {
    "account.activate_post": PASSWORD_PAIR,
    "account.forgot_post": ["nip", "email"],
    "account.register_password_post": PASSWORD_PAIR,
    "account.register_post": ["nip", "nik", "email", "telepon"],
    "account.register_resend": [],
    "account.register_verify_post": ["code"],
    "account.reset_post": PASSWORD_PAIR,
    "admin.action_post": STAFF_CHECK,
    "admin.activation_letters_post": ["unit"],
    "admin.app_add": ["name", "redirect_uris", "post_logout_redirect_uris", "backchannel_logout_uri", "is_public",
                      "is_pre_approved"],
    "admin.app_secret_rotate": [],
    "admin.app_toggle": [],
    "admin.document_delete": [],
    "admin.document_post": ["jenis", "nomor", "tanggal", "berkas"],
    "admin.employee_data_post": ["email", "telepon", "status"],
    "admin.history_upload_post": ["berkas"],
    "admin.request_assign": [],
    "admin.request_decide": ["keputusan", "catatan", *APPROVAL_FIELDS],
    "admin.leave_decide": ["keputusan", "catatan"],
    "admin.registration_decide": ["keputusan", *STAFF_CHECK],
    "admin.role_post": ["role"],
    "admin.upload_post": ["berkas"],
    "auth.cancel": [],
    "auth.first_login_code_post": ["code"],
    "auth.first_login_code_resend": [],
    "auth.login_post": ["nip", "password", "next"],
    "auth.logout": [],
    "auth.otp_post": ["otp"],
    "auth.passkey_second_factor": ["credential"],
    "auth.passkey_second_factor_options": [],
    "auth.passkey_sign_in": ["credential", "next"],
    "auth.passkey_sign_in_options": [],
    "auth.password_new_post": PASSWORD_PAIR,
    "auth.recovery_post": ["recovery_code"],
    "dashboard.app_revoke": [],
    "dashboard.authenticator_add_post": [*REAUTH, "device_name", "new_otp"],
    "dashboard.authenticator_remove_post": REAUTH,
    "dashboard.change_password": [*REAUTH, *PASSWORD_PAIR],
    "dashboard.contact_post": [*REAUTH, "field", "value"],
    "dashboard.contact_verify": ["code", "old_code"],
    "dashboard.leave_post": ["jenis", "start", "end", "reason"],
    "dashboard.notification_read": [],
    "dashboard.passkey_add_options": [],
    "dashboard.passkey_add_post": [*REAUTH, "credential", "device_name"],
    "dashboard.passkey_remove_post": REAUTH,
    "dashboard.notifications_read_all": [],
    "dashboard.session_end": [],
    "dashboard.sessions_end_others": [],
    "mfa.recovery_codes_regenerate": REAUTH,
    "mfa.recovery_codes_saved": [],
    "mfa.setup_post": ["otp", "device_name"],
    "oidc.authorize_post": ["keputusan", *AUTHORIZE],
    "oidc.end_session_post": ["id_token_hint", "post_logout_redirect_uri", "client_id", "state"],
    "oidc.revoke": ["token", "token_type_hint", "client_id", "client_secret"],
    "oidc.token": ["grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_secret",
                   "refresh_token"],
    "oidc.userinfo": ["access_token"],
    "requests.document_delete": [],
    "requests.document_post": ["berkas"],
    "requests.save": KIND_FIELDS,
    "requests.start_post": ["subkind"],
    "requests.submit": [],
    "trainer.account_reset": [],
    "trainer.demo_app_logout": [],
    "trainer.mfa_reset": [],
    "trainer.passkey_practice": [],
    "trainer.phone_entry_delete": [],
    "trainer.phone_entry_sync": [],
    "trainer.phone_key": ["key"],
    "trainer.phone_scan": [],
    "trainer.reset_all": [],
    "trainer.scenario": ["skenario"],
}
# Every route also gets fields of other forms, and a few no form has.
FIELDS = sorted({name for names in ENDPOINT_FIELDS.values() for name in names} | {"q", "csrf_token"})


OTP_NOW = "(the code the authenticator shows now)"
RECOVERY_CODE = "(one of the pegawai's recovery codes)"
PLAUSIBLE = {
    "nip": [PEGAWAI_NIP, "19800101 200501 1 009", demo.DEMO_EMPLOYEES[0]["nip"], UNKNOWN_NIP],
    "nik": [PEGAWAI_NIK, REGISTRANT_NIK],
    "password": [PASSWORD, PEGAWAI_NIK, demo.PASSWORD],
    "new_password": ["Zebra#Laut-Biru9", PASSWORD],
    "confirm_password": ["Zebra#Laut-Biru9", PASSWORD],
    "otp": [OTP_NOW, RECOVERY_CODE, "000000"],
    "new_otp": [OTP_NOW],
    "device_name": ["Ponsel kantor"],
    "code": [KNOWN_CODE],
    "email": ["baru@example.go.id", "pegawai@example.go.id"],
    "telepon": ["081298765432"],
    "value": ["baru@example.go.id", "081298765432"],
    "field": ["email", "telepon"],
    "jenis": [*models.LEAVE_TYPES, "SK Kenaikan Pangkat"],
    "start": ["2026-12-01", "2026-11-20"],
    "end": ["2026-12-04", "2026-11-01"],
    "reason": ["Ponsel hilang, lapor lewat telepon"],
    "catatan": ["Lampirkan surat dokter"],
    "alasan": ["Ponsel hilang, lapor lewat telepon"],
    "keputusan": ["setujui", "tolak"],
    "role": list(models.ROLES),
    "status": list(models.STATUSES),
    "verifikasi": ["ktp", "sk", "lainnya"],
    "skenario": [problem.slug for problem in demo.PROBLEMS],
    "key": [TOTP_KEY],
    "q": ["budi"],
    "next": ["/dashboard", "//evil.example/"],
    "nomor": ["800/2026/001"],
    "tanggal": ["2026-11-23"],
}


def value_for(name):
    plausible = PLAUSIBLE.get(name)
    return st.one_of(st.sampled_from(plausible), junk) if plausible else junk


def form_for(route_fields):
    """(name, value) pairs: fields missing, sent once or repeated, in any order."""
    names = st.sampled_from(FIELDS)
    if route_fields:
        names = st.one_of(st.sampled_from(route_fields), names)
    pair = names.flatmap(lambda name: st.tuples(st.just(name), value_for(name)))
    return st.lists(pair, max_size=12)


CSV_ROWS = ",".join(models.CSV_HEADER).encode() + b"\n" + b"1,2,3\n"
upload = st.one_of(st.none(), st.tuples(
    st.sampled_from([demo.tiny_pdf(["SK"]), CSV_ROWS, b"", b"\x00" * 64, "nip;nama\n١;😀\n".encode()])
    | st.binary(max_size=200),
    st.one_of(st.sampled_from(["sk.pdf", "pegawai.csv", "", "../../etc/passwd", "\u202efdp.exe"]),
              st.text(alphabet=char, max_size=20))))


def _post_rules() -> dict:
    """{route id: (endpoint, rule, fixed arguments)} of every POST route in the URL map,
    read from a throwaway app at collection time. An any() argument gives one route per
    value (each helpdesk action is a route of its own)."""
    with tempfile.TemporaryDirectory() as folder:
        app = app_module.create_app({**TEST_CONFIG, "DATABASE_URL": database_url(Path(folder) / "rules.db")})
        if not models.db.is_closed():
            models.db.close()
        return post_rules(app)


ARGUMENT = re.compile(r"<(?:[^>:]+:)?([a-z_]+)>")


def post_rules(app) -> dict:
    rules = {}
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        expanded = [{}]
        for name, converter in sorted(rule._converters.items()):
            if hasattr(converter, "items"):
                expanded = [{**e, name: item} for e in expanded for item in sorted(converter.items)]
        for fixed in expanded:
            label = ARGUMENT.sub(lambda m, fixed=fixed: fixed.get(m.group(1), f"<{m.group(1)}>"), rule.rule)
            rules[label] = (rule.endpoint, rule.rule, fixed)
    return rules


_RULES = _post_rules()
ROUTE_IDS = sorted(_RULES)


@dataclass
class Route:
    endpoint: str
    rule: str
    method: str
    arguments: dict  # name -> candidate values, the real one first
    fields: list

    @property
    def label(self) -> str:
        return f"{self.method} {self.rule}"


def request_for(route: Route):
    return st.fixed_dictionaries({
        "args": st.fixed_dictionaries({name: st.sampled_from(values) for name, values in route.arguments.items()}),
        "form": form_for(route.fields),
        "encoding": st.sampled_from(["form", "form", "multipart"]),
        "htmx": st.sampled_from([None, "htmx", "boosted"]),
        "file": upload,
    })


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    app: object
    database: Path
    cookies: dict  # who -> session cookie (None: anonymous)
    secrets: dict  # who -> TOTP secret of their authenticator
    recovery_code: str  # an unused one of the pegawai
    ids: dict  # argument -> candidate values
    routes: dict = field(default_factory=dict)
    connection: object = None  # this world's peewee database (models.db is a proxy to the current one)

    def activate(self):
        """Several worlds live in this module; each create_app points models.db elsewhere."""
        if models.db.obj is not self.connection:
            if not models.db.is_closed():
                models.db.close()
            models.db.initialize(self.connection)

    def restore(self):
        """The database as it was after set-up."""
        if not models.db.is_closed():
            models.db.close()
        restore_snapshot(self.database)

    def client(self, who):
        client = self.app.test_client()
        if self.cookies.get(who):
            client.set_cookie("session", self.cookies[who])
        return client

    def send(self, who, route: Route, drawn: dict):
        url = self.app.url_map.bind("localhost").build(route.endpoint, {**drawn["args"]})
        secret = self.secrets.get(who, self.secrets["pegawai"])
        known = {OTP_NOW: code(secret), RECOVERY_CODE: self.recovery_code}
        pairs = [(name, known.get(value, value)) for name, value in drawn["form"]]
        kwargs = {"headers": {}}
        if drawn["htmx"]:
            kwargs["headers"]["HX-Request"] = "true"
        if drawn["htmx"] == "boosted":
            kwargs["headers"]["HX-Boosted"] = "true"
        data = MultiDict(pairs)
        if drawn["encoding"] == "raw":  # a body as is, e.g. one over the size limit
            data = drawn["body"]
            kwargs["content_type"] = "application/x-www-form-urlencoded"
        elif drawn["encoding"] == "multipart":
            if drawn["file"] is not None:
                content, filename = drawn["file"]
                data.add("berkas", (io.BytesIO(content), filename))
            kwargs["content_type"] = "multipart/form-data"
        self.activate()
        self.restore()
        return self.client(who).open(url, method=route.method, data=data, **kwargs)


def build_world(folder: Path, demo_mode: bool) -> World:
    """Employees, signed-in sessions and data for every POST route to act on; CSRF off."""
    database = folder / "portal.db"
    app = app_module.create_app({**TEST_CONFIG, "DATABASE_URL": database_url(database), "DEMO": demo_mode})
    connection = models.db.obj
    key = app.config["SECRET_KEY"]
    cookies, secrets = {"anonim": None}, {}

    with models.db.connection_context():
        pegawai = make_employee(nip=PEGAWAI_NIP, nik=PEGAWAI_NIK, email="pegawai@example.go.id")
        registrant = make_employee(nip=REGISTRANT_NIP, nik=REGISTRANT_NIK, nama="Calon Pengguna",
                                   email="calon@example.go.id")
    client = app.test_client()
    secrets["pegawai"] = first_login(client, PEGAWAI_NIP, PEGAWAI_NIK)
    cookies["pegawai"] = client.get_cookie("session").value
    client = app.test_client()
    admin = sign_in_as(client, "admin", nip=ADMIN_NIP, nik=ADMIN_NIK)
    cookies["admin"] = client.get_cookie("session").value
    client = app.test_client()
    response = client.post("/daftar", data={"nip": REGISTRANT_NIP, "nik": REGISTRANT_NIK,
                                            "email": "calon@example.go.id", "telepon": "081234567891"})
    assert response.location == "/daftar/verifikasi", response.get_data(as_text=True)[:500]
    cookies["pendaftar"] = client.get_cookie("session").value

    with models.db.connection_context():
        # The secrets of the signed-in authenticators, for the OTP_NOW value.
        account = models.Account.for_employee(pegawai)
        admin_account = models.Account.for_employee(admin)
        secrets["admin"] = admin_account.confirmed_authenticators().first().secret(app.extensions["settings"])
        second = models.Authenticator.create(account=account, name="Ponsel kantor", confirmed_at=now(),
                                             secret_encrypted=security.encrypt(TOTP_KEY, key))
        recovery = models.RecoveryCode.generate(account, app.extensions["settings"])
        content = demo.tiny_pdf(["SK CPNS", pegawai.nama])
        document = models.Document.create(employee=pegawai, jenis="SK CPNS", nomor="800/2020/001",
                                          tanggal=date(2020, 1, 1), filename="sk-cpns.pdf", size=len(content),
                                          content=content)
        leave = models.LeaveRequest.create(employee=pegawai, jenis="tahunan", start=date(2026, 12, 7),
                                           end=date(2026, 12, 9), reason="Urusan keluarga")
        transfer = models.ServiceRequest.create(employee=pegawai, kind="mutasi", subkind="antar_unit",
                                                data='{"alasan": "Dekat rumah", "tujuan": "Bappeda"}')
        models.RequestDocument.create(request=transfer, requirement="surat_permohonan", document=document)
        notification = models.Notification.create(employee=pegawai, title="Dokumen baru: SK CPNS",
                                                  link="/dashboard/dokumen")
        current = account.active_sessions().first()
        other = models.SessionRecord.start(account, ip="10.0.0.2", user_agent="Ponsel lain")
        models.Token.issue(pegawai, "contact", KNOWN_CODE, 10, data={"field": "email", "value": "baru@example.go.id"})
        models.Token.issue(registrant, "register", KNOWN_CODE, 10,
                           data={"email": "calon@example.go.id", "telepon": "081234567891"})
        reset_secret = security.new_link_secret()
        models.Token.issue(pegawai, "reset", reset_secret, 30)
        app_client, _ = models.OidcClient.register("e-Kinerja", ["https://ekinerja.example.go.id/cb"])
        models.OidcConsent.grant(account, app_client, "openid profile asn")
        passkey = models.Passkey.create(account=account, name="Ponsel saya", credential_id="AAAA", public_key="AAAA")

    entry_id = MISSING_ID
    if demo_mode:
        siti = demo.DEMO_EMPLOYEES[1]["nip"]
        response = app.test_client().post(f"/pelatih/akun/{siti}/skenario",
                                          data={"skenario": "perangkat-tidak-terdaftar"})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        with models.db.connection_context():
            entry_id = demo.PhoneEntry.select().where(demo.PhoneEntry.nip == siti).first().id

    ids = {"nip": [PEGAWAI_NIP, ADMIN_NIP, UNKNOWN_NIP],
           "trainer nip": [demo.DEMO_EMPLOYEES[0]["nip"], demo.DEMO_EMPLOYEES[5]["nip"], PEGAWAI_NIP],
           "document_id": [document.id, MISSING_ID], "request_id": [leave.id, transfer.id, MISSING_ID],
           "kind_key": ["kenaikan_pangkat", "mutasi", "cuti"],
           "requirement": ["surat_permohonan", "persetujuan_asal", "tidak_ada"],
           "authenticator_id": [second.id, MISSING_ID], "notification_id": [notification.id, MISSING_ID],
           "session_id": [other.id, current.id, MISSING_ID], "entry_id": [entry_id, MISSING_ID],
           "secret": [reset_secret, "tautan-tidak-berlaku"], "client_id": [app_client.id, MISSING_ID],
           "passkey_id": [passkey.id, MISSING_ID]}

    if not models.db.is_closed():
        models.db.close()
    world = World(app, database, cookies, secrets, recovery[0], ids)
    take_snapshot(database)
    world.routes = post_routes(app, ids)
    world.connection = connection
    return world


def post_routes(app, ids) -> dict:
    """{route id: Route} with the candidate values of each URL argument."""
    routes = {}
    for label, (endpoint, rule, fixed) in post_rules(app).items():
        arguments = {name: [value] for name, value in fixed.items()}
        for name in ARGUMENT.findall(rule):
            if name in fixed:
                continue
            key = f"trainer {name}" if endpoint.startswith("trainer.") and f"trainer {name}" in ids else name
            assert key in ids, f"{rule}: give the argument {name!r} real values in build_world"
            arguments[name] = ids[key]
        routes[label] = Route(endpoint, rule, "POST", arguments, ENDPOINT_FIELDS[endpoint])
    return routes


class Worlds:
    """The worlds of this module, built when first needed, under a frozen clock:
    "sweep" (demo mode, CSRF off), "csrf-demo" and "csrf" (CSRF on, demo mode on / off)."""

    def __init__(self, folder: Path):
        self.folder, self.built = folder, {}

    def __getitem__(self, name) -> World:
        if name not in self.built:
            (self.folder / name).mkdir()
            world = build_world(self.folder / name, demo_mode=name != "csrf")
            # Flask-WTF and the views that check CSRF themselves read this per request.
            world.app.config["WTF_CSRF_ENABLED"] = name.startswith("csrf")
            self.built[name] = world
        return self.built[name]


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    the_clock.freeze(FROZEN_AT)
    folder = tmp_path_factory.mktemp("post-sweep")
    try:
        yield Worlds(folder)
    finally:
        the_clock.unfreeze()
        if not models.db.is_closed():
            models.db.close()


# --------------------------------------------------------------------------- checks

INDONESIAN = re.compile(r"\b(tidak|wajib|salah|harus|periksa|coba|kode|kata sandi|terkunci|silakan|halaman|"
                        r"formulir|permintaan|akun|anda|atau|dan|yang|lagi|pilih|isi|berkas|ditolak|akses)\b",
                        re.IGNORECASE)
ENGLISH = ("Bad Request", "Not Found", "Method Not Allowed", "Internal Server Error", "Forbidden", "Unauthorized",
           "Redirecting...", "Too Many Requests", "Request Entity Too Large", "Conflict", "Unprocessable",
           "Traceback", "The CSRF token", "The browser (or proxy)", "You should be redirected")


def page_text(body: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S | re.I)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def check(response, where: str):
    status = response.status_code
    assert status < 500, f"{where}: {status}\n{response.get_data(as_text=True)[:1500]}"
    for name, value in response.headers.items():
        # A real WSGI server sends headers as latin-1; anything else is a 500 there.
        assert all(ord(c) < 256 for c in value) and "\n" not in value, f"{where}: header {name}: {value!r}"
    if 400 <= status < 500 and response.request.path in MACHINE_PATHS and response.mimetype == "application/json":
        assert response.get_json()["error"], f"{where}: an OAuth error without its code"
        return
    if 400 <= status < 500:
        assert response.mimetype == "text/html", f"{where}: a {status} as {response.mimetype}"
        body = response.get_data(as_text=True)
        for english in ENGLISH:
            assert english not in body, f"{where}: {status} in English ({english!r}): {body[:500]}"
        title = re.search(r"<title>(.*?)</title>", body, re.S)
        if title:
            assert INDONESIAN.search(title.group(1)) or "Portal ASN Digital" in title.group(1), (where, title)
        assert INDONESIAN.search(page_text(body)), f"{where}: a {status} without Indonesian text: {body[:500]}"
        if response.request.headers.get("HX-Request") != "true":  # htmx requests get a fragment
            assert '<html lang="id">' in body, f"{where}: a {status} that is not a whole page in Indonesian"


# --------------------------------------------------------------------------- tests


def test_every_post_endpoint_has_its_fields_listed():
    in_map = {endpoint for endpoint, _, _ in _RULES.values()}
    assert set(ENDPOINT_FIELDS) == in_map


def test_the_sweep_covers_every_post_route(worlds):
    world = worlds["sweep"]
    assert len(ROUTE_IDS) >= 40, ROUTE_IDS
    assert sorted(world.routes) == ROUTE_IDS
    in_map = {r.endpoint for r in world.app.url_map.iter_rules() if "POST" in r.methods}
    assert {route.endpoint for route in world.routes.values()} == in_map
    assert {"trainer.scenario", "admin.leave_decide", "dashboard.contact_verify", "auth.login_post"} <= in_map


# Requests that once broke (a 500), each sent on its own before the random examples:
# {(route id, who): (form fields, htmx)}. htmx asked for a block the template didn't have.
HTMX_NO_FIELDS = ([], "htmx")
REGRESSIONS = {
    ("/dashboard/kontak", "pegawai"): ([("field", "email"), ("value", "x")], "htmx"),
    ("/admin/pegawai/<nip>/akhiri-sesi", "admin"): HTMX_NO_FIELDS,
    ("/admin/pegawai/<nip>/reset-mfa", "admin"): HTMX_NO_FIELDS,
    ("/admin/pegawai/<nip>/kata-sandi-sementara", "admin"): HTMX_NO_FIELDS,
    ("/admin/pegawai/<nip>/data", "admin"): ([("email", "x")], "htmx"),
    ("/admin/pegawai/<nip>/peran", "admin"): ([("role", "x")], "htmx"),
    ("/admin/pegawai/<nip>/dokumen", "admin"): HTMX_NO_FIELDS,
    ("/admin/pegawai/unggah", "admin"): HTMX_NO_FIELDS,
    ("/admin/riwayat/unggah", "admin"): HTMX_NO_FIELDS,
}
WHO = ("anonim", "pendaftar", "pegawai", "admin")


def _sweep_cases():
    for route_id in ROUTE_IDS:
        for who in WHO:
            yield pytest.param(route_id, who, id=f"{who}-{route_id}")


def first_values(route: Route) -> dict:
    return {name: values[0] for name, values in route.arguments.items()}


@pytest.mark.parametrize(("route_id", "who"), list(_sweep_cases()))
@SWEEP
@given(data=st.data())
def test_junk_is_never_a_5xx_and_is_refused_in_indonesian(worlds, route_id, who, data):
    world = worlds["sweep"]
    route = world.routes[route_id]
    if (route_id, who) in REGRESSIONS:
        form, htmx = REGRESSIONS[route_id, who]
        drawn = {"args": first_values(route), "form": form, "encoding": "form", "htmx": htmx, "file": None}
        check(world.send(who, route, drawn), f"{who} {route.label} (regression)")
    drawn = data.draw(request_for(route), label=route.label)
    check(world.send(who, route, drawn), f"{who} {route.label}")


# --------------------------------------------------------------------------- CSRF on

OVER_THE_LIMIT = b"nip=" + b"1" * app_module.DEFAULTS["MAX_CONTENT_LENGTH"]
def _csrf_cases():
    for demo_mode in (True, False):
        for route_id in ROUTE_IDS:
            for who in ("anonim", "pegawai", "admin"):
                yield pytest.param("csrf-demo" if demo_mode else "csrf", route_id, who,
                                   id=f"{'demo' if demo_mode else 'tanpa-demo'}-{who}-{route_id}")


@pytest.mark.parametrize(("world_name", "route_id", "who"), list(_csrf_cases()))
def test_without_a_valid_csrf_token_every_post_route_is_refused(worlds, world_name, route_id, who):
    """No token, a made-up token, and a body over the size limit (which the CSRF check
    reads first): 400, 400 and 413 in Indonesian, before the view does anything."""
    world = worlds[world_name]
    route = world.routes[route_id]
    form = [("nip", PEGAWAI_NIP), ("password", PASSWORD), ("skenario", "qr-tidak-muncul")]
    variants = [("tanpa token", {"form": form, "encoding": "form"}, 400),
                ("token palsu", {"form": [*form, ("csrf_token", "bukan-token")], "encoding": "form"}, 400),
                ("terlalu besar", {"form": [], "encoding": "raw", "body": OVER_THE_LIMIT}, 413)]
    for name, variant, status in variants:
        for htmx in (None, "htmx"):
            drawn = {"args": first_values(route), "htmx": htmx, "file": None, **variant}
            response = world.send(who, route, drawn)
            where = f"{who} {route.label} {name} htmx={htmx}"
            check(response, where)
            body = response.get_data(as_text=True)
            if route.endpoint.startswith("trainer.") and not world.app.config["DEMO"]:
                assert response.status_code == 404 and ("tidak ditemukan" in body or "tidak ada" in body), where
            elif route.endpoint in CSRF_CHECKED_IN_VIEW and who != "admin":
                # Only staff reach the view's own check; the others are refused before it.
                if who == "anonim":
                    target = response.location or response.headers.get("HX-Redirect", "")
                    assert target.startswith("/login"), (where, response.status_code)
                else:
                    assert response.status_code == 403, where
            elif route.endpoint in EMPLOYEE_UPLOADS and who == "anonim":
                target = response.location or response.headers.get("HX-Redirect", "")
                assert target.startswith("/login"), (where, response.status_code)
            elif route.endpoint in MACHINE_ENDPOINTS:
                assert response.status_code in ((400, 401) if status == 400 else (401, 413)), where
            elif route.endpoint in CSRF_CHECKED_IN_VIEW | EMPLOYEE_UPLOADS and status == 413:
                # The upload views take bigger bodies; the view's own CSRF check then refuses it.
                assert response.status_code == 400 and "kedaluwarsa" in body, (where, response.status_code)
            else:
                assert response.status_code == status, (where, response.status_code, body[:300])
                assert ("kedaluwarsa" if status == 400 else "terlalu besar") in body, where
                if htmx:
                    assert response.headers["HX-Retarget"] == "#pesan", where
