"""Registration, forgotten password and recovery codes, with mail delivered to a real
SMTP server on loopback and the codes and links read back from the messages."""

import re
from urllib.parse import urlparse

import pytest

import models
from tests import mailserver
from tests.helpers import NIK, NIP, PASSWORD, code, first_login, login, make_employee
from views import account as account_views

EMAIL = "budi.baru@example.go.id"
PHONE = "081298765432"
OTHER = "Teh!Sore2027"


@pytest.fixture
def smtp_app(make_app):
    controller, inbox = mailserver.start()
    # Links use the configured address; the test client itself talks to localhost.
    app = make_app(MAIL_URL=f"smtp://127.0.0.1:{controller.port}", BASE_URL="http://portal.test",
                   TRUSTED_HOSTS=["localhost"])
    with models.db.connection_context():
        make_employee()
    yield app, inbox
    controller.stop()


def register(client, nip=NIP, nik=NIK, email=EMAIL, telepon=PHONE):
    return client.post("/daftar", data={"nip": nip, "nik": nik, "email": email, "telepon": telepon})


def path(link):
    return urlparse(link).path


def messages(**where):
    with models.db.connection_context():
        query = models.Message.select().order_by(models.Message.id)
        for key, value in where.items():
            query = query.where(getattr(models.Message, key) == value)
        return list(query)


# --------------------------------------------------------------------------- registration


RECORD_EMAIL, RECORD_PHONE = "budi@example.go.id", "081234567890"  # the contact on record


def activation_mail(inbox):
    return inbox.wait_for_subject(RECORD_EMAIL, "Aktivasi akun")


def test_registration_end_to_end_with_real_mail(smtp_app, clock):
    app, inbox = smtp_app
    client = app.test_client()
    assert register(client, email=RECORD_EMAIL).location == "/daftar/verifikasi"
    mail = inbox.wait_for(RECORD_EMAIL)
    assert mail["Subject"] == "Kode verifikasi pendaftaran Portal ASN Digital"
    assert mailserver.html_of(mail).startswith("<!doctype html>")
    verification = mailserver.code_in(mail)
    sms = messages(channel="sms")
    assert sms[0].recipient == RECORD_PHONE and verification in sms[0].body and sms[0].status == "outbox"

    assert client.post("/daftar/verifikasi", data={"code": verification}).location == "/daftar/kata-sandi"
    done = client.post("/daftar/kata-sandi", data={"new_password": PASSWORD, "confirm_password": PASSWORD})
    assert done.location == "/daftar/selesai"
    assert "tautan aktivasi ke email yang tercatat, <strong>b•••@example.go.id</strong>" in \
        client.get(done.location).get_data(as_text=True)
    link = mailserver.link_in(activation_mail(inbox))
    assert link.startswith("http://portal.test/aktivasi/")
    for message in inbox.messages:
        assert PASSWORD not in mailserver.text_of(message)

    # Before activation the password is refused with a clear message.
    refused = login(client, NIP, PASSWORD)
    assert refused.status_code == 403 and "belum diaktifkan" in refused.get_data(as_text=True)
    # Opening the link (as a mail scanner does) spends nothing: a button confirms.
    for _ in range(2):
        page = client.get(path(link))
        assert page.status_code == 200 and "Aktifkan akun" in page.get_data(as_text=True)
    assert client.post(path(link)).location == "/login"
    assert client.post(path(link)).status_code == 400  # one use
    # First login goes straight to MFA enrollment, not to a password change.
    assert login(client, NIP, PASSWORD).location == "/mfa/setup"


def test_registration_never_sends_to_or_stores_the_typed_contact(smtp_app, clock):
    """NIP and NIK are public: someone who knows them types their own e-mail and phone."""
    app, inbox = smtp_app
    client = app.test_client()
    assert register(client, email="penyerang@example.com", telepon="081399990000").location == \
        "/daftar/verifikasi"
    page = client.get("/daftar/verifikasi").get_data(as_text=True)
    assert "b•••@example.go.id" in page and "penyerang" not in page
    inbox.wait_for(RECORD_EMAIL)  # the code goes to the owner's address on record
    assert all(m["To"] == RECORD_EMAIL for m in inbox.messages)
    assert {m.recipient for m in messages()} == {RECORD_EMAIL, RECORD_PHONE}
    with models.db.connection_context():
        employee = models.Employee.by_nip(NIP)
        assert (employee.email, employee.telepon) == (RECORD_EMAIL, RECORD_PHONE)


def test_registration_without_contact_on_record_waits_for_the_helpdesk(client, clock):
    with models.db.connection_context():
        make_employee(email="", telepon="")
    response = register(client)
    assert response.location == "/daftar/menunggu"
    assert "KTP" in client.get("/daftar/menunggu").get_data(as_text=True)
    assert not messages()
    with models.db.connection_context():
        assert models.RegistrationRequest.get().email == EMAIL
        assert models.Employee.by_nip(NIP).email == ""  # nothing stored before the identity check


def test_activation_link_expires_after_a_day(smtp_app, clock):
    app, inbox = smtp_app
    client = app.test_client()
    register(client, email=RECORD_EMAIL)
    client.post("/daftar/verifikasi", data={"code": mailserver.code_in(inbox.wait_for(RECORD_EMAIL))})
    client.post("/daftar/kata-sandi", data={"new_password": PASSWORD, "confirm_password": PASSWORD})
    link = mailserver.link_in(activation_mail(inbox))
    clock.advance(hours=24, seconds=1)
    assert client.get(path(link)).status_code == 400
    assert client.post(path(link)).status_code == 400


@pytest.mark.parametrize("status", ["pensiun", "cltn"])
def test_registration_refuses_inactive_employee(make_app, status):
    app = make_app()
    with models.db.connection_context():
        make_employee(status=status)
    response = register(app.test_client())
    assert response.status_code == 403 and "Status kepegawaian tidak aktif" in response.get_data(as_text=True)


def test_registration_error_cases(client, employee):
    not_found = register(client, nip="198507152010012002")
    assert not_found.status_code == 422 and "NIP tidak ditemukan" in not_found.get_data(as_text=True)
    mismatch = register(client, nik="3273010101900002")
    assert mismatch.status_code == 422 and "NIP dan NIK tidak cocok" in mismatch.get_data(as_text=True)
    bad = register(client, nip="123", nik="12", email="bukan-email", telepon="12345")
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    for text in ("18 digit", "NIK terdiri dari 16 digit", "Alamat email tidak valid", "Nomor ponsel tidak valid"):
        assert text in page
    assert not messages()


def test_registration_when_already_registered(client, employee, clock):
    first_login(client)
    client.post("/logout")
    response = register(client)
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "sudah terdaftar" in page
    assert 'href="/login"' in page and 'href="/lupa-kata-sandi"' in page


def test_code_expires_after_ten_minutes(client, employee, clock):
    register(client)
    verification = re.search(r"\d{6}", messages(channel="email")[0].body).group(0)
    clock.advance(minutes=10, seconds=1)
    response = client.post("/daftar/verifikasi", data={"code": verification})
    assert response.status_code == 422 and "kedaluwarsa" in response.get_data(as_text=True)


def test_code_try_limit(client, employee, clock):
    register(client)
    verification = re.search(r"\d{6}", messages(channel="email")[0].body).group(0)
    wrong = "000000" if verification != "000000" else "111111"
    for left in (4, 3, 2, 1):
        page = client.post("/daftar/verifikasi", data={"code": wrong}).get_data(as_text=True)
        assert f"Sisa percobaan: {left}" in page
    client.post("/daftar/verifikasi", data={"code": wrong})
    response = client.post("/daftar/verifikasi", data={"code": verification})
    assert response.status_code == 422 and "salah terlalu banyak" in response.get_data(as_text=True)
    # A new code starts afresh, and the old one is dead.
    client.post("/daftar/kirim-ulang")
    fresh = re.search(r"\d{6}", messages(channel="email")[-1].body).group(0)
    assert client.post("/daftar/verifikasi", data={"code": fresh}).location == "/daftar/kata-sandi"


def test_resend_limited_once_a_minute(make_app, clock):
    app = make_app(RATELIMIT_ENABLED=True)
    with models.db.connection_context():
        make_employee()
    client = app.test_client()
    register(client)
    assert client.post("/daftar/kirim-ulang").status_code == 200
    limited = client.post("/daftar/kirim-ulang")
    assert limited.status_code == 429 and "Terlalu banyak" in limited.get_data(as_text=True)
    assert len(messages(channel="email")) == 2


def test_skipping_verification_is_impossible(client, employee):
    register(client)
    response = client.post("/daftar/kata-sandi",
                           data={"new_password": PASSWORD, "confirm_password": PASSWORD})
    assert response.location == "/daftar"
    with models.db.connection_context():
        assert not models.Account.select().exists()


# --------------------------------------------------------------------------- forgotten password


def forgot(client, nip=NIP, email="budi@example.go.id"):
    return client.post("/lupa-kata-sandi", data={"nip": nip, "email": email})


def test_forgot_password_answer_is_the_same_either_way(client, employee):
    matching = forgot(client)
    wrong_email = forgot(client, email="orang.lain@example.go.id")
    unknown_nip = forgot(client, nip="198507152010012002")
    assert matching.status_code == wrong_email.status_code == unknown_nip.status_code == 200
    bodies = [re.sub(rb'name="csrf_token" value="[^"]+"', b"", r.data) for r in (matching, wrong_email, unknown_nip)]
    assert bodies[0] == bodies[1] == bodies[2]  # the same answer, but for the form's own token
    assert "Jika NIP dan email cocok" in matching.get_data(as_text=True)
    assert [m.recipient for m in messages()] == ["budi@example.go.id"]


def test_forgot_password_takes_the_same_time_either_way(make_app):
    import time

    app = make_app(FORGOT_MIN_SECONDS=0.3)
    with models.db.connection_context():
        make_employee()
    client = app.test_client()
    durations = {"budi@example.go.id": [], "orang.lain@example.go.id": []}
    for email in list(durations) * 3:
        started = time.monotonic()
        assert forgot(client, email=email).status_code == 200
        durations[email].append(time.monotonic() - started)
    # The fastest of each kind: a busy machine may slow any one request, never all of them.
    fastest = [min(times) for times in durations.values()]
    assert min(fastest) >= 0.3 and max(fastest) - min(fastest) < 0.1, durations
    assert len(messages()) == 3  # the matching requests did send


def test_waiting_forgotten_password_answers_cannot_take_every_worker(make_app):
    """Each answer waits FORGOT_MIN_SECONDS in a server worker: many at once would leave
    none for signing in. Only a few wait at once; the rest are told at once to try again,
    whatever the data (so the refusal says nothing about them)."""
    import threading
    import time

    app = make_app(FORGOT_MIN_SECONDS=2.0)  # long enough that a slow machine can't blur the two kinds
    with models.db.connection_context():
        make_employee()
    start, answers = threading.Barrier(6), []

    def ask(email):
        client = app.test_client()
        start.wait()
        started = time.monotonic()
        response = forgot(client, email=email)
        answers.append((response.status_code, time.monotonic() - started, response.get_data(as_text=True)))

    threads = [threading.Thread(target=ask, args=(email,))
               for email in ["budi@example.go.id", "orang.lain@example.go.id"] * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    waited = [duration for status, duration, _ in answers if status == 200]
    refused = [(duration, body) for status, duration, body in answers if status == 429]
    assert len(waited) == account_views.FORGOT_AT_ONCE and min(waited) >= 2.0, answers
    assert len(refused) == 6 - account_views.FORGOT_AT_ONCE
    for duration, body in refused:
        assert duration < 1.0 and "Terlalu banyak permintaan lupa kata sandi" in body
        assert "Jika NIP dan email cocok" not in body
    with models.db.connection_context():
        details = [e.detail for e in models.AuditEvent.select().where(
            models.AuditEvent.event == "password.reset_requested")]
    assert details.count("ditolak: terlalu banyak permintaan bersamaan") == len(refused)
    # Once the waiting answers are out, a new request is answered as usual.
    assert forgot(app.test_client()).status_code == 200


def test_reset_with_real_mail_unlocks_and_still_asks_otp(smtp_app, clock):
    app, inbox = smtp_app
    client = app.test_client()
    secret = first_login(client)
    other_browser = app.test_client()
    login(other_browser, NIP, PASSWORD)
    clock.advance(seconds=30)
    other_browser.post("/login/otp", data={"otp": code(secret)})
    assert other_browser.get("/dashboard").status_code == 200
    client.post("/logout")
    for _ in range(5):
        login(client, NIP, "Salah!123")
    assert login(client, NIP, PASSWORD).status_code == 423

    forgot(client)
    reset_mail = inbox.wait_for_subject("budi@example.go.id", "Buat kata sandi baru")
    link = mailserver.link_in(reset_mail)
    assert NIP in mailserver.text_of(reset_mail)  # the mail says which account
    assert client.get(path(link)).status_code == 200
    weak = client.post(path(link), data={"new_password": "abc", "confirm_password": "abc"})
    assert weak.status_code == 422
    done = client.post(path(link), data={"new_password": OTHER, "confirm_password": OTHER})
    assert done.location == "/login"
    changed = inbox.wait_for_subject("budi@example.go.id", "telah diganti")
    assert "telah diganti" in mailserver.text_of(changed) and OTHER not in mailserver.text_of(changed)
    assert NIP in mailserver.text_of(changed)

    assert other_browser.get("/dashboard").status_code == 302  # every other session ended
    assert login(client, NIP, OTHER).location == "/login/otp"  # unlocked, MFA still asked
    clock.advance(seconds=30)
    assert client.post("/login/otp", data={"otp": code(secret)}).location == "/dashboard"


def test_reset_link_single_use(client, employee):
    forgot(client)
    link = re.search(r"(/reset/\S+)", messages()[0].body).group(1)
    assert client.post(link, data={"new_password": OTHER, "confirm_password": OTHER}).location == "/login"
    again = client.post(link, data={"new_password": "Lain!Sandi99", "confirm_password": "Lain!Sandi99"})
    assert again.status_code == 400 and "Tautan tidak berlaku" in again.get_data(as_text=True)


def test_reset_link_expires_after_thirty_minutes(client, employee, clock):
    forgot(client)
    link = re.search(r"(/reset/\S+)", messages()[0].body).group(1)
    clock.advance(minutes=30, seconds=1)
    assert client.get(link).status_code == 400


def test_reset_link_dies_with_a_later_password_change(client, employee, clock):
    forgot(client)
    link = re.search(r"(/reset/\S+)", messages()[0].body).group(1)
    clock.advance(minutes=1)
    first_login(client)  # the password is changed another way
    assert client.get(link).status_code == 400


def test_new_reset_request_replaces_the_old_link(client, employee):
    forgot(client)
    forgot(client)
    first, second = (re.search(r"(/reset/\S+)", m.body).group(1) for m in messages())
    assert client.get(first).status_code == 400 and client.get(second).status_code == 200


def test_reset_mails_capped_per_employee_whoever_asks(client, employee):
    for i in range(7):  # seven requests from seven addresses
        client.environ_base["REMOTE_ADDR"] = f"10.0.1.{i}"
        assert forgot(client).status_code == 200  # the same answer every time
    assert len([m for m in messages() if "/reset/" in m.body]) == 5


# --------------------------------------------------------------------------- mail delivery


def test_mail_failure_is_retried_never_shown(make_app, clock):
    import mail

    controller, inbox = mailserver.start()
    port = controller.port
    controller.stop()  # nothing listens: sending fails
    app = make_app(MAIL_URL=f"smtp://127.0.0.1:{port}", MAIL_SYNC=True)
    with models.db.connection_context():
        make_employee()
    client = app.test_client()
    assert forgot(client).status_code == 200
    [message] = messages()
    assert message.status == "pending" and message.attempts == 1 and message.last_error
    assert mail.deliver_due(app) == 0  # not yet due
    controller, inbox = mailserver.start()
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{controller.port}"
    clock.advance(minutes=3)
    assert mail.deliver_due(app) == 1
    assert "reset" in mailserver.text_of(inbox.wait_for("budi@example.go.id"))
    assert messages()[0].status == "sent"
    controller.stop()


def test_without_mail_server_messages_stay_in_outbox(client, employee):
    forgot(client)
    [message] = messages()
    assert message.status == "outbox" and message.channel == "email" and "/reset/" in message.body
    assert '<a href="http' in message.html


# --------------------------------------------------------------------------- recovery codes


def enroll_and_read_codes(client):
    secret = first_login(client)
    page = client.get("/mfa/kode-pemulihan").get_data(as_text=True)
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", page)
    return secret, codes


def test_ten_recovery_codes_shown_once_after_enrollment(client, employee, clock):
    secret, codes = enroll_and_read_codes(client)
    assert len(set(codes)) == 10
    download = client.get("/mfa/kode-pemulihan.txt")
    assert "attachment" in download.headers["Content-Disposition"]
    assert all(c in download.get_data(as_text=True) for c in codes)
    with models.db.connection_context():
        stored = [r.code_hash for r in models.RecoveryCode.select()]
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert client.post("/mfa/kode-pemulihan/selesai").location == "/dashboard"  # "Akun Anda siap"
    page = client.get("/mfa/kode-pemulihan").get_data(as_text=True)
    assert codes[0] not in page and 'id="recovery-remaining">10<' in page


def test_recovery_code_accepted_once_and_notifies(client, employee, clock):
    secret, codes = enroll_and_read_codes(client)
    client.post("/logout")
    login(client, NIP, PASSWORD)
    assert client.post("/login/otp", data={"otp": codes[3].upper()}).location == "/dashboard"
    assert "Kode pemulihan tersisa: <strong>9</strong>" in client.get("/dashboard").get_data(as_text=True)
    notice = messages()[-1]
    assert notice.subject == "Kode pemulihan akun Anda dipakai" and "Sisa kode pemulihan: 9" in notice.body
    client.post("/logout")
    login(client, NIP, PASSWORD)
    again = client.post("/login/otp", data={"otp": codes[3]})
    assert again.status_code == 422 and "sudah pernah dipakai" in again.get_data(as_text=True)


def test_wrong_recovery_codes_count_toward_lockout(client, employee, clock):
    enroll_and_read_codes(client)
    client.post("/logout")
    login(client, NIP, PASSWORD)
    for _ in range(4):
        assert client.post("/login/otp", data={"otp": "aaaaa-bbbbb"}).status_code == 422
    assert client.post("/login/otp", data={"otp": "aaaaa-bbbbb"}).status_code == 423


def test_regenerate_recovery_codes_needs_the_password(client, employee, clock):
    secret, old = enroll_and_read_codes(client)
    client.post("/mfa/kode-pemulihan/selesai")
    wrong = client.post("/mfa/kode-pemulihan/baru", data={"password": "Salah!123"})
    assert wrong.status_code == 422 and "Kata sandi sekarang salah" in wrong.get_data(as_text=True)
    regenerated = client.post("/mfa/kode-pemulihan/baru", data={"password": PASSWORD})
    assert regenerated.location == "/mfa/kode-pemulihan"
    page = client.get("/mfa/kode-pemulihan").get_data(as_text=True)
    new = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", page)
    assert len(new) == 10 and not set(new) & set(old)
    client.post("/logout")
    login(client, NIP, PASSWORD)
    assert client.post("/login/otp", data={"otp": old[0]}).status_code == 422
    assert client.post("/login/otp", data={"otp": new[0]}).location == "/dashboard"


def test_recovery_pages_need_a_full_login(client, employee):
    login(client)
    assert client.get("/mfa/kode-pemulihan").status_code == 302
    assert client.post("/mfa/kode-pemulihan/baru", data={"password": NIK}).status_code == 302


def test_otp_page_links_to_lost_authenticator_help(client, employee, clock):
    first_login(client)
    client.post("/logout")
    login(client, NIP, PASSWORD)
    page = client.get("/login/otp").get_data(as_text=True)
    assert "Tidak bisa mengakses aplikasi autentikator?" in page
    help_page = client.get("/bantuan/autentikator-hilang").get_data(as_text=True)
    assert "kode pemulihan" in help_page and "KTP" in help_page and "SK pengangkatan" in help_page
