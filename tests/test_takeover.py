"""Nobody takes over an account with public data (NIP, NIK): the contact on record proves
identity at the first sign-in, lockout can't be aimed at the owner, and nothing mailed
is built from what a stranger sent. Each test here failed on the portal before it."""

import os
import re
import stat
import threading
from pathlib import Path

import pytest

import models
import security
from tests import mailserver
from tests.helpers import (
    HELPDESK_NIK,
    HELPDESK_NIP,
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
    prove_first_login,
)

UNKNOWN_NIP = "199202022020122002"


def audit(event):
    with models.db.connection_context():
        return list(models.AuditEvent.select().where(models.AuditEvent.event == event))


def mails(**where):
    with models.db.connection_context():
        query = models.Message.select().order_by(models.Message.id)
        for key, value in where.items():
            query = query.where(getattr(models.Message, key) == value)
        return list(query)


# --------------------------------------------------------------------------- first sign-in proof


def test_nip_and_nik_alone_never_reach_the_password_form(client, employee):
    assert login(client, NIP, NIK).location == "/login/kode"
    for url in ("/password/new", "/mfa/setup"):
        assert client.get(url).location == "/login/kode", url  # the step this sign-in is at
    refused = client.post("/password/new", data={"new_password": PASSWORD, "confirm_password": PASSWORD})
    assert refused.location == "/login/kode"
    with models.db.connection_context():
        assert models.Account.get().password_hash is None
    wrong = client.post("/login/kode", data={"code": "000000" if last_code() != "000000" else "111111"})
    assert wrong.status_code == 422 and "Kode salah. Sisa percobaan: 4." in wrong.get_data(as_text=True)
    assert client.get("/password/new").location == "/login/kode"


def test_first_sign_in_with_the_code_from_the_mailbox_on_record(make_app, clock):
    controller, inbox = mailserver.start()
    try:
        app = make_app(MAIL_URL=f"smtp://127.0.0.1:{controller.port}")
        with models.db.connection_context():
            make_employee()
        client = app.test_client()
        assert login(client, NIP, NIK).location == "/login/kode"
        mail = inbox.wait_for_subject("budi@example.go.id", "Kode verifikasi masuk pertama kali")
        assert "Bukan Anda" in mailserver.text_of(mail)
        assert client.post("/login/kode", data={"code": mailserver.code_in(mail)}).location == "/password/new"
        assert change_password(client).location == "/mfa/setup"
        enroll(client)
        assert client.get("/dashboard").status_code == 200
        notice = inbox.wait_for_subject("budi@example.go.id", "Kata sandi pertama")
        assert "Bukan Anda? Segera hubungi" in mailserver.text_of(notice)
    finally:
        controller.stop()


def test_code_is_single_use_and_has_five_tries(client, employee):
    login(client, NIP, NIK)
    right = last_code()
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        client.post("/login/kode", data={"code": wrong})
    exhausted = client.post("/login/kode", data={"code": right})
    assert exhausted.status_code == 422 and "salah terlalu banyak" in exhausted.get_data(as_text=True)
    assert client.post("/login/kode/kirim-ulang").status_code == 200
    fresh = last_code()
    if fresh != right:  # one chance in a million that the new code is the same digits
        dead = client.post("/login/kode", data={"code": right})
        assert dead.status_code == 422 and "Kode salah" in dead.get_data(as_text=True)
    assert prove_first_login(client).location == "/password/new"


def email_codes():
    return [m for m in mails(nip=NIP, channel="email") if "Kode" in m.subject]


def test_a_sixth_code_within_the_hour_is_refused_whoever_asks_and_sent_an_hour_later(app, client, employee, clock):
    assert login(client, NIP, NIK).location == "/login/kode"  # the first code
    for _ in range(4):
        clock.advance(seconds=61)
        assert client.post("/login/kode/kirim-ulang").status_code == 200
    assert len(email_codes()) == 5
    clock.advance(seconds=61)
    refused = client.post("/login/kode/kirim-ulang")
    assert refused.status_code == 429
    assert "Sudah 5 kode dikirim dalam satu jam terakhir" in refused.get_data(as_text=True)
    other_browser = app.test_client()
    assert login(other_browser, NIP, NIK).location == "/login/kode"  # a new sign-in sends none either
    assert len(email_codes()) == 5
    clock.advance(minutes=56)  # an hour after the first code
    again = app.test_client()
    assert login(again, NIP, NIK).location == "/login/kode"
    assert len(email_codes()) == 6
    assert prove_first_login(again).location == "/password/new"


def test_without_contact_on_record_the_helpdesk_is_the_way(client):
    with models.db.connection_context():
        make_employee(email="", telepon="")
    response = login(client, NIP, NIK)
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and "belum memuat email atau nomor ponsel" in page
    assert "kata sandi sementara" in page and client.get("/password/new").location == "/login"
    assert mails() == []


def test_phone_only_gets_the_code_by_sms(client):
    with models.db.connection_context():
        make_employee(email="")
    login(client, NIP, NIK)
    page = client.get("/login/kode").get_data(as_text=True)
    assert "0812•••••890" in page and "081234567890" not in page
    [sms] = mails(channel="sms")
    assert sms.recipient == "081234567890"
    assert client.post("/login/kode", data={"code": last_code(channel="sms")}).location == "/password/new"


def test_nik_only_policy_is_refused_outside_demo_mode(make_app):
    import settings

    with pytest.raises(settings.SettingsError, match="ASN_ALLOW_NIK_ONLY"):
        make_app(FIRST_LOGIN="nik")
    app = make_app(FIRST_LOGIN="nik", ALLOW_NIK_ONLY=True)
    with models.db.connection_context():
        make_employee()
    assert login(app.test_client(), NIP, NIK).location == "/password/new"


# --------------------------------------------------------------------------- activation letters


def letter_text(pdf: bytes) -> str:
    import zlib

    # Each stream is read by its /Length: compressed bytes may end in "\r" or hold "endstream".
    texts = []
    for match in re.finditer(rb"/Filter /FlateDecode\s*/Length (\d+)\s*>>\s*stream\r?\n", pdf):
        data = pdf[match.end() : match.end() + int(match.group(1))]
        texts.append(zlib.decompress(data).decode("latin-1"))
    return "".join(texts)


def test_activation_letters_replace_the_nik(make_app, tmp_path, clock):
    app = make_app(FIRST_LOGIN="letter")
    with models.db.connection_context():
        make_employee()
        make_employee(nip="199202022020122002", nik="3273014202920002", nama="Sari", unit_kerja="Dinkes")
    out = tmp_path / "surat.pdf"
    result = app.test_cli_runner().invoke(args=["activation-letters", "--unit", "Diskominfo", str(out)])
    assert result.exit_code == 0 and "1 surat aktivasi" in result.output
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]
    text = letter_text(pdf)
    letter_code = re.search(r"\(([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})\)", text).group(1)
    assert "Budi Santoso" in text and NIP in text and "Sari" not in text
    with models.db.connection_context():
        assert letter_code.replace("-", "") not in models.ActivationLetter.get().code_hash  # kept hashed
    client = app.test_client()
    assert login(client, NIP, NIK).status_code == 422  # the NIK is not the first password here
    assert "kode aktivasi pada surat" in login(client, NIP, NIK).get_data(as_text=True)
    assert login(client, NIP, letter_code.lower()).location == "/password/new"
    change_password(client)
    client.post("/logout")
    assert login(app.test_client(), NIP, letter_code).status_code == 422  # single use


def test_letter_expires_after_thirty_days(make_app, clock):
    app = make_app(FIRST_LOGIN="letter")
    with models.db.connection_context():
        employee = make_employee()
        letter_code = models.ActivationLetter.issue(employee, app.extensions["settings"])
    clock.advance(days=30, seconds=1)
    assert login(app.test_client(), NIP, letter_code).status_code == 422


def test_console_prints_letters_for_admins(clock, as_role):

    with models.db.connection_context():
        make_employee(nip="199202022020122002", nik="3273014202920002", nama="Sari", unit_kerja="Dinkes")
    client = as_role("admin")
    page = client.get("/admin/surat-aktivasi").get_data(as_text=True)
    assert 'id="letters-waiting">1<' in page and "Dinkes" in page
    response = client.post("/admin/surat-aktivasi", data={"unit": "Dinkes"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "Sari" in letter_text(response.data)
    assert audit("activation_letters.printed")


# --------------------------------------------------------------------------- registration queue


def test_helpdesk_approves_a_registration_after_the_identity_check(client, clock, as_role):

    with models.db.connection_context():
        make_employee(nip=UNKNOWN_NIP, nik="3273014202920002", nama="Sari", email="", telepon="")
    client.post("/daftar", data={"nip": UNKNOWN_NIP, "nik": "3273014202920002", "email": "sari@example.go.id",
                                 "telepon": "081355550000"})
    operator = as_role("helpdesk", nip=HELPDESK_NIP, nik=HELPDESK_NIK)
    page = operator.get("/admin/pendaftaran").get_data(as_text=True)
    assert "Sari" in page and "sari@example.go.id" in page
    with models.db.connection_context():
        request_id = models.RegistrationRequest.get().id
    refused = operator.post(f"/admin/pendaftaran/{request_id}", data={"keputusan": "setujui", "alasan": "datang"})
    assert refused.status_code == 422 and "Centang cara Anda" in refused.get_data(as_text=True)
    assert operator.post(f"/admin/pendaftaran/{request_id}", data={
        "keputusan": "setujui", "verifikasi": "ktp", "alasan": "datang ke kantor membawa KTP"}).status_code == 303
    with models.db.connection_context():
        assert models.Employee.by_nip(UNKNOWN_NIP).email == "sari@example.go.id"
    [activation] = mails(recipient="sari@example.go.id")
    link = re.search(r"http://localhost(/aktivasi/\S+)", activation.body).group(1)
    assert "Kata sandi baru" in client.get(link).get_data(as_text=True)
    done = client.post(link, data={"new_password": PASSWORD, "confirm_password": PASSWORD})
    assert done.location == "/login"
    assert login(client, UNKNOWN_NIP, PASSWORD).location == "/mfa/setup"
    assert [e.actor_nip for e in audit("registration.approved")] == [HELPDESK_NIP]


# --------------------------------------------------------------------------- lockout nobody can aim


def test_twenty_parallel_wrong_passwords_get_exactly_five_checks(app, employee, monkeypatch):
    checks, lock = [], threading.Lock()
    real_verify = security.verify_password

    def counting_verify(*args, **kwargs):
        with lock:
            checks.append(1)
        return real_verify(*args, **kwargs)

    monkeypatch.setattr(security, "verify_password", counting_verify)
    statuses, start = [], threading.Barrier(20)

    def attempt():
        start.wait()
        statuses.append(login(app.test_client(), NIP, "Salah!123").status_code)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checks) == 5
    assert sorted(statuses) == [422] * 4 + [423] * 16
    with models.db.connection_context():
        assert models.Account.get().lock_minutes_left() == 15


def test_failures_from_other_browsers_never_lock_out_a_known_browser(client, enrolled, clock):
    for _ in range(12):  # a stranger keeps guessing from browsers the account does not know
        login(client.application.test_client(), NIP, "Salah!123")
    assert login(client.application.test_client(), NIP, PASSWORD).status_code == 423
    # The owner's browser, which completed a sign-in before, still gets in.
    assert login(client, NIP, PASSWORD).location == "/login/otp"
    assert client.post("/login/otp", data={"otp": code(enrolled)}).location == "/dashboard"


def test_a_known_browser_locks_only_itself(client, enrolled, clock):
    for _ in range(5):
        login(client, NIP, "Salah!123")
    assert login(client, NIP, PASSWORD).status_code == 423
    other = client.application.test_client()
    assert login(other, NIP, PASSWORD).location == "/login/otp"


def test_device_cookie_is_signed_long_lived_and_http_only(client, employee, clock):
    login(client, NIP, NIK)
    prove_first_login(client)
    change_password(client)
    page = client.get("/mfa/setup/akun").get_data(as_text=True)
    from tests.helpers import secret_from

    response = client.post("/mfa/setup", data={"device_name": "HP", "otp": code(secret_from(page))})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("perangkat="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=31536000" in cookie
    # A forged cookie is just an unknown browser.
    stranger = client.application.test_client()
    stranger.set_cookie("perangkat", cookie.split(";")[0].split("=", 1)[1][:-4] + "AAAA")
    for _ in range(5):
        login(stranger, NIP, "Salah!123")
    assert login(stranger, NIP, PASSWORD).status_code == 423


def page_without(response, nip):
    return re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True)).replace(nip, "NIP")


def test_unknown_and_known_nip_answer_identically(client, employee):
    for attempt in range(6):
        known = login(client.application.test_client(), NIP, "Salah!123")
        unknown = login(client.application.test_client(), UNKNOWN_NIP, "Salah!123")
        assert known.status_code == unknown.status_code == (422 if attempt < 4 else 423), attempt
        assert page_without(known, NIP) == page_without(unknown, UNKNOWN_NIP), attempt


def test_lock_periods_grow(client, employee, clock):
    for minutes in (15, 30, 60):
        for _ in range(5):
            response = login(client, NIP, "Salah!123")
        assert response.status_code == 423 and f"{minutes} menit" in response.get_data(as_text=True)
        clock.advance(minutes=minutes)


def test_reauthentication_uses_the_same_counter_and_respects_the_lock(client, enrolled, clock):
    login(client, NIP, PASSWORD)
    client.post("/login/otp", data={"otp": code(enrolled)})
    for _ in range(5):
        client.post("/mfa/kode-pemulihan/baru", data={"password": "Salah!123"})
    locked = client.post("/mfa/kode-pemulihan/baru", data={"password": PASSWORD})
    assert locked.status_code == 422 and "terkunci" in locked.get_data(as_text=True)
    with models.db.connection_context():
        assert models.TrustedDevice.get().lock_minutes_left() == 15


def test_owner_is_told_of_locks_new_browsers_and_new_authenticators(client, enrolled, clock):
    subjects = lambda: [m.subject for m in mails(recipient="budi@example.go.id")]  # noqa: E731
    assert "Verifikasi dua langkah (MFA) akun Portal ASN Digital diaktifkan" in subjects()
    stranger = client.application.test_client()
    for _ in range(5):
        login(stranger, NIP, "Salah!123")
    assert "Akun Portal ASN Digital Anda terkunci sementara" in subjects()
    laptop = client.application.test_client()
    clock.advance(minutes=16)
    login(laptop, NIP, PASSWORD)
    laptop.post("/login/otp", data={"otp": code(enrolled)})
    assert "Masuk dari perangkat baru ke Portal ASN Digital" in subjects()
    count = subjects().count("Masuk dari perangkat baru ke Portal ASN Digital")
    laptop.post("/logout")
    clock.advance(seconds=30)
    login(laptop, NIP, PASSWORD)
    laptop.post("/login/otp", data={"otp": code(enrolled)})
    assert subjects().count("Masuk dari perangkat baru ke Portal ASN Digital") == count  # known now
    body = mails(subject="Masuk dari perangkat baru ke Portal ASN Digital")[0].body
    assert "Bukan Anda?" in body and NIP in body


# --------------------------------------------------------------------------- rate limits from server state


def test_anonymous_otp_posts_with_a_victims_nip_do_not_block_the_victim(make_app, clock):
    app = make_app(RATELIMIT_ENABLED=True, CODE_RATE_LIMIT="3/hour")
    with models.db.connection_context():
        make_employee()
    victim = app.test_client()
    secret = first_login(victim)
    victim.post("/logout")
    attacker = app.test_client()
    for _ in range(10):
        attacker.post("/login/otp", data={"nip": NIP, "otp": "000000"})
        attacker.post("/login/kode", data={"nip": NIP, "code": "000000"})
    clock.advance(seconds=30)
    login(victim, NIP, PASSWORD)
    assert victim.post("/login/otp", data={"otp": code(secret)}).location == "/dashboard"


# --------------------------------------------------------------------------- links and stored secrets


def test_no_mail_is_built_from_the_host_header(make_app, clock):
    app = make_app(BASE_URL="https://asn.instansi.go.id")
    with models.db.connection_context():
        make_employee()
    evil = app.test_client()
    assert evil.post("/lupa-kata-sandi", data={"nip": NIP, "email": "budi@example.go.id"},
                     base_url="http://evil.example").status_code == 400
    honest = app.test_client()
    honest.post("/lupa-kata-sandi", data={"nip": NIP, "email": "budi@example.go.id"},
                base_url="https://asn.instansi.go.id", headers={"X-Forwarded-Host": "evil.example"})
    sent = mails()
    assert sent and all("evil.example" not in m.body + m.html for m in sent)
    assert "https://asn.instansi.go.id/reset/" in sent[-1].body


def test_base_url_is_required_outside_demo_mode(make_app):
    import settings

    with pytest.raises(settings.SettingsError, match="ASN_BASE_URL wajib diisi"):
        make_app(BASE_URL="")
    assert make_app(BASE_URL="", DEMO=True).config["TRUSTED_HOSTS"] is None


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_nik_is_stored_as_a_keyed_hash(app, employee, tmp_path):
    with models.db.connection_context():
        row = models.db.execute_sql("SELECT * FROM employee").fetchone()
        assert NIK not in " ".join(str(v) for v in row)
        assert models.Employee.get().nik_last4 == "0001"
    if app.config["DATABASE_URL"].startswith("sqlite:///"):
        assert NIK.encode() not in Path(app.config["DATABASE_URL"].removeprefix("sqlite:///")).read_bytes()


def test_database_and_instance_folder_are_private(tmp_path):
    import app as app_module

    folder = tmp_path / "baru"
    app_module.create_app({"TESTING": True, "SECRET_KEY": "k", "BASE_URL": "http://localhost",
                           "DATABASE_URL": f"sqlite:///{folder}/portal.db"})
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(folder / "portal.db").st_mode) == 0o600


def test_links_leave_the_stored_mail_once_sent(make_app, clock):
    controller, inbox = mailserver.start()
    try:
        app = make_app(MAIL_URL=f"smtp://127.0.0.1:{controller.port}", MAIL_SYNC=True)
        with models.db.connection_context():
            make_employee()
        app.test_client().post("/lupa-kata-sandi", data={"nip": NIP, "email": "budi@example.go.id"})
        delivered = inbox.wait_for_subject("budi@example.go.id", "Buat kata sandi baru")
        assert "/reset/" in mailserver.text_of(delivered)
        [stored] = mails()
        assert stored.status == "sent" and "/reset/" not in stored.body + stored.html
        assert "tautan disembunyikan" in stored.body
    finally:
        controller.stop()


# --------------------------------------------------------------------------- small fixes


def test_helpdesk_mfa_reset_ends_the_sessions(client, enrolled, clock, as_role):

    login(client, NIP, PASSWORD)
    client.post("/login/otp", data={"otp": code(enrolled)})
    assert client.get("/dashboard").status_code == 200
    operator = as_role("helpdesk", nip=HELPDESK_NIP, nik=HELPDESK_NIK)
    operator.post(f"/admin/pegawai/{NIP}/reset-mfa", data={"verifikasi": "ktp", "alasan": "ponsel hilang"})
    assert client.get("/dashboard").status_code == 302


def test_nul_byte_in_a_console_filter_is_no_500(clock, as_role):

    client = as_role("admin")
    for url in ("/admin/pegawai?q=19\x0090", "/admin/audit?nip=1\x00"):
        assert client.get(url).status_code < 500, url


def test_csv_export_quotes_every_formula_start(clock, as_role):

    client = as_role("admin")
    with models.db.connection_context():
        for start in ("=", "+", "-", "@", "\t", ";"):
            models.AuditEvent.record("login.failed", nip=NIP, detail=f"{start}CMD()", user_agent=f"{start}x")
    text = client.get(f"/admin/audit.csv?nip={NIP}").get_data(as_text=True)
    for start in ("=", "+", "-", "@", "\t", ";"):
        assert f"'{start}CMD()" in text and f"'{start}x" in text
