"""The sign-in journey through Flask's test client: full pages, htmx fragments,
lockout, inactive employees, the half-signed-in state, CSRF, logout."""

import re
import time

import pytest

import models
import security
from settings import Settings
from tests.helpers import (
    NIK,
    NIP,
    PASSWORD,
    change_password,
    code,
    enroll,
    first_login,
    last_code,
    login,
    make_employee,
    prove_and_set_password,
    prove_first_login,
    run_statements,
    to_password_step,
)

GENERIC = "NIP atau kata sandi salah"


def audit_events(nip=NIP):
    with models.db.connection_context():
        return [e.event for e in models.AuditEvent.for_nip(nip)][::-1]


def test_login_page(client, employee):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="id">' in page
    assert 'name="nip"' in page and 'autocomplete="username"' in page and 'inputmode="numeric"' in page
    assert 'name="password"' in page and 'autocomplete="current-password"' in page
    assert 'name="csrf_token"' in page
    assert "MODE DEMO" not in page


def test_first_login_journey(client, employee, clock):
    response = login(client, "19900101 202001 1 001", NIK)
    assert response.status_code == 303 and response.location == "/login/kode"
    page = client.get("/login/kode").get_data(as_text=True)
    assert "b•••@example.go.id" in page and "0812" in page and 'name="code"' in page
    assert client.get("/password/new").location == "/login/kode"  # not before the code: the code step
    assert prove_first_login(client).location == "/password/new"
    assert "kata sandi awal (NIK)" in client.get("/password/new").get_data(as_text=True)
    assert change_password(client).location == "/mfa/setup"
    enroll(client)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Budi Santoso" in page and NIP in page and "Keluar" in page
    assert "6 tahun 10 bulan" in page  # TMT CPNS 2020-01-01, today 2026-11-23
    assert "III/a" in page and "Diskominfo" in page and "Pemerintah Kota Bandung" in page
    assert audit_events() == ["login.password_ok", "first_login.verified", "password.changed", "mfa.enrolled",
                              "login.ok"]


def test_no_password_hash_before_first_change(client, employee):
    to_password_step(client)
    with models.db.connection_context():
        assert models.Account.get().password_hash is None
    change_password(client)
    with models.db.connection_context():
        assert models.Account.get().password_hash.startswith("$argon2id$")


def test_later_login_asks_password_then_otp(client, enrolled):
    response = login(client, NIP, PASSWORD)
    assert response.location == "/login/otp"
    assert client.get("/dashboard").status_code == 302  # not yet
    response = client.post("/login/otp", data={"otp": code(enrolled)})
    assert response.status_code == 303 and response.location == "/dashboard"
    assert client.get("/dashboard").status_code == 200


def test_nik_no_longer_works_after_change(client, enrolled):
    assert GENERIC in login(client, NIP, NIK).get_data(as_text=True)


def test_wrong_password_and_unknown_nip_get_the_same_message(client, employee):
    wrong = login(client, NIP, "Salah!123")
    unknown = login(client, "198507152010012002", "Salah!123")
    assert wrong.status_code == unknown.status_code == 422
    for response in (wrong, unknown):
        assert GENERIC in response.get_data(as_text=True)
    assert audit_events("198507152010012002") == ["login.failed"]


def test_malformed_nip_hint_before_lookup(client):
    response = login(client, "1990 0101", "x")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "NIP terdiri dari 18 digit angka" in page
    assert 'aria-describedby="nip-error' in page and 'aria-invalid="true"' in page


def test_empty_password(client, employee):
    response = login(client, NIP, "")
    assert response.status_code == 422 and "Kata sandi wajib diisi" in response.get_data(as_text=True)


def test_htmx_error_returns_only_the_form(client, employee):
    response = login(client, NIP, "Salah!123", **{"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert body.startswith("<title>Kesalahan: Masuk · Portal ASN Digital</title>") and "<html" not in body
    assert '<div id="login-step">' in body and 'class="alert error error-summary"' in body
    assert GENERIC in body
    assert len(response.data) < 5 * 1024


def test_htmx_success_answers_with_the_next_step(client, employee):
    response = login(client, NIP, NIK, **{"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Push-Url"] == "/login/kode"
    assert 'id="code-step"' in response.get_data(as_text=True)


def test_inactive_employee_refused_only_after_right_password(client, app):
    with models.db.connection_context():
        make_employee(status="pensiun")
    wrong = login(client, NIP, "Salah!123").get_data(as_text=True)
    assert GENERIC in wrong and "tidak aktif" not in wrong
    right = login(client, NIP, NIK)
    page = right.get_data(as_text=True)
    assert right.status_code == 403
    assert "Status kepegawaian tidak aktif" in page and "admin kepegawaian" in page
    assert client.get("/password/new").location == "/login"
    assert audit_events()[-1] == "login.inactive"


def test_lockout_after_five_wrong_passwords_and_expiry(client, employee, clock):
    for _ in range(4):
        assert login(client, NIP, "Salah!123").status_code == 422
    fifth = login(client, NIP, "Salah!123")
    assert fifth.status_code == 423
    assert "terkunci" in fifth.get_data(as_text=True) and "15 menit" in fifth.get_data(as_text=True)
    # Even the right password is refused while locked, with the minutes left.
    clock.advance(minutes=5)
    locked = login(client, NIP, NIK)
    assert locked.status_code == 423 and "10 menit" in locked.get_data(as_text=True)
    clock.advance(minutes=10, seconds=1)
    assert login(client, NIP, NIK).location == "/login/kode"
    assert "account.locked" in audit_events() and "login.locked" in audit_events()


def test_lockout_is_configurable(make_app, clock):
    app = make_app(MAX_FAILED_LOGINS=2, LOCKOUT_MINUTES=30)
    with models.db.connection_context():
        make_employee()
    client = app.test_client()
    login(client, NIP, "Salah!123")
    response = login(client, NIP, "Salah!123")
    assert response.status_code == 423 and "30 menit" in response.get_data(as_text=True)


def test_lockout_holds_across_restarts(make_app, employee, client, clock):
    for _ in range(5):
        login(client, NIP, "Salah!123")
    other_worker = make_app().test_client()
    assert other_worker.post("/login", data={"nip": NIP, "password": NIK}).status_code == 423


def test_wrong_otps_count_toward_lockout(client, enrolled, clock):
    login(client, NIP, PASSWORD)
    for _ in range(4):
        response = client.post("/login/otp", data={"otp": "000000"})
        assert response.status_code == 422
        assert "Kode OTP salah" in response.get_data(as_text=True)
    fifth = client.post("/login/otp", data={"otp": "000000"})
    assert fifth.status_code == 423 and "terkunci" in fifth.get_data(as_text=True)
    # The right code no longer helps until the lock ends.
    assert client.post("/login/otp", data={"otp": code(enrolled)}).status_code == 423
    assert audit_events().count("otp.failed") == 5


def test_success_resets_the_counter(client, enrolled, clock):
    for _ in range(4):
        login(client, NIP, "Salah!123")
    login(client, NIP, PASSWORD)
    client.post("/login/otp", data={"otp": code(enrolled)})
    client.post("/logout")
    for _ in range(4):
        assert login(client, NIP, "Salah!123").status_code == 422


def test_password_step_alone_does_not_reset_the_counter(client, enrolled, clock):
    # Otherwise someone with the password could guess OTPs forever.
    for _ in range(4):
        login(client, NIP, PASSWORD)
        client.post("/login/otp", data={"otp": "000000"})
    login(client, NIP, PASSWORD)
    assert client.post("/login/otp", data={"otp": "000000"}).status_code == 423


def test_otp_replay_refused(client, enrolled, clock):
    login(client, NIP, PASSWORD)
    used = code(enrolled)
    assert client.post("/login/otp", data={"otp": used}).location == "/dashboard"
    client.post("/logout")
    login(client, NIP, PASSWORD)
    response = client.post("/login/otp", data={"otp": used})
    assert response.status_code == 422 and "sudah pernah dipakai" in response.get_data(as_text=True)
    assert "otp.replayed" in audit_events()


def test_previous_step_code_accepted(client, enrolled, clock):
    clock.advance(seconds=30)  # the step before is not the one used at enrollment
    login(client, NIP, PASSWORD)
    assert client.post("/login/otp", data={"otp": code(enrolled, -30)}).location == "/dashboard"


def test_code_from_two_steps_ago_refused(client, enrolled, clock):
    login(client, NIP, PASSWORD)
    assert client.post("/login/otp", data={"otp": code(enrolled, -60)}).status_code == 422


def test_malformed_otp_does_not_count(client, enrolled):
    login(client, NIP, PASSWORD)
    for _ in range(6):
        response = client.post("/login/otp", data={"otp": "12ab"})
        assert response.status_code == 422 and "6 digit" in response.get_data(as_text=True)
    assert client.post("/login/otp", data={"otp": code(enrolled)}).location == "/dashboard"


def test_otp_with_spaces_accepted(client, enrolled):
    login(client, NIP, PASSWORD)
    typed = code(enrolled)
    assert client.post("/login/otp", data={"otp": f"{typed[:3]} {typed[3:]}"}).location == "/dashboard"


@pytest.mark.parametrize("url", ["/dashboard"])
def test_half_authenticated_cannot_reach_dashboard(client, enrolled, url):
    login(client, NIP, PASSWORD)  # password done, OTP not
    response = client.get(url)
    assert response.status_code == 302 and response.location.startswith("/login")


def test_half_authenticated_at_password_stage_cannot_skip_steps(client, employee):
    login(client)
    assert client.get("/dashboard").status_code == 302
    assert client.get("/mfa/setup").status_code == 303
    assert client.get("/login/otp").status_code == 303


def test_pending_login_expires(client, enrolled, clock):
    login(client, NIP, PASSWORD)
    clock.advance(minutes=11)
    response = client.post("/login/otp", data={"otp": code(enrolled)})
    assert response.location == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "Waktu untuk menyelesaikan proses masuk sudah habis" in page
    assert "kata sandi yang baru Anda buat (NIK tidak berlaku lagi)" in page  # the password to use now


def test_first_login_journey_has_30_minutes_in_all(client, employee, clock):
    login(client)
    page = client.get("/login/kode").get_data(as_text=True)
    assert "Selesaikan sebelum <strong>09.30 WIB</strong>" in page  # 02.00 UTC + 30 minutes, in WIB
    assert prove_first_login(client).location == "/password/new"
    clock.advance(minutes=20)  # once only 10 minutes for every step
    assert change_password(client).location == "/mfa/setup"
    assert "09.30 WIB" in client.get("/mfa/setup").get_data(as_text=True)  # the next step does not extend it
    clock.advance(minutes=11)
    assert client.get("/mfa/setup").location == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "sudah habis" in page and "kata sandi yang baru Anda buat" in page


def test_expiry_before_the_new_password_names_the_nik(client, employee, clock):
    login(client)
    clock.advance(minutes=31)
    assert client.get("/login/kode").location == "/login"
    assert "NIP dan NIK (16 digit) sebagai kata sandi awal" in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("url", ["/login/kode", "/password/new", "/mfa/setup", "/mfa/setup/akun",
                                 "/mfa/setup/kode", "/login/otp", "/login/kode-pemulihan"])
def test_every_step_url_shows_the_step_the_sign_in_is_at(client, employee, url):
    to_password_step(client)
    change_password(client)  # now at the MFA enrollment
    response = client.get(url)
    if url.startswith("/mfa/setup"):
        assert response.status_code == 200
    else:
        assert response.status_code == 303 and response.location == "/mfa/setup"
    # A stale tab posting an earlier step is sent forward too, and changes nothing.
    assert change_password(client, "Lain!Sandi2027").location == "/mfa/setup"


def test_back_after_signing_in_goes_to_the_codes_or_the_dashboard(client, employee, clock):
    first_login(client)
    for url in ("/mfa/setup", "/mfa/setup/kode", "/password/new", "/login/kode"):
        assert client.get(url).location == "/mfa/kode-pemulihan"  # the codes are not saved yet
    assert client.post("/mfa/kode-pemulihan/selesai").location == "/dashboard"
    assert "Akun Anda siap" in client.get("/dashboard").get_data(as_text=True)
    response = client.get("/mfa/setup")
    assert response.location == "/dashboard"
    assert "habis" not in client.get("/dashboard").get_data(as_text=True)


def test_cancel_ends_the_pending_sign_in_and_says_what_next(client, employee):
    to_password_step(client)
    change_password(client)
    assert client.post("/login/batal").location == "/login"
    assert client.get("/mfa/setup").location == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "Proses masuk dibatalkan" in page and "kata sandi yang baru Anda buat" in page
    assert "login.cancelled" in audit_events()


def test_recovery_code_has_its_own_form(client, enrolled, clock):
    with models.db.connection_context():
        account = models.Account.get()
        codes = models.RecoveryCode.generate(account, Settings("test-secret-key"))
    login(client, NIP, PASSWORD)
    otp_page = client.get("/login/otp").get_data(as_text=True)
    assert 'inputmode="numeric"' in otp_page and 'pattern="[0-9 ]*"' in otp_page
    assert 'href="/login/kode-pemulihan"' in otp_page
    assert 'name="recovery_code"' in client.get("/login/kode-pemulihan").get_data(as_text=True)
    wrong = client.post("/login/kode-pemulihan", data={"recovery_code": "abcde-abcde"})
    assert wrong.status_code == 422 and 'id="recovery_code-error"' in wrong.get_data(as_text=True)
    assert client.post("/login/kode-pemulihan", data={"recovery_code": codes[0]}).location == "/dashboard"


def test_anonymous_redirected_to_login_with_next(client, enrolled):
    response = client.get("/dashboard")
    assert response.location == "/login?next=/dashboard"
    page = client.get(response.location).get_data(as_text=True)
    assert '<input type="hidden" name="next" value="/dashboard">' in page
    client.post("/login", data={"nip": NIP, "password": PASSWORD, "next": "//evil.example"})
    assert client.post("/login/otp", data={"otp": code(enrolled)}).location == "/dashboard"


def test_forced_password_change_lists_every_unmet_rule(client, employee):
    to_password_step(client)
    response = change_password(client, "abc", "abd")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    items = re.findall(r'<li><a href="#(\w+)">([^<]+)</a></li>',
                       page.split('id="password-problems"')[1].split("</ul>")[0])
    assert len(items) == 5
    assert ("confirm_password", "Konfirmasi kata sandi tidak sama.") in items
    assert ("new_password", "Minimal 8 karakter.") in items
    assert 'aria-describedby="new_password-error password-rules"' in page and 'aria-invalid="true"' in page
    items = [text for _, text in items]
    assert "Minimal 8 karakter." in items and "Konfirmasi kata sandi tidak sama." in items


@pytest.mark.parametrize("password, rule", [
    ("Password1!", "terlalu umum"), (f"Aa!{NIP}", "NIP"), (f"Aa!{NIK}", "NIK"),
    ("Aa!01011990", "tanggal lahir")])
def test_forced_password_change_personal_and_common(client, employee, password, rule):
    to_password_step(client)
    assert rule in change_password(client, password).get_data(as_text=True)


def test_logout_is_post_and_ends_the_server_session(client, enrolled):
    login(client, NIP, PASSWORD)
    client.post("/login/otp", data={"otp": code(enrolled)})
    assert client.get("/logout").status_code == 405
    cookie = client.get_cookie("session").value
    response = client.post("/logout")
    assert response.location == "/login"
    with models.db.connection_context():
        assert not models.SessionRecord.select().exists()
    # A copy of the old cookie no longer works.
    client.set_cookie("session", cookie)
    assert client.get("/dashboard").status_code == 302


def test_session_cookie_flags(client, employee):
    response = login(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = client.post("/login", data={"nip": NIP, "password": NIK}, base_url="https://localhost")
    assert "Secure" in secure.headers["Set-Cookie"]


def test_session_is_new_after_second_factor(client, enrolled):
    login(client, NIP, PASSWORD)
    before = client.get_cookie("session").value
    client.post("/login/otp", data={"otp": code(enrolled)})
    assert client.get_cookie("session").value != before
    with models.db.connection_context():
        assert models.SessionRecord.select().count() == 1


def test_csrf_required(make_app, employee):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    response = client.post("/login", data={"nip": NIP, "password": NIK})
    assert response.status_code == 400 and "kedaluwarsa atau tidak sah" in response.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"nip": NIP, "password": NIK, "csrf_token": token})
    assert response.location == "/login/kode"


def _form_token(client, path="/login"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


@pytest.mark.parametrize("time_limit", [None, 60])
def test_form_tokens_follow_the_csrf_time_limit(make_app, employee, monkeypatch, time_limit):
    """Without a time limit a session's form token is signed once and stays valid; with
    ASN_WTF_CSRF_TIME_LIMIT, every page signs it anew and one older than the limit is refused."""
    from itsdangerous import TimestampSigner

    started = int(time.time())
    shift = {"seconds": 0}
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: started + shift["seconds"])
    client = make_app(WTF_CSRF_ENABLED=True, WTF_CSRF_TIME_LIMIT=time_limit).test_client()
    first = _form_token(client)
    shift["seconds"] = 120
    later = _form_token(client)
    shift["seconds"] = 240
    assert (_form_token(client) == later) is (time_limit is None)
    if time_limit is None:  # the token the portal signed itself, four minutes on
        response = client.post("/login", data={"nip": NIP, "password": NIK, "csrf_token": later})
        assert response.location == "/login/kode"
    else:
        response = client.post("/login", data={"nip": NIP, "password": NIK, "csrf_token": first})
        assert response.status_code == 400 and "kedaluwarsa" in response.get_data(as_text=True)
        response = client.post("/login", data={"nip": NIP, "password": NIK, "csrf_token": _form_token(client)})
        assert response.location == "/login/kode"


def test_rate_limit_per_ip(make_app, employee):
    client = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3/minute").test_client()
    statuses = [login(client, NIP, "Salah!123").status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    assert "Terlalu banyak" in login(client).get_data(as_text=True)


def test_default_rate_limit_allows_an_office_behind_one_address(app):
    limit = app.config["LOGIN_RATE_LIMIT"]
    assert int(limit.split("/")[0]) >= 30 and limit.endswith("minute")


def test_otp_rate_limited_per_sign_in_and_address(make_app, clock):
    app = make_app(RATELIMIT_ENABLED=True, CODE_RATE_LIMIT="2/hour", MAX_FAILED_LOGINS=50)
    with models.db.connection_context():
        make_employee()
    first_login(app.test_client())
    browser = app.test_client()
    login(browser, NIP, PASSWORD)
    assert [browser.post("/login/otp", data={"otp": "000000"}).status_code for _ in range(3)] == [422, 422, 429]
    # Another browser on another address signing in to the same account has tries of its own.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    login(other, NIP, PASSWORD)
    assert other.post("/login/otp", data={"otp": "000000"}).status_code == 422


def test_hash_with_old_parameters_is_replaced_at_the_next_login(client, enrolled, app):
    old_cost = (2, 128, 2)
    with models.db.connection_context():
        account = models.Account.get()
        account.set_password(PASSWORD, Settings("k", old_cost))
    assert login(client, NIP, PASSWORD).location == "/login/otp"
    with models.db.connection_context():
        stored = models.Account.get().password_hash
    assert stored.startswith("$argon2id$v=19$m=64,t=1,p=1$")  # the configured (test) cost
    assert security.verify_password(stored, PASSWORD, app.config["ARGON2_COST"])


def test_hash_is_not_replaced_after_a_wrong_password_or_when_current(client, enrolled, app):
    with models.db.connection_context():
        account = models.Account.get()
        account.set_password(PASSWORD, Settings("k", (2, 128, 2)))
        old = models.Account.get().password_hash
    login(client, NIP, PASSWORD + "x")
    with models.db.connection_context():
        assert models.Account.get().password_hash == old
        account = models.Account.get()
        assert account.upgrade_password_hash(PASSWORD, app.extensions["settings"])
        current = account.password_hash
        assert not account.upgrade_password_hash(PASSWORD, app.extensions["settings"])
        assert models.Account.get().password_hash == current


@pytest.mark.parametrize("nip, password", [("199202022020011002", "Tebak!Saja2026"),  # unknown NIP
                                           (NIP, "Tebak!Saja2026"),  # no password yet, wrong NIK
                                           (NIP, NIK)])  # first sign-in with the NIK
def test_a_password_step_without_a_password_costs_one_hash(client, employee, monkeypatch, nip, password):
    hashes = []
    real = security._hasher

    class Counting:
        def __init__(self, hasher):
            self.hasher = hasher

        def verify(self, stored, typed):
            hashes.append("verify")
            return self.hasher.verify(stored, typed)

        def hash(self, typed):
            hashes.append("hash")
            return self.hasher.hash(typed)

    monkeypatch.setattr(security, "_hasher", lambda *cost: Counting(real(*cost)))
    assert login(client, nip, password).status_code in (303, 422)
    assert hashes == ["verify"]


# --------------------------------------------------------------------------- the code and the new password on one page


def code_token(nip=NIP):
    with models.db.connection_context():
        return models.Token.newest(models.Employee.by_nip(nip), "first_login")


def test_code_and_new_password_on_one_page(app, client, employee, clock):
    login(client)
    page = client.get("/login/kode").get_data(as_text=True)
    code_form = re.search(r'<form id="code-form".*?</form>', page, re.S).group(0)
    assert 'name="code"' in code_form and 'name="new_password"' in code_form and 'name="confirm_password"' in code_form
    assert 'autocomplete="new-password"' in code_form and 'id="password-rules"' in code_form
    response = prove_and_set_password(client)
    assert response.status_code == 303 and response.location == "/mfa/setup"
    assert "Kata sandi baru tersimpan." in client.get("/mfa/setup").get_data(as_text=True)
    assert audit_events() == ["login.password_ok", "first_login.verified", "password.changed"]
    with models.db.connection_context():
        account = models.Account.for_employee(models.Employee.by_nip(NIP))
        assert account.check_password(PASSWORD, app.extensions["settings"]) and not account.must_change_password
        notices = [m.subject for m in models.Message.select().where(models.Message.nip == NIP)]
    assert "Kata sandi pertama akun Portal ASN Digital dibuat" in notices
    assert client.get("/login/kode").location == "/mfa/setup" and client.get("/password/new").location == "/mfa/setup"
    enroll(client)
    assert audit_events()[-2:] == ["mfa.enrolled", "login.ok"]


def test_wrong_code_with_a_new_password_spends_a_try_and_shows_nothing_secret(client, employee):
    login(client)
    wrong = "000000" if last_code() != "000000" else "111111"
    response = prove_and_set_password(client, typed_code=wrong)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Kode salah. Sisa percobaan: 4." in page
    assert 'href="#code"' in page and 'id="code-error"' in page
    assert PASSWORD not in page and wrong not in page
    assert code_token().attempts == 1
    with models.db.connection_context():
        assert models.Account.for_employee(models.Employee.by_nip(NIP)).password_hash is None
    assert "password.changed" not in audit_events()
    assert prove_and_set_password(client).location == "/mfa/setup"


def test_password_rule_mistake_spends_none_of_the_codes_tries(client, employee):
    login(client)
    for new, confirm in (("abc", "abc"), (PASSWORD, "Kopi!Pagi2027"), (NIK + "!Aa", NIK + "!Aa")):
        response = prove_and_set_password(client, new=new, confirm=confirm)
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and 'id="password-problems"' in page
        assert 'aria-invalid="true"' in page and "Kode salah" not in page
        assert new not in page.replace("#new_password", "")
    assert code_token().attempts == 0 and code_token().used_at is None
    assert "first_login.verified" not in audit_events() and "first_login.code_failed" not in audit_events()
    htmx = client.post("/login/kode", data={"code": "", "new_password": "abc",
                                            "confirm_password": "abc"}, headers={"HX-Request": "true"})
    body = htmx.get_data(as_text=True)
    assert htmx.status_code == 422 and body.count('id="code-step"') == 1 and "<title>Kesalahan: " in body
    # Every mistake at once: the empty code too, in the same summary, and still no try spent.
    assert body.count('class="alert error error-summary"') == 1 and 'href="#code"' in body
    assert 'id="code-error"' in body and 'href="#new_password"' in body
    assert code_token().attempts == 0
    assert prove_and_set_password(client).location == "/mfa/setup"


def test_a_code_posted_without_the_password_fields_goes_on_to_the_password_page(client, employee):
    """A code page loaded before the upgrade has no password fields: its POST works as before."""
    login(client)
    assert prove_first_login(client).location == "/password/new"
    assert audit_events() == ["login.password_ok", "first_login.verified"]
    assert change_password(client).location == "/mfa/setup"


@pytest.mark.parametrize("known_browser", [False, True])
def test_password_step_reads_the_account_once_and_writes_three_single_statements(app, client, enrolled,
                                                                                 monkeypatch, known_browser):
    """The step every sign-in takes: one query for the account and its employee; then
    three writes, each its own short transaction (autocommit), none holding the write
    lock while Python runs: the check reserved (before the hash), given back, and the
    decision in the audit trail."""
    browser = client if known_browser else app.test_client()
    statements = run_statements(monkeypatch)
    assert login(browser, NIP, PASSWORD).location == "/login/otp"
    reads = [s for s in statements if s.startswith("SELECT")]
    writes = [s.split('"')[0] + s.split('"')[1] for s in statements if not s.startswith("SELECT")]
    counter = "trusteddevice" if known_browser else "account"
    assert writes == [f"UPDATE {counter}", f"UPDATE {counter}", "INSERT INTO auditevent"]
    assert sum('FROM "account"' in s or 'FROM "employee"' in s for s in reads) == 1
    assert sum('FROM "trusteddevice"' in s for s in reads) == known_browser
