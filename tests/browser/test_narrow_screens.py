"""Every page on a 360 px wide phone, in real Chromium, with JavaScript on and off: the
page itself never scrolls sideways, it says it is in Bahasa Indonesia and has a viewport
meta, every form field has a label, and the submit buttons are big enough to tap.

The list of pages comes from the URL map, so a new page is checked as soon as it exists.
Each page is visited as the visitor who can see it: an anonymous visitor (also half-way
through signing in or registering), a signed-in pegawai, a signed-in admin (/admin/...),
and, on a second server in demo mode, the trainer (/pelatih/...). URL arguments are real
ids of data made for the purpose, with long but realistic texts (a long e-mail address,
a long unit name) because those are what push a narrow page wider.

One live server per mode (normal, then demo) serves the whole module; the visitors sign
in through Flask's test client and their session cookie goes into a Chromium context."""

import re
import tempfile
import warnings
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

import app as app_module
import demo
import models
import security
from security import now
from tests.databases import database_url
from tests.helpers import (
    ADMIN_NIK,
    ADMIN_NIP,
    HELPDESK_NIK,
    HELPDESK_NIP,
    NIP,
    PASSWORD,
    UTC_TIME,
    banned_words,
    change_password,
    first_login,
    login,
    make_employee,
    sign_in_as,
    to_password_step,
)
from tests.live import LIVE_CONFIG, LiveServer
from views.help import TOPICS

VIEWPORT = {"width": 360, "height": 740}
MIN_SUBMIT_HEIGHT = 40  # a submit button lower than this fails the test
TAP_HEIGHT = 44  # smaller buttons and links in forms are reported as warnings

# Long but real: an e-mail address and a unit name as the BKN data have them.
LONG_EMAIL = "muhammad.abdurrahman.wahyudiningrat@diskominfo.jabarprov.go.id"
LONG_UNIT = "Dinas Komunikasi, Informatika, Persandian dan Statistik Provinsi Jawa Barat"
LONG_JABATAN = "Pranata Komputer Ahli Pertama pada Bidang Infrastruktur Teknologi Informasi"

# Endpoints that are not pages: they redirect or send a file (checked by the first test).
NOT_PAGES = {
    "static": "static files",
    "auth.home": "redirects to /login or /dashboard",
    "admin.index": "redirects to /admin/pegawai",
    "admin.audit_export": "CSV download",
    "admin.document_download": "PDF download",
    "dashboard.document_download": "PDF download",
    "admin.request_document": "PDF download",
    "admin.request_documents": "ZIP download of every document of a request",
    "mfa.recovery_codes_download": "text file download",
    "mfa.ready": "redirects to the dashboard, which says \"Akun Anda siap\" once (the extra page akun-siap)",
    "trainer.demo_app_login": "redirects to the portal's sign-in (e-Kinerja (demo) asks for an OpenID Connect sign-in)",
}
# Answers for machines, not people: tested in tests/test_health.py.
# The OpenID Connect discovery, keys and userinfo answer apps in JSON: tests/test_oidc.py.
FOR_MACHINES = {"health.healthz", "health.metrics", "oidc.discovery", "oidc.jwks", "oidc.userinfo"}

# Pages that only exist half-way through a journey: the visitor who sees them.
JOURNEY_STATES = {
    "auth.password_new": "ganti-sandi",  # first login: the default password was right
    "mfa.setup": "aktivasi-mfa",  # new password set, MFA not yet
    "auth.otp": "kode-otp",  # password right, OTP asked
    "mfa.setup_add": "aktivasi-mfa",
    "mfa.setup_code": "aktivasi-mfa",
    "auth.recovery": "kode-otp",  # the recovery code instead of an OTP
    "auth.first_login_code": "kode-login-pertama",  # NIK right, code to the contact on record asked
    "account.register_queued": "pendaftar-antre",  # no contact on record: waits for the helpdesk
    "account.register_verify": "pendaftar",  # registration form sent, code asked
    "account.register_password": "pendaftar-terverifikasi",
    "account.register_done": "pendaftar-selesai",
}

# Pages that are not in the URL map as such: error pages, searches, filters.
EXTRA_PAGES = [
    ("normal", "anonim", "/tidak-ada"),  # 404
    ("normal", "anonim", "/logout"),  # 405
    ("normal", "anonim", "/bantuan/?q=kode otp"),
    ("normal", "pegawai", "/tidak-ada"),
    ("normal", "pegawai", "/bantuan/"),
    ("normal", "pegawai", "/dashboard/notifikasi?page=2"),
    ("normal", "admin", "/admin/pegawai?q=budi"),
    ("normal", "admin", "/admin/audit?nip=abc&dari=kemarin"),  # 422 with errors
    ("normal", "admin", "/admin/cuti?status=disetujui"),
    # The helpdesk sees the console without the admin's forms and menus.
    ("normal", "helpdesk", "/admin/pegawai"),
    ("normal", "helpdesk", f"/admin/pegawai/{NIP}"),
    ("normal", "helpdesk", f"/admin/pegawai/{NIP}/akhiri-sesi"),
    ("normal", "helpdesk", "/admin/pendaftaran"),
    ("normal", "helpdesk", "/dashboard"),
    ("normal", "akun-siap", "/dashboard"),  # the end of the first sign-in: "Akun Anda siap" on top
    ("demo", "anonim", "/login"),  # the demo banner on an ordinary page
    ("demo", "anonim", "/bantuan/"),
]

# --------------------------------------------------------------------------- the cases


def _url_rules():
    """(endpoint, rule, arguments, values of an any() converter) of every GET route,
    read from a throwaway app's URL map at collection time."""
    with tempfile.TemporaryDirectory() as folder:
        app = app_module.create_app({**LIVE_CONFIG, "DATABASE_URL": database_url(Path(folder) / "rules.db")})
        if not models.db.is_closed():
            models.db.close()
        rules = []
        for rule in app.url_map.iter_rules():
            if "GET" in rule.methods:
                choices = {name: sorted(conv.items) for name, conv in rule._converters.items()
                           if hasattr(conv, "items")}
                rules.append((rule.endpoint, rule.rule, tuple(sorted(rule.arguments)), choices))
        return rules


@dataclass(frozen=True)
class Case:
    mode: str  # normal | demo
    who: str  # anonim | pegawai | admin | pelatih | one of JOURNEY_STATES
    path: str  # a URL, or a rule with <arguments> filled in at run time
    endpoint: str = ""
    values: tuple = ()  # (argument, value) fixed at collection time (help slug, admin action)

    @property
    def id(self) -> str:
        values = dict(self.values)
        label = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", lambda m: values.get(m.group(1), m.group(1)),
                       self.path)
        return f"{self.mode}-{self.who}-{label}"


def _who(endpoint: str) -> str:
    if endpoint in JOURNEY_STATES:
        return JOURNEY_STATES[endpoint]
    blueprint = endpoint.split(".")[0]
    return {"admin": "admin", "dashboard": "pegawai", "requests": "pegawai", "mfa": "pegawai",
            "trainer": "pelatih"}.get(blueprint, "anonim")


RULES = _url_rules()
ARGUMENT = re.compile(r"<(?:[^>:]+:)?([a-z_]+)>")


def _cases() -> list:
    cases = []
    for endpoint, rule, _, choices in RULES:
        if endpoint in NOT_PAGES or endpoint in FOR_MACHINES:
            continue
        variants = [()]
        if endpoint == "help.topic":
            variants = [(("slug", topic.slug),) for topic in TOPICS]
        for name, items in choices.items():
            variants = [v + ((name, item),) for v in variants for item in items]
        mode = "demo" if endpoint.startswith("trainer.") else "normal"
        cases += [Case(mode, _who(endpoint), rule, endpoint, v) for v in variants]
    cases += [Case(mode, who, path) for mode, who, path in EXTRA_PAGES]
    cases.sort(key=lambda c: c.mode != "normal")  # one server start per mode
    unique = {}
    for case in cases:  # /bantuan/autentikator-hilang is a route of its own and a topic too
        unique.setdefault(case.id, case)
    return list(unique.values())


CASES = _cases()
JS = [pytest.param(True, id="js-on"), pytest.param(False, id="js-off")]


def _params() -> list:
    return [pytest.param(case, id=case.id) for case in CASES]


# --------------------------------------------------------------------------- servers and data


class Server(LiveServer):
    """The portal, its data made before it serves, with CSRF checks off for the set-up
    requests only (made by test clients on the host "localhost")."""

    def __init__(self, database: Path, **options):
        super().__init__(database, **options, WTF_CSRF_ENABLED=False, TRUSTED_HOSTS=["localhost"])
        self.cookies = {"anonim": None, "pelatih": None}
        self.args = {}

    def start(self):
        self.app.config["WTF_CSRF_ENABLED"] = True
        return super().start()

    def keep(self, who, client):
        cookie = client.get_cookie("session")
        assert cookie is not None, who
        self.cookies[who] = cookie.value


def _last_code(nip: str) -> str:
    with models.db.connection_context():
        message = (models.Message.select().where((models.Message.nip == nip) & (models.Message.channel == "sms"))
                   .order_by(models.Message.id.desc()).first())
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def _register(client, nip, nik, stage):
    """Registration up to `stage`: 1 code asked, 2 code right, 3 password set."""
    response = client.post("/daftar", data={"nip": nip, "nik": nik, "email": f"{nip}@example.go.id",
                                            "telepon": "081234567899"})
    assert response.location == "/daftar/verifikasi", response.get_data(as_text=True)[:500]
    if stage >= 2:
        response = client.post("/daftar/verifikasi", data={"code": _last_code(nip)})
        assert response.location == "/daftar/kata-sandi"
    if stage >= 3:
        response = client.post("/daftar/kata-sandi", data={"new_password": PASSWORD, "confirm_password": PASSWORD})
        assert response.location == "/daftar/selesai"


def _employee(**fields):
    with models.db.connection_context():
        return make_employee(**fields)


def normal_server(database: Path) -> Server:
    server = Server(database)
    app = server.app
    key = app.config["SECRET_KEY"]
    pegawai = _employee(email=LONG_EMAIL, unit_kerja=LONG_UNIT, jabatan=LONG_JABATAN,
                        nama="Budi Santoso Wibisono Prawirodirdjo, S.Kom., M.T.I.")
    client = app.test_client()
    first_login(client)  # the session still holds the new recovery codes: /mfa/kode-pemulihan shows them
    server.keep("pegawai", client)
    admin_client = app.test_client()
    sign_in_as(admin_client, "admin", nip=ADMIN_NIP, nik=ADMIN_NIK)
    server.keep("admin", admin_client)
    helpdesk_client = app.test_client()
    sign_in_as(helpdesk_client, "helpdesk", nip=HELPDESK_NIP, nik=HELPDESK_NIK)
    server.keep("helpdesk", helpdesk_client)

    with models.db.connection_context():
        account = models.Account.for_employee(pegawai)
        second = models.Authenticator.create(account=account, name="Ponsel kantor (Samsung Galaxy A15 5G)",
                                             confirmed_at=now(),
                                             secret_encrypted=security.encrypt(security.new_totp_secret(), key))
        for jabatan, unit, tmt in (("CPNS Pranata Komputer", LONG_UNIT, date(2020, 1, 1)),
                                   (LONG_JABATAN, LONG_UNIT, date(2021, 4, 1))):
            models.PositionHistory.create(employee=pegawai, jabatan=jabatan, unit_kerja=unit, tmt=tmt,
                                          nomor_sk=f"821.2/{tmt.year}/BKPSDM-JABAR/0001234")
        models.RankHistory.create(employee=pegawai, golongan="III/a", pangkat="Penata Muda", tmt=date(2021, 4, 1),
                                  nomor_sk="823.3/2021/BKPSDM-JABAR/0004321")
        documents = []
        for jenis in ("SK Kenaikan Pangkat Penata Muda Tingkat I", "SK CPNS"):
            content = demo.tiny_pdf([jenis, pegawai.nama])
            documents.append(models.Document.create(
                employee=pegawai, jenis=jenis, nomor="800.1.11.2/1234/BKPSDM-JABAR/2026", tanggal=date(2026, 4, 1),
                filename=f"{jenis.lower().replace(' ', '-')}-{pegawai.nip}.pdf", size=len(content), content=content))
        today = now().date()
        leave = models.LeaveRequest.create(employee=pegawai, jenis="tahunan", start=today + timedelta(days=14),
                                           end=today + timedelta(days=18),
                                           reason="Mengantar orang tua berobat ke Rumah Sakit Hasan Sadikin Bandung")
        decided = models.LeaveRequest.create(employee=pegawai, jenis="sakit", start=today - timedelta(days=30),
                                             end=today - timedelta(days=28), reason="Demam berdarah, rawat inap")
        decided.decide("ditolak", "Lampirkan surat keterangan dokter dari rumah sakit pemerintah.", ADMIN_NIP)
        transfer = models.ServiceRequest.create(
            employee=pegawai, kind="mutasi", subkind="antar_unit",
            data=models.ServiceRequest.encode({"tujuan": LONG_UNIT, "alasan": "Mendekatkan tempat tinggal"}))
        models.RequestDocument.create(request=transfer, requirement="surat_permohonan", document=documents[1])
        transfer.move("diajukan", pegawai.nip)
        transfer.move("perlu_perbaikan", ADMIN_NIP, "Surat persetujuan pimpinan unit asal belum ditandatangani.")
        transfer.move("diajukan", pegawai.nip)
        notification = None
        for number in range(35):  # more than one page
            notification = models.Notification.create(
                employee=pegawai, title=f"Pengajuan cuti tahunan disetujui ({number + 1})",
                body="Cuti tahunan 01-12-2026 s.d. 05-12-2026: disetujui. Catatan: selamat berlibur.",
                link=f"/dashboard/cuti/{leave.id}")
        models.Token.issue(pegawai, "contact", "123456", 10,
                           data={"field": "email", "value": "budi.baru." + LONG_EMAIL})
        reset_secret = security.new_link_secret()
        models.Token.issue(pegawai, "reset", reset_secret, 30)
        session_id = account.active_sessions().first().id
        passkey = models.Passkey.create(account=account, name="Ponsel pribadi (sidik jari)", credential_id="AAAA",
                                        public_key="AAAA")
        for index in range(3):  # the admin's employee list
            models.Account.for_employee(models.Employee.create(
                nip=f"19850101201001100{index}", nik=f"327301010185000{index}", nama=f"Pegawai Contoh {index}",
                email="", telepon="", jenis_asn="PNS", status="aktif", instansi="Pemerintah Kota Bandung",
                unit_kerja=LONG_UNIT, jabatan=LONG_JABATAN, pangkat="Penata", golongan="III/c",
                tmt_cpns=date(2010, 1, 1), tmt_pangkat=date(2018, 4, 1)))

    server.args = {"nip": pegawai.nip, "document_id": documents[0].id, "request_id": leave.id,
                   "authenticator_id": second.id, "notification_id": notification.id, "session_id": session_id,
                   "secret": reset_secret, "passkey_id": passkey.id}
    server.endpoint_args = {"account.activate": {"secret": "tautan-kedaluwarsa"},  # a real one is used up
                            "requests.detail": {"request_id": transfer.id},
                            "admin.request_review": {"request_id": transfer.id},
                            "requests.start": {"kind_key": "kenaikan_pangkat"}}

    journeys = {
        "ganti-sandi": ("198203152008012004", "3273015503820004"),
        "aktivasi-mfa": ("198407212009022005", "3273016107840005"),
        "pendaftar": ("198611102011011006", "3273011011860006"),
        "pendaftar-terverifikasi": ("198702142012012007", "3273015402870007"),
        "pendaftar-selesai": ("198805052013011008", "3273010505880008"),
    }
    journeys["kode-login-pertama"] = ("198906062014011009", "3273010606890009")
    journeys["pendaftar-antre"] = ("199007072015012010", "3273014707900010")
    for who, (nip, nik) in journeys.items():
        contact = {"email": "", "telepon": ""} if who == "pendaftar-antre" else {"email": f"{nip}@example.go.id"}
        _employee(nip=nip, nik=nik, nama=f"Pegawai {who}", **contact)
        client = app.test_client()
        if who in ("kode-login-pertama", "pendaftar-antre"):
            if who == "kode-login-pertama":
                assert login(client, nip, nik).location == "/login/kode"
            else:
                assert client.post("/daftar", data={"nip": nip, "nik": nik, "email": f"{nip}@example.go.id",
                                                    "telepon": "081234567899"}).location == "/daftar/menunggu"
            server.keep(who, client)
            continue
        if who in ("ganti-sandi", "aktivasi-mfa"):
            assert to_password_step(client, nip, nik).location == "/password/new"
            if who == "aktivasi-mfa":
                assert change_password(client).location == "/mfa/setup"
        else:
            _register(client, nip, nik, {"pendaftar": 1, "pendaftar-terverifikasi": 2, "pendaftar-selesai": 3}[who])
        server.keep(who, client)
    client = app.test_client()
    assert login(client, NIP, PASSWORD).location == "/login/otp"
    server.keep("kode-otp", client)
    client = app.test_client()
    _employee(nip="199108082016011011", nik="3273014808910011", nama="Pegawai akun-siap",
              email="199108082016011011@example.go.id")
    first_login(client, "199108082016011011", "3273014808910011")
    assert client.post("/mfa/kode-pemulihan/selesai").location == "/dashboard"
    server.keep("akun-siap", client)  # each visit with this cookie is the first one after the recovery codes
    return server.start()


def demo_server(database: Path) -> Server:
    server = Server(database, demo=True)
    client = server.app.test_client()
    rizky = demo.DEMO_EMPLOYEES[4]
    assert client.post("/daftar", data={"nip": rizky["nip"], "nik": rizky["nik"], "email": rizky["email"],
                                        "telepon": rizky["telepon"]}).status_code == 303  # an SMS on the phone
    for employee, slug in zip(demo.DEMO_EMPLOYEES, ("gagal-login-setelah-reset", "perangkat-tidak-terdaftar",
                                                    "autentikator-hilang", "kode-otp-tidak-valid"), strict=False):
        response = client.post(f"/pelatih/akun/{employee['nip']}/skenario", data={"skenario": slug})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
    server.args = {"nip": demo.DEMO_EMPLOYEES[0]["nip"]}
    server.endpoint_args = {}
    return server.start()


class Site:
    """The server of the current mode and a Chromium context per (visitor, JavaScript)."""

    def __init__(self, browser, folder: Path):
        self.browser, self.folder = browser, folder
        self.mode, self.server, self.pages, self.starts = None, None, {}, 0

    def use(self, mode: str) -> Server:
        if mode != self.mode:
            self.close()
            make = normal_server if mode == "normal" else demo_server
            self.starts += 1
            self.server, self.mode = make(self.folder / f"{mode}-{self.starts}.db"), mode
        return self.server

    def page(self, who: str, java_script: bool, audit: bool = False):
        """`audit`: a context that may inject the axe-core script past the CSP."""
        key = (who, java_script, audit)
        if key not in self.pages:
            context = self.browser.new_context(base_url=self.server.url, java_script_enabled=java_script,
                                               locale="id-ID", timezone_id="Asia/Jakarta", viewport=VIEWPORT,
                                               is_mobile=True, has_touch=True, bypass_csp=audit)
            context.set_default_timeout(10_000)
            cookie = self.server.cookies[who]
            if cookie:
                context.add_cookies([{"name": "session", "value": cookie, "url": self.server.url}])
            self.pages[key] = context.new_page()
        return self.pages[key]

    def close(self):
        for page in self.pages.values():
            page.context.close()
        self.pages = {}
        if self.server is not None:
            self.server.stop()
        self.server = self.mode = None


@pytest.fixture(scope="module")
def site(browser, tmp_path_factory):
    site = Site(browser, tmp_path_factory.mktemp("narrow"))
    yield site
    site.close()


def url_of(server: Server, case: Case) -> str:
    if not case.endpoint:
        return case.path
    values = {**server.args, **server.endpoint_args.get(case.endpoint, {}), **dict(case.values)}
    names = ARGUMENT.findall(case.path)
    missing = [name for name in names if name not in values]
    assert not missing, f"give {case.endpoint} a real value for {missing} in normal_server/demo_server"
    return server.app.url_map.bind("localhost").build(case.endpoint, {name: values[name] for name in names})


# --------------------------------------------------------------------------- the checks

# `width` is the viewport's: with mobile emulation a page wider than the screen makes Chromium
# zoom out, and window.innerWidth then grows with the page instead of staying at 360.
MEASURE = """width => {
  const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const clipped = el => {  // inside a wrapper that scrolls or clips sideways: it does not widen the page
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)) return true;
    }
    return false;
  };
  const describe = el => {
    const classes = typeof el.className === 'string' && el.className.trim()
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ');
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + classes
      + (el.name ? '[name=' + el.name + ']' : '') + (text ? ' "' + text.slice(0, 50) + '"' : '');
  };
  // The innermost elements reaching past the right edge, text that overflows its box included.
  const right = el => {
    const box = el.getBoundingClientRect();
    if (el.matches('input, textarea, select') || getComputedStyle(el).overflowX !== 'visible') return box.right;
    return Math.max(box.right, box.left + el.scrollWidth);
  };
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (right(el) > width + 1 && visible(el) && !clipped(el)
        && ![...el.children].some(child => right(child) > width + 1)) {
      wide.push(describe(el) + ' (right edge ' + Math.round(right(el)) + ' px)');
    }
  }
  const unlabelled = [...document.querySelectorAll('input, select, textarea')].filter(el =>
    !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type) && visible(el)
    && !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')
  ).map(describe);
  const targets = [...document.querySelectorAll('form button, form input[type=submit], form a')]
    .filter(visible).map(el => ({
      what: describe(el), height: Math.round(el.getBoundingClientRect().height * 10) / 10,
      submit: el.matches('button:not([type]), button[type=submit], input[type=submit]')}));
  const viewport = document.querySelector('meta[name=viewport]');
  return {scrollWidth: document.documentElement.scrollWidth, width, innerWidth: window.innerWidth,
          wide: wide.slice(0, 10), unlabelled, targets, lang: document.documentElement.getAttribute('lang'),
          viewport: viewport && viewport.getAttribute('content')};
}"""


def test_the_urls_left_out_are_redirects_or_downloads(site):
    """NOT_PAGES really are no pages: each answers a redirect or an attachment."""
    checked = set()
    for endpoint, rule, _, _ in sorted(RULES, key=lambda r: r[0].startswith("trainer.")):
        if endpoint not in NOT_PAGES or endpoint == "static":
            continue
        mode = "demo" if endpoint.startswith("trainer.") else "normal"
        server = site.use(mode)
        who = _who(endpoint)
        url = url_of(server, Case(mode, who, rule, endpoint))
        client = server.app.test_client()
        if server.cookies.get(who):
            client.set_cookie("session", server.cookies[who])
        response = client.get(url, base_url=server.url)
        disposition = response.headers.get("Content-Disposition", "")
        assert 300 <= response.status_code < 400 or disposition.startswith("attachment"), (
            endpoint, response.status_code)
        checked.add(endpoint)
    assert checked == set(NOT_PAGES) - {"static"}


class SmallTapTarget(UserWarning):
    """A button or link in a form lower than 44 px."""


@pytest.mark.parametrize("java_script", JS)
@pytest.mark.parametrize("case", _params())
def test_page_fits_a_360px_phone(site, case, java_script):
    server = site.use(case.mode)
    url = url_of(server, case)
    page = site.page(case.who, java_script)
    response = page.goto(url)
    assert response is not None
    assert response.request.redirected_from is None, (
        f"{url} redirects {case.who} to {page.url}: give the case a visitor who sees the page, or add "
        f"the endpoint to NOT_PAGES")
    assert response.status < 500, (url, response.status)
    assert "text/html" in response.header_value("content-type"), url
    result = page.evaluate(MEASURE, VIEWPORT["width"])

    assert result["lang"] == "id", (url, result["lang"])
    assert result["viewport"] and "width=device-width" in result["viewport"], (url, result["viewport"])
    assert result["scrollWidth"] <= result["width"] + 1, (
        f"{url} ({response.status}) is {result['scrollWidth']} px wide on a {result['width']} px screen; "
        f"too wide: {result['wide']}")
    assert not result["unlabelled"], f"{url}: fields without a label: {result['unlabelled']}"
    low_submits = [t for t in result["targets"] if t["submit"] and t["height"] < MIN_SUBMIT_HEIGHT]
    assert not low_submits, f"{url}: submit buttons under {MIN_SUBMIT_HEIGHT} px: {low_submits}"
    for target in result["targets"]:
        if target["height"] < TAP_HEIGHT:
            warnings.warn(SmallTapTarget(f"{case.endpoint or case.path}: {target['what']} is "
                                         f"{target['height']} px high (under {TAP_HEIGHT} px)"), stacklevel=1)


# --------------------------------------------------------------------------- accessibility and words

AXE = Path(__file__).parents[1] / "tools" / "axe-4.14.1.min.js"  # npm axe-core 4.14.1, vendored
@pytest.mark.parametrize("case", _params())
def test_page_passes_axe_and_speaks_indonesian(site, case):
    """axe-core finds no violation; the visible text has none of the banned English words
    and no UTC time."""
    server = site.use(case.mode)
    page = site.page(case.who, True, audit=True)
    response = page.goto(url_of(server, case))
    assert response is not None and response.request.redirected_from is None, (case.id, page.url)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    violations = [f"{v['id']} ({v['impact']}): {v['help']} at " + ", ".join(n["target"][0] for n in v["nodes"][:3])
                  for v in result["violations"]]
    assert not violations, f"{case.id}: " + "; ".join(violations)
    text = page.locator("body").inner_text() + " " + page.title()
    assert not banned_words(text), f"{case.id}: {banned_words(text)}"
    assert not UTC_TIME.search(text), f"{case.id}: a UTC time"
