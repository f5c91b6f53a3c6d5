"""Junk thrown at every form of the sign-in journey, and at URLs and methods that do
not exist. Whatever arrives, the answer is a 4xx with a message in Bahasa Indonesia
(or a redirect when the input happens to be valid), never a 500 or an English
framework page.

Each test builds the app once and replays many generated requests against it, with a
fresh browser (test client) per example; the database state an example depends on is
put back at the start of the example, so examples do not depend on each other."""

import json
import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st

import models
from tests import helpers
from tests.helpers import NIK, NIP, PASSWORD
from tests.strategies import INJECTED, ODD_WORDS, char, digits6, form, junk

# Example counts keep the whole file well under a minute on a busy machine. The fixtures
# (app, database, clock) are built once per test function and shared by its examples.
FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FUZZ_FEW = settings(FUZZ, max_examples=20)

# How the fields travel. Only "form" and "multipart" carry form fields the app reads.
ENCODINGS = ["form"] * 4 + ["multipart"] * 2 + ["json", "query", "text", "none"]
DELIVERED = ("form", "multipart")
HTMX = [None, "htmx", "boosted"]
submission = st.tuples(st.sampled_from(ENCODINGS), st.sampled_from(HTMX))


def send(client, path, fields, encoding, htmx=None, method="POST"):
    headers = {}
    if htmx:
        headers["HX-Request"] = "true"
    if htmx == "boosted":
        headers["HX-Boosted"] = "true"
    kwargs = {"headers": headers}
    if encoding == "form":
        kwargs["data"] = fields
    elif encoding == "multipart":
        kwargs.update(data=fields, content_type="multipart/form-data")
    elif encoding == "json":
        kwargs["json"] = fields
    elif encoding == "query":
        kwargs["query_string"] = fields
    elif encoding == "text":
        kwargs.update(data=json.dumps(fields, ensure_ascii=False), content_type="text/plain; charset=utf-8")
    elif isinstance(encoding, bytes):
        kwargs.update(data=encoding, content_type="application/x-www-form-urlencoded")
    return client.open(path, method=method, **kwargs)


def first(fields, name, encoding):
    """The value the app reads for `name`, or None when it does not receive it."""
    if encoding not in DELIVERED or name not in fields:
        return None
    return fields[name][0]


# --------------------------------------------------------------------------- checks


class _AlertText(HTMLParser):
    """The text inside elements with role="alert"."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.parts = []

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        if self.depth:
            self.depth += 1
        elif ("role", "alert") in attrs:
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth and tag not in self.VOID:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


INDONESIAN = re.compile(r"\b(wajib|tidak|salah|harus|periksa|coba|kode|kata sandi|terkunci|minimal|silakan|"
                        r"halaman|formulir|permintaan|akun|anda|atau|dan|yang|lagi)\b", re.IGNORECASE)
ENGLISH = ("Bad Request", "Not Found", "Method Not Allowed", "Internal Server Error", "Redirecting",
           "Too Many Requests", "Request Entity Too Large", "Traceback", "The CSRF token")


def alert_text(response) -> str:
    parser = _AlertText()
    parser.feed(response.get_data(as_text=True))
    return " ".join(" ".join(parser.parts).split())


def check_common(response):
    if currently_in_test_context():
        event(f"status {response.status_code}")
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
    for name, value in response.headers.items():
        # WSGI servers send headers as latin-1; anything else is a 500 on a real server.
        assert all(ord(c) < 256 for c in value), f"{name} header is not latin-1: {value!r}"
        assert "\n" not in value and "\r" not in value, (name, value)
    body = response.get_data(as_text=True)
    for marker in INJECTED:
        assert marker not in body, "input reflected without escaping"


def assert_rejected(response, *statuses):
    """A 4xx (one of `statuses` when given) with an alert in Bahasa Indonesia."""
    check_common(response)
    status = response.status_code
    assert 400 <= status < 500, (status, response.headers, response.get_data(as_text=True)[:500])
    if statuses:
        assert status in statuses, (status, alert_text(response))
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    for english in ENGLISH:
        assert english not in body
    text = alert_text(response)
    assert INDONESIAN.search(text), f"no Indonesian alert in the {status} response: {text!r}"
    if response.request.headers.get("HX-Request") != "true":
        assert '<html lang="id">' in body
    return text


def redirect_target(response):
    """Where a successful POST sends the browser: 303 Location; for htmx the page it
    answers with (HX-Push-Url), or HX-Redirect when it leaves for an app."""
    if response.status_code == 303:
        return response.location
    if response.status_code == 200:
        return response.headers.get("HX-Push-Url") or response.headers.get("HX-Redirect")
    return None


def assert_redirected(response, *targets):
    check_common(response)
    target = redirect_target(response)
    assert target in targets, (response.status_code, target, alert_text(response))


# --------------------------------------------------------------------------- state


def account_of(nip=NIP):
    with models.db.connection_context():
        employee = models.Employee.by_nip(nip)
        return models.Account.get_or_none(models.Account.employee == employee)


def is_locked(nip=NIP) -> bool:
    account = account_of(nip)
    if account is None:
        return False
    with models.db.connection_context():
        return bool(account.lock_minutes_left())


def back_to_first_login(nip=NIP):
    """As `demo.reset` does: no account row means NIK as password and no MFA."""
    with models.db.connection_context():
        employee = models.Employee.by_nip(nip)
        models.Account.delete().where(models.Account.employee == employee).execute()
        models.Token.delete().where(models.Token.employee == employee).execute()


def clear_failures(nip=NIP):
    with models.db.connection_context():
        employee = models.Employee.by_nip(nip)
        (models.Account.update(failed_count=0, locked_until=None)
         .where(models.Account.employee == employee).execute())


def at_password_stage(app):
    back_to_first_login()
    client = app.test_client()
    assert helpers.to_password_step(client).location == "/password/new"
    return client


@pytest.fixture
def enrolled(app, employee, clock):
    """An account that has finished its first login (new password, authenticator), and
    is signed out again. Returns the TOTP secret."""
    client = app.test_client()
    secret = helpers.first_login(client)
    assert client.post("/logout").location == "/login"
    return secret


def at_otp_stage(app, clock):
    """A fresh browser that has given the right password and is asked for the OTP. The
    clock moves to a new TOTP step so a code used by an earlier example is not a replay."""
    helpers.next_step(clock)
    clear_failures()
    client = app.test_client()
    assert helpers.login(client, password=PASSWORD).location == "/login/otp"
    return client


def normalize_nip(text):
    return re.sub(r"[\s.\-]", "", text)


# --------------------------------------------------------------------------- POST /login

nip_value = st.one_of(st.just(NIP), st.sampled_from(["19900101 202001 1 001", "19900101.202001.1.001",
                                       "1990-0101-2020-0110-01", "199001012020011002", "19900101202001100"]),
                      digits6.map(lambda d: "199001012020" + d), junk)
password_value = st.one_of(st.just(NIK), st.sampled_from([NIK + " ", NIK[:-1], PASSWORD]), junk)
login_form = form(nip=nip_value, password=password_value, next=st.one_of(st.just("/dashboard"), junk))


@FUZZ
@given(attempts=st.lists(st.tuples(login_form, submission), min_size=1, max_size=6))
@example(attempts=[({"nip": [NIP], "password": [NIK]}, ("form", None))])
@example(attempts=[({"nip": ["19900101 202001 1 001", "x"], "password": [NIK], "next": ["\x00"]},
                    ("multipart", "htmx"))])
@example(attempts=[({"nip": [NIP], "password": ["salah"]}, ("form", "htmx"))] * 5
         + [({"nip": [NIP], "password": [NIK]}, ("form", None))])
def test_login_form_rejects_junk_in_indonesian(app, employee, clock, attempts):
    back_to_first_login()
    client = app.test_client()
    for fields, (encoding, htmx) in attempts:
        nip, password = first(fields, "nip", encoding), first(fields, "password", encoding)
        right = (nip is not None and normalize_nip(nip[:64]) == NIP
                 and password is not None and password[:256] == NIK)
        locked = is_locked()
        response = send(client, "/login", fields, encoding, htmx)
        if right and not locked:
            assert_redirected(response, "/login/kode")  # the NIK is public: a code must follow
        elif right:
            assert "terkunci" in assert_rejected(response, 423)
        else:
            assert_rejected(response, 422, 423)


@settings(FUZZ, max_examples=10)
@given(wrong=st.lists(st.tuples(junk.filter(lambda p: p and p[:256] != NIK), submission),
                      min_size=5, max_size=5),
       last=submission)
def test_five_wrong_passwords_lock_the_account_with_a_423_in_indonesian(app, employee, clock, wrong, last):
    back_to_first_login()
    client = app.test_client()
    for number, (password, (encoding, htmx)) in enumerate(wrong, start=1):
        fields = {"nip": [NIP], "password": [password]}
        response = send(client, "/login", fields, "form" if encoding not in DELIVERED else encoding, htmx)
        if number < 5:
            assert_rejected(response, 422)
        else:
            assert "15 menit" in assert_rejected(response, 423)
    encoding, htmx = last
    response = send(client, "/login", {"nip": [NIP], "password": [NIK]},
                    "form" if encoding not in DELIVERED else encoding, htmx)
    assert "terkunci" in assert_rejected(response, 423)


# --------------------------------------------------------------------------- POST /password/new

GOOD_PASSWORDS = [PASSWORD, "Zebra#Laut-Biru9", "Kopi!Pagi2026😀", "Sate Ayam 7 Tusuk!", "Ω-Rindu#2026kita"]
new_password = st.one_of(st.sampled_from(GOOD_PASSWORDS), st.sampled_from([NIK, "Password1!", "P@ssw0rd"]),
                         junk)
SAME = "(the same as new_password)"
password_form = form(new_password=new_password,
                     confirm_password=st.one_of(st.just(SAME), st.sampled_from(GOOD_PASSWORDS), junk))


def meets_published_rules(new, confirm):
    """The rules the page lists that can be checked without the word list."""
    new, confirm = new[:256], confirm[:256]
    digits = re.sub(r"\D", "", new)
    return (len(new) >= 8 and new == confirm and re.search(r"[A-Z]", new) and re.search(r"[a-z]", new)
            and re.search(r"[0-9]", new) and re.search(r"[^A-Za-z0-9]", new)
            and NIK not in digits and NIP[:8] not in digits)


@FUZZ
@given(fields=password_form, how=submission)
@example(fields={"new_password": [PASSWORD], "confirm_password": [SAME]}, how=("form", None))
@example(fields={"new_password": ["Kopi!Pagi2026😀"], "confirm_password": [SAME, "x"]},
         how=("multipart", "htmx"))
@example(fields={"new_password": ["\x00" * 300], "confirm_password": [SAME]}, how=("form", None))
def test_new_password_form_rejects_junk_in_indonesian(app, employee, fields, how):
    encoding, htmx = how
    if fields.get("confirm_password", [None])[0] == SAME:
        same = fields.get("new_password", [""])[0]
        fields = {**fields, "confirm_password": [same, *fields["confirm_password"][1:]]}
    client = at_password_stage(app)
    new, confirm = first(fields, "new_password", encoding), first(fields, "confirm_password", encoding)
    response = send(client, "/password/new", fields, encoding, htmx)
    if new in GOOD_PASSWORDS and confirm == new:
        assert_redirected(response, "/mfa/setup")
    elif redirect_target(response) is not None:
        assert_redirected(response, "/mfa/setup")
        assert meets_published_rules(new, confirm), "a password breaking the listed rules was accepted"
    else:
        assert_rejected(response, 422)


# --------------------------------------------------------------------------- POST /mfa/setup

CURRENT_CODE = "(the code the app shows now)"
SPACED_CODE = "(the code the app shows now, typed as 123 456)"
otp_value = st.one_of(st.just(CURRENT_CODE), st.just(SPACED_CODE), digits6, junk)
device_name = st.one_of(st.just("Ponsel pribadi"),
                        st.sampled_from(["  HP   Samsung\tkantor  ", "x" * 40, "x" * 41, ""]), junk)


# Enrollment ends on the page with the new recovery codes.
AFTER_ENROLLMENT = ("/mfa/kode-pemulihan", "/dashboard")


def fill_in_code(fields, secret):
    now = helpers.code(secret)
    codes = {CURRENT_CODE: now, SPACED_CODE: f"{now[:3]} {now[3:]}"}
    if "otp" not in fields:
        return fields
    return {**fields, "otp": [codes.get(v, v) for v in fields["otp"]]}


def acceptable_codes(secret):
    """The app accepts the current step and the one before (clock drift)."""
    return {helpers.code(secret), helpers.code(secret, -30)}


@settings(FUZZ, max_examples=25)
@given(fields=form(device_name=device_name, otp=otp_value), how=submission)
@example(fields={"device_name": ["Ponsel pribadi"], "otp": [CURRENT_CODE]}, how=("form", None))
@example(fields={"device_name": ["\u202eHP\u200f 😀"], "otp": [SPACED_CODE]}, how=("multipart", "htmx"))
def test_mfa_setup_form_rejects_junk_in_indonesian(app, employee, clock, fields, how):
    encoding, htmx = how
    client = at_password_stage(app)
    assert helpers.change_password(client).location == "/mfa/setup"
    page = client.get("/mfa/setup/akun")
    assert page.status_code == 200
    secret = helpers.secret_from(page.get_data(as_text=True))
    fields = fill_in_code(fields, secret)
    name, otp = first(fields, "device_name", encoding), first(fields, "otp", encoding)
    name_ok = len(" ".join((name or "").split())[:100]) <= 40  # optional: "Ponsel 1" when empty
    code_ok = otp is not None and re.sub(r"\s", "", otp) in acceptable_codes(secret)
    response = send(client, "/mfa/setup", fields, encoding, htmx)
    if name_ok and code_ok:
        assert_redirected(response, *AFTER_ENROLLMENT)
    else:
        assert_rejected(response, 422)


# --------------------------------------------------------------------------- POST /login/otp


@settings(FUZZ, max_examples=30)
@given(attempts=st.lists(st.tuples(form(otp=otp_value), submission), min_size=1, max_size=6))
@example(attempts=[({"otp": [CURRENT_CODE]}, ("form", None)), ({"otp": [CURRENT_CODE]}, ("form", None))])
@example(attempts=[({"otp": ["000000"]}, ("form", "htmx"))] * 5 + [({"otp": [CURRENT_CODE]}, ("form", None))])
def test_otp_form_rejects_junk_in_indonesian(app, enrolled, clock, attempts):
    client = at_otp_stage(app, clock)
    pending, used = True, set()
    for fields, (encoding, htmx) in attempts:
        fields = fill_in_code(fields, enrolled)
        otp = first(fields, "otp", encoding)
        code = None if otp is None else re.sub(r"\s", "", otp)
        locked = is_locked()
        response = send(client, "/login/otp", fields, encoding, htmx)
        if not pending:  # signed in by an earlier attempt: no OTP step any more
            assert_redirected(response, "/dashboard")
        elif locked:
            assert "terkunci" in assert_rejected(response, 423)
        elif code in acceptable_codes(enrolled) and code not in used:
            assert_redirected(response, "/dashboard")
            pending = False
            used.add(code)
        else:
            assert_rejected(response, 422, 423)


# --------------------------------------------------------------------------- POST /logout


@FUZZ_FEW
@given(fields=form(csrf_token=junk, next=junk), how=submission, signed_in=st.booleans())
def test_logout_accepts_any_junk_and_signs_out(app, enrolled, clock, fields, how, signed_in):
    encoding, htmx = how
    if signed_in:
        client = at_otp_stage(app, clock)
        response = client.post("/login/otp", data={"otp": helpers.code(enrolled)})
        assert response.location == "/dashboard"
    else:
        client = app.test_client()
    response = send(client, "/logout", fields, encoding, htmx)
    assert_redirected(response, "/login")
    page = response if htmx else client.get("/login")  # htmx: the login page is the answer itself
    assert page.status_code == 200
    assert "Anda telah keluar" in page.get_data(as_text=True)
    assert client.get("/dashboard").location.startswith("/login")


# --------------------------------------------------------------------------- raw bodies, sizes


@FUZZ_FEW
@given(body=st.binary(max_size=300), path=st.sampled_from(["/login", "/password/new", "/mfa/setup"]),
       htmx=st.sampled_from(HTMX))
def test_undecodable_form_bodies_are_rejected_in_indonesian(app, employee, clock, body, path, htmx):
    client = at_password_stage(app)
    if path == "/mfa/setup":
        assert helpers.change_password(client).location == "/mfa/setup"
    assert_rejected(send(client, path, {}, body, htmx), 422)


def test_a_body_over_the_size_limit_is_413_in_indonesian(client):
    response = client.post("/login", data={"nip": "1" * (2 * 1024 * 1024 + 1)})
    assert "terlalu besar" in assert_rejected(response, 413)
    response = client.post("/login", data={f"f{i}": "1" for i in range(1500)},
                           content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert "terlalu besar" in assert_rejected(response, 413)
    assert response.headers["HX-Retarget"] == "#pesan"


# --------------------------------------------------------------------------- unknown URLs, wrong methods

ROUTES = {"/": {"GET"}, "/login": {"GET", "POST"}, "/password/new": {"GET", "POST"},
          "/login/otp": {"GET", "POST"}, "/mfa/setup": {"GET", "POST"}, "/logout": {"POST"},
          "/dashboard": {"GET"}}
FIRST_SEGMENTS = {"", "login", "logout", "password", "mfa", "dashboard", "static"}
segment = st.one_of(st.text(alphabet=char, min_size=1, max_size=20), st.sampled_from(ODD_WORDS))


@FUZZ
@given(segments=st.lists(segment, min_size=1, max_size=4), under_static=st.booleans(),
       method=st.sampled_from(["GET", "GET", "POST"]), htmx=st.sampled_from(HTMX))
def test_unknown_urls_are_404_in_indonesian(client, segments, under_static, method, htmx):
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    if under_static:  # the static route exists for GET only; a POST there is a 405
        path, method = "/static" + path, "GET"
    elif path.split("/")[1] in FIRST_SEGMENTS:
        path = "/tidak-ada" + path
    response = send(client, path, {}, "none", htmx, method=method)
    if response.status_code == 308:  # werkzeug merges "//" (from %2F) into "/" first
        check_common(response)
        assert response.location.startswith("http://localhost/")
        response = send(client, response.location, {}, "none", htmx, method=method)
    text = assert_rejected(response, 404)
    assert "tidak ada" in text or "tidak ditemukan" in text
    if htmx:
        assert response.headers["HX-Retarget"] == "#pesan"


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py",
                                  "/static//etc/passwd", "/static/css/../../app.py"])
def test_static_path_traversal_is_404(client, path):
    response = client.get(path, follow_redirects=True)  # "//" is first merged by a 308
    assert_rejected(response, 404)
    assert "create_app" not in response.get_data(as_text=True)


@FUZZ
@given(path=st.sampled_from(sorted(ROUTES)),
       method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE", "PROPFIND", "BREW"]),
       htmx=st.sampled_from(HTMX))
def test_wrong_methods_are_405_in_indonesian(client, path, method, htmx):
    assume(method not in ROUTES[path])
    response = send(client, path, {}, "none", htmx, method=method)
    assert "tidak dapat dibuka" in assert_rejected(response, 405)


def test_a_405_says_which_methods_are_allowed(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers.get("Allow", "")


# --------------------------------------------------------------------------- CSRF


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


@FUZZ_FEW
@given(token=st.one_of(st.none(), junk), htmx=st.booleans())
def test_login_without_a_valid_csrf_token_is_400_in_indonesian(csrf_app, token, htmx):
    client = csrf_app.test_client()
    client.get("/login")  # a session exists, as in a browser that loaded the page
    fields = {"nip": [NIP], "password": [NIK]}
    if token is not None:
        fields["csrf_token"] = [token]
    response = send(client, "/login", fields, "form", "htmx" if htmx else None)
    assert "kedaluwarsa" in assert_rejected(response, 400)
    if htmx:
        assert response.headers["HX-Retarget"] == "#pesan"
        assert response.headers["HX-Reswap"] == "innerHTML"


def test_csrf_examples_and_the_token_from_the_page(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/login", data={"nip": "123", "password": "x"})
    assert "kedaluwarsa" in assert_rejected(response, 400)
    response = client.post("/login", data={"nip": "123", "password": "x"}, headers={"HX-Request": "true"})
    assert "kedaluwarsa" in assert_rejected(response, 400)
    assert response.headers["HX-Retarget"] == "#pesan"
    assert not response.get_data(as_text=True).lstrip().startswith("<!doctype")

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"nip": "123", "password": "x", "csrf_token": token})
    assert "18 digit" in assert_rejected(response, 422)  # past CSRF, on to the form's own check


# --------------------------------------------------------------------------- next URL


def test_next_url_with_non_latin1_characters_survives_the_htmx_redirect(app, enrolled, clock):
    helpers.next_step(clock)
    client = app.test_client()
    response = client.post("/login", data={"nip": NIP, "password": PASSWORD, "next": "/dashboard?q=€"})
    assert response.location == "/login/otp"
    response = client.post("/login/otp", data={"otp": helpers.code(enrolled)}, headers={"HX-Request": "true"})
    check_common(response)
    assert response.headers["HX-Redirect"] == "/dashboard?q=%E2%82%AC"
