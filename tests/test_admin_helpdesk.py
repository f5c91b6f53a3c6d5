"""Helpdesk actions in the console (views/admin.py): the confirmation step, and each
action's effect on the employee's next login, its audit event and its notification."""

import re

import pytest

import models
from tests.helpers import (
    HELPDESK_NIK,
    HELPDESK_NIP,
    NIP,
    PASSWORD,
    change_password,
    code,
    enroll,
    first_login,
    login,
    make_employee,
)

VERIFIED = {"verifikasi": ["ktp", "sk"], "alasan": "lupa kata sandi, datang ke kantor BKPSDM"}


@pytest.fixture
def user(app, clock):
    """Budi, who finished his first login on his own browser and is still signed in
    there, the clock moved to the next TOTP step; returns (his client, his TOTP secret)."""
    with models.db.connection_context():
        make_employee()
    browser = app.test_client()
    secret = first_login(browser)
    clock.advance(seconds=30)
    return browser, secret


def act(client, slug, nip=NIP, **form):
    return client.post(f"/admin/pegawai/{nip}/{slug}", data={**VERIFIED, **form})


def account(nip=NIP):
    with models.db.connection_context():
        return models.Account.get(models.Account.employee == models.Employee.by_nip(nip))


def last_event(event):
    with models.db.connection_context():
        return models.AuditEvent.select().where(models.AuditEvent.event == event).order_by(
            models.AuditEvent.id.desc()).get()


def outbox(nip=NIP):
    """What the helpdesk's actions sent about `nip` (sign-in codes and notices left out)."""
    with models.db.connection_context():
        return [m for m in models.Message.select().where(models.Message.nip == nip).order_by(models.Message.id)
                if "oleh helpdesk" in m.subject + m.body]


def lock_out(app):
    """Five wrong passwords for Budi, typed by someone somewhere."""
    for _ in range(5):
        response = login(app.test_client(), NIP, "Salah!123")
    assert response.status_code == 423


def assert_audited_and_notified(event, subject_words):
    record = last_event(event)
    assert record.nip == NIP and record.actor_nip == HELPDESK_NIP
    assert "verifikasi: KTP, SK pengangkatan" in record.detail
    assert "alasan: lupa kata sandi, datang ke kantor BKPSDM" in record.detail
    messages = [m for m in outbox() if m.recipient == "budi@example.go.id"]
    assert len(messages) == 1
    message = messages[0]
    assert message.status == "outbox" and message.channel == "email" and message.nip == NIP
    assert subject_words in message.subject
    assert "Jika Anda tidak meminta tindakan ini" in message.body
    return message


# --------------------------------------------------------------------------- confirmation step


@pytest.mark.parametrize("slug, title", [("buka-kunci", "Buka kunci akun"),
                                         ("kata-sandi-sementara", "Beri kata sandi sementara"),
                                         ("reset-mfa", "Atur ulang MFA"), ("akhiri-sesi", "Akhiri semua sesi")])
def test_confirmation_asks_how_identity_was_verified(as_role, user, clock, slug, title):
    helpdesk = as_role("helpdesk", nip=HELPDESK_NIP, nik=HELPDESK_NIK)
    if slug == "buka-kunci":
        lock_out(helpdesk.application)
    page = helpdesk.get(f"/admin/pegawai/{NIP}/{slug}").get_data(as_text=True)
    assert f"<h1>{title}</h1>" in page and "Budi Santoso" in page
    for value, label in [("ktp", "KTP"), ("sk", "SK pengangkatan"), ("lainnya", "Bukti identitas lain")]:
        assert f'name="verifikasi" value="{value}"' in page and label in page
    assert 'name="alasan"' in page and 'name="csrf_token"' in page
    assert f'method="post" action="/admin/pegawai/{NIP}/{slug}"' in page


def test_action_without_verification_or_reason_is_refused(as_role, user, clock):
    helpdesk = as_role("helpdesk", nip=HELPDESK_NIP, nik=HELPDESK_NIK)
    lock_out(helpdesk.application)
    url = f"/admin/pegawai/{NIP}/buka-kunci"
    response = helpdesk.post(url, data={"verifikasi": "ktp-palsu", "alasan": " a "})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="verifikasi-error"' in page and "Centang cara Anda memastikan" in page
    assert 'id="alasan-error"' in page and 'aria-invalid="true"' in page
    assert account().lock_minutes_left() > 0
    assert outbox() == []
    response = helpdesk.post(url, data={"verifikasi": "lainnya", "alasan": "x" * 201})
    assert response.status_code == 422 and "paling banyak 200" in response.get_data(as_text=True)
    assert 'value="lainnya" checked' in response.get_data(as_text=True)


def test_action_that_would_change_nothing(as_role, user):
    helpdesk = as_role("helpdesk", nip=HELPDESK_NIP, nik=HELPDESK_NIK)
    page = helpdesk.get(f"/admin/pegawai/{NIP}/buka-kunci").get_data(as_text=True)
    assert "tidak sedang terkunci" in page and 'name="alasan"' not in page
    response = act(helpdesk, "buka-kunci")
    assert response.status_code == 303
    assert "tidak sedang terkunci" in helpdesk.get(response.location).get_data(as_text=True)
    assert outbox() == []
    with models.db.connection_context():
        assert not models.AuditEvent.select().where(models.AuditEvent.event == "account.unlocked").exists()


# --------------------------------------------------------------------------- the four actions


def test_unlock_lets_the_employee_sign_in(as_role, user, clock):
    helpdesk = as_role("helpdesk", nip=HELPDESK_NIP, nik=HELPDESK_NIK)
    _, secret = user
    browser = helpdesk.application.test_client()  # a browser the account does not know yet
    lock_out(helpdesk.application)
    assert login(browser, NIP, PASSWORD).status_code == 423
    page = helpdesk.get(f"/admin/pegawai/{NIP}").get_data(as_text=True)
    assert f'href="/admin/pegawai/{NIP}/buka-kunci"' in page

    response = act(helpdesk, "buka-kunci")
    assert response.status_code == 303 and response.location == f"/admin/pegawai/{NIP}"
    assert "Kunci akun dibuka" in helpdesk.get(response.location).get_data(as_text=True)

    assert login(browser, NIP, PASSWORD).location == "/login/otp"
    assert browser.post("/login/otp", data={"otp": code(secret)}).location == "/dashboard"
    assert_audited_and_notified("account.unlocked", "dibuka kuncinya oleh helpdesk")


def test_temporary_password_forces_a_change_at_next_login(as_role, user, clock):
    helpdesk = as_role("helpdesk", nip=HELPDESK_NIP, nik=HELPDESK_NIK)
    browser, secret = user
    response = act(helpdesk, "kata-sandi-sementara")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    password = re.search(r'<code id="temporary-password">([A-Z2-9-]+)</code>', page).group(1)
    assert re.fullmatch(r"[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}", password)
    assert "24-11-2026 09:00 WIB" in page  # valid 24 hours (now 09:00 WIB)

    # Every browser of the employee is signed out; the old password stops working.
    assert browser.get("/dashboard").status_code == 302
    assert login(browser, NIP, PASSWORD).status_code == 422
    # The temporary one leads to the forced change, then to the OTP step as usual.
    assert login(browser, NIP, password).location == "/password/new"
    assert "perlu diganti" in browser.get("/password/new").get_data(as_text=True)
    assert change_password(browser, password).status_code == 422  # not the same one again
    assert change_password(browser, "Teh!Sore2027").location == "/login/otp"
    assert browser.post("/login/otp", data={"otp": code(secret)}).location == "/dashboard"
    assert not account().has_temporary_password

    message = assert_audited_and_notified("password.reset", "Kata sandi Portal ASN Digital Anda diatur ulang")
    assert "kata sandi sementara" in message.body and "24 jam" in message.body
    with models.db.connection_context():
        stored = [m.body + m.html + m.subject for m in models.Message.select()]
        stored += [e.detail for e in models.AuditEvent.select()]
    assert not any(password in text for text in stored)


def test_temporary_password_expires_after_24_hours(as_role, user, clock):
    helpdesk = as_role("helpdesk", nip=HELPDESK_NIP, nik=HELPDESK_NIK)
    page = act(helpdesk, "kata-sandi-sementara").get_data(as_text=True)
    password = re.search(r'<code id="temporary-password">([^<]+)</code>', page).group(1)
    clock.advance(hours=23, minutes=59)
    browser = helpdesk.application.test_client()
    assert login(browser, NIP, password).location == "/password/new"
    clock.advance(minutes=1)
    response = login(browser, NIP, password)
    assert response.status_code == 403
    assert "sudah tidak berlaku" in response.get_data(as_text=True)
    assert last_event("login.failed").detail == "kata sandi sementara kedaluwarsa"
    assert account().failed_count == 0


def test_temporary_password_also_unlocks(as_role, user, clock):
    helpdesk = as_role("helpdesk", nip=HELPDESK_NIP, nik=HELPDESK_NIK)
    lock_out(helpdesk.application)
    page = act(helpdesk, "kata-sandi-sementara").get_data(as_text=True)
    password = re.search(r'<code id="temporary-password">([^<]+)</code>', page).group(1)
    assert login(helpdesk.application.test_client(), NIP, password).location == "/password/new"


def test_temporary_password_for_an_employee_who_never_signed_in(clock, as_role):
    with models.db.connection_context():
        make_employee(nip=HELPDESK_NIP, nik=HELPDESK_NIK, nama="Belum Masuk", email="", telepon="")
    client = as_role("admin")
    page = act(client, "kata-sandi-sementara", nip=HELPDESK_NIP).get_data(as_text=True)
    password = re.search(r'<code id="temporary-password">([^<]+)</code>', page).group(1)
    browser = client.application.test_client()
    assert login(browser, HELPDESK_NIP, HELPDESK_NIK).status_code == 422
    assert login(browser, HELPDESK_NIP, password).location == "/password/new"
    # Neither e-mail nor phone: nothing sent, and the log says so.
    assert outbox(HELPDESK_NIP) == []
    assert "tanpa pemberitahuan" in last_event("password.reset").detail


def test_reset_mfa_sends_the_next_login_to_enrollment(as_role, user, clock):
    helpdesk = as_role("helpdesk", nip=HELPDESK_NIP, nik=HELPDESK_NIK)
    browser, old_secret = user
    browser.post("/logout")
    assert "Ponsel pribadi — diaktifkan" in account_state(helpdesk)
    response = act(helpdesk, "reset-mfa")
    assert response.status_code == 303
    assert "MFA</dt><dd>belum aktif" in account_state(helpdesk)

    assert login(browser, NIP, PASSWORD).location == "/mfa/setup"
    assert browser.post("/login/otp", data={"otp": code(old_secret)}).status_code == 303  # not at OTP step
    new_secret = enroll(browser, "Ponsel baru")
    assert new_secret != old_secret and client_is_signed_in(browser)
    with models.db.connection_context():
        assert [a.name for a in account().authenticators] == ["Ponsel baru"]
    message = assert_audited_and_notified("mfa.reset", "MFA akun Portal ASN Digital Anda diatur ulang")
    assert "memindai kode QR baru" in message.body


def account_state(operator):
    page = operator.get(f"/admin/pegawai/{NIP}").get_data(as_text=True)
    return page.split('id="account-state"')[1].split("</dl>")[0]


def client_is_signed_in(browser):
    return browser.get("/dashboard").status_code == 200


def test_end_sessions_signs_out_every_browser(as_role, user, clock):
    helpdesk = as_role("helpdesk", nip=HELPDESK_NIP, nik=HELPDESK_NIK)
    browser, secret = user
    second = helpdesk.application.test_client()
    login(second, NIP, PASSWORD)
    second.post("/login/otp", data={"otp": code(secret)})
    assert client_is_signed_in(browser) and client_is_signed_in(second)
    assert "Sesi aktif</dt><dd>2" in account_state(helpdesk)

    assert act(helpdesk, "akhiri-sesi").status_code == 303
    assert not client_is_signed_in(browser) and not client_is_signed_in(second)
    assert helpdesk.get("/admin/pegawai").status_code == 200  # the operator's own session lives on
    assert_audited_and_notified("sessions.ended", "Semua sesi Portal ASN Digital Anda diakhiri")
    # Password and MFA are unchanged.
    clock.advance(seconds=30)
    login(browser, NIP, PASSWORD)
    assert browser.post("/login/otp", data={"otp": code(secret)}).location == "/dashboard"


def test_sms_when_the_employee_has_no_email(clock, as_role):
    with models.db.connection_context():
        make_employee(email="")
    client = as_role("admin")
    act(client, "kata-sandi-sementara")
    [message] = outbox()
    assert message.channel == "sms" and message.recipient == "081234567890" and message.status == "outbox"
    assert "diatur ulang oleh helpdesk" in message.body and len(message.body) < 300


def test_operator_recorded_as_actor(as_role, user, clock):
    helpdesk = as_role("helpdesk", nip=HELPDESK_NIP, nik=HELPDESK_NIK)
    act(helpdesk, "akhiri-sesi")
    page = helpdesk.get(f"/admin/pegawai/{NIP}").get_data(as_text=True)
    events = page.split('id="riwayat"')[1]
    assert "semua sesi diakhiri" in events and HELPDESK_NIP in events
