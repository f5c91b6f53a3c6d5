"""Trainer mode: the console, the eight common problems as scenarios (set up, what the
learner sees, and the fix), the virtual phone, the demo mailbox, the demo banner on every
page, and nothing of it at all when demo mode is off."""

import logging
import re
from urllib.parse import unquote

import pyotp
import pytest

import demo
import models
import security
from tests.helpers import change_password, first_login, make_employee, prove_first_login
from tests.live import live_portal
from tests.oidc_helpers import consent_fields, target

BUDI, BUDI_NIK = "199001012020011001", "3273010101900001"
SITI = "198507152010012002"
HARTONO = "196512251990031006"  # pensiun
NEW_PASSWORD = "Teh!Sore2027"
DUMMY_ARGS = {"slug": "faq", "secret": "tidak-berlaku", "nip": BUDI, "entry_id": 1, "document_id": 1, "request_id": 1,
              "authenticator_id": 1, "notification_id": 1, "session_id": 1, "action": "buka-kunci",
              "passkey_id": 1, "kind_key": "kenaikan_pangkat", "requirement": "sk_pangkat"}


def text(response) -> str:
    return response.get_data(as_text=True)


def help_slugs(page: str) -> list:
    return re.findall(r'<a href="/bantuan/[a-z-]+" data-help="([a-z-]+)">', page)


@pytest.fixture
def demo_app(make_app, clock):
    return make_app(DEMO=True)


@pytest.fixture
def trainer(demo_app):
    return demo_app.test_client()


@pytest.fixture
def learner(demo_app):
    """Another browser: the learner's."""
    return demo_app.test_client()


def apply(trainer, slug, nip=BUDI):
    response = trainer.post(f"/pelatih/akun/{nip}/skenario", data={"skenario": slug})
    assert response.status_code == 303 and response.location == "/pelatih/"
    return response


def sign_in(learner, password=demo.PASSWORD, nip=BUDI):
    return learner.post("/login", data={"nip": nip, "password": password})


def first_sign_in(learner, nik=BUDI_NIK, nip=BUDI):
    """NIK, then the code the demo mailbox received: the response of the code step."""
    assert sign_in(learner, nik, nip).location == "/login/kode"
    return prove_first_login(learner, nip)


def otp(learner, code):
    return learner.post("/login/otp", data={"otp": code})


def phone_codes(client, nip=BUDI) -> dict:
    """Device name -> the code the virtual phone shows now for `nip`."""
    page = text(client.get("/pelatih/ponsel"))
    entries = re.findall(r'data-nip="(\d+)" data-device="([^"]+)">.*?data-code="(\d{6})"', page, re.S)
    return {device: code for owner, device, code in entries if owner == nip}


def phone_section(client, nip=BUDI) -> str:
    page = text(client.get("/pelatih/ponsel"))
    return page.split(f'id="ponsel-{nip}"')[1].split("</section>")[0]


def entry_action(client, nip, action) -> str:
    """The URL of a per-entry action button (waktu-otomatis, hapus) for `nip`."""
    page = text(client.get("/pelatih/ponsel"))
    actions = page.split(f'id="aksi-{nip}"')[1].split("</div>")[0]
    return re.search(rf'action="(/pelatih/ponsel/entri/\d+/{action})"', actions).group(1)


def recovery_sheet(client, nip=BUDI) -> list:
    row = text(client.get("/pelatih/")).split(f'id="akun-{nip}"')[1].split("</article>")[0]
    return re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", row)


def mailbox_links(client) -> list:
    """The reset links in the demo mailbox, newest first."""
    return re.findall(r'<a href="http://localhost(/reset/[^"]+)">', text(client.get("/pelatih/surel")))


def status_of(client, nip=BUDI) -> str:
    row = text(client.get("/pelatih/")).split(f'id="akun-{nip}"')[1].split("</article>")[0]
    return " | ".join(re.findall(r"<li>([^<]+)</li>", row.split('<ul class="status">')[1].split("</ul>")[0]))


def otp_setup_secret(page) -> str:
    """The key as shown, in its groups of four."""
    key = re.search(r'<code id="secret-key">(.+?)</code>', page).group(1)
    return " ".join(re.findall(r'<span class="group">([A-Z2-7]+)</span>', key))


def enroll_with_phone(learner, trainer, device=None):
    codes = phone_codes(trainer)
    code = codes[device] if device else next(iter(codes.values()))
    return learner.post("/mfa/setup", data={"device_name": "Ponsel baru", "otp": code})


# --------------------------------------------------------------------------- demo mode off


def trainer_rules(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("trainer.")]
    assert {"trainer.console", "trainer.phone", "trainer.mailbox", "trainer.scenario"} <= {
        r.endpoint for r in rules}
    return rules


@pytest.mark.parametrize("csrf", [False, True])
def test_every_trainer_url_is_404_without_demo_mode(make_app, csrf):
    app = make_app(WTF_CSRF_ENABLED=csrf)
    client = app.test_client()
    checked = 0
    for rule in trainer_rules(app):
        url = rule.build({k: DUMMY_ARGS[k] for k in rule.arguments})[1]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method, data={"skenario": "qr-tidak-muncul"})
            assert response.status_code == 404, (method, url)
            assert "Halaman tidak ditemukan" in text(response)
            checked += 1
    assert checked >= 11


def page_urls(app) -> list:
    """Every GET URL of the application (arguments filled in), from its URL map."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static":
            urls.append(rule.build({k: DUMMY_ARGS[k] for k in rule.arguments})[1])
    return urls + ["/tidak-ada", "/logout"]  # 404 and 405 pages


def sweep(client, urls) -> list:
    """The HTML pages (not redirects) those URLs answer with."""
    pages = []
    for url in urls:
        response = client.get(url)
        if response.mimetype == "text/html" and not 300 <= response.status_code < 400:
            pages.append((url, response.status_code, text(response)))
    return pages


def test_no_demo_banner_or_credentials_anywhere_without_demo_mode(make_app, clock):
    app = make_app()
    with models.db.connection_context():
        make_employee(nip="198001012005011009", nik="3201010101800009")
    client = app.test_client()
    pages = sweep(client, page_urls(app))
    first_login(client, "198001012005011009", "3201010101800009")
    pages += sweep(client, page_urls(app))
    assert {"/login", "/bantuan/faq", "/dashboard", "/mfa/kode-pemulihan", "/tidak-ada", "/logout"} <= {
        url for url, _, _ in pages}
    secrets = ["MODE DEMO", "PELATIHAN", "/pelatih", "Akun demo", demo.PASSWORD]
    secrets += [e["nik"] for e in demo.DEMO_EMPLOYEES]
    for url, _, page in pages:
        for secret in secrets:
            assert secret not in page, (url, secret)


# --------------------------------------------------------------------------- demo banner


def test_demo_banner_on_every_page_including_errors(demo_app, trainer, learner):
    pages = sweep(learner, page_urls(demo_app))
    first_sign_in(learner)
    change_password(learner)
    learner.get("/mfa/setup/akun")
    assert enroll_with_phone(learner, trainer).status_code == 303
    pages += sweep(learner, page_urls(demo_app))
    assert {"/login", "/bantuan/faq", "/dashboard", "/mfa/kode-pemulihan", "/pelatih/", "/pelatih/ponsel",
            "/pelatih/surel", "/tidak-ada", "/logout", "/reset/tidak-berlaku"} <= {url for url, _, _ in pages}
    assert {200, 400, 404, 405} <= {status for _, status, _ in pages}
    for url, status, page in pages:
        assert "MODE DEMO / PELATIHAN" in page, (url, status)


def test_demo_banner_on_csrf_and_rate_limit_errors(make_app, clock):
    client = make_app(DEMO=True, WTF_CSRF_ENABLED=True).test_client()
    response = client.post("/login", data={"nip": BUDI, "password": BUDI_NIK})
    assert response.status_code == 400 and "MODE DEMO / PELATIHAN" in text(response)
    limited = make_app(DEMO=True, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="1/minute").test_client()
    limited.post("/login", data={"nip": BUDI, "password": "x"})
    response = limited.post("/login", data={"nip": BUDI, "password": "x"})
    assert response.status_code == 429 and "MODE DEMO / PELATIHAN" in text(response)


# --------------------------------------------------------------------------- console


def test_console_lists_demo_accounts_with_their_state(trainer, learner, clock):
    page = text(trainer.get("/pelatih/"))
    for employee in demo.DEMO_EMPLOYEES:
        assert f'id="akun-{employee["nip"]}"' in page and employee["nik"] in page
    assert f'<code id="demo-password">{demo.PASSWORD}</code>' in page
    assert page.count('<li id="masalah-') == 8
    assert status_of(trainer) == "masuk pertama kali (kata sandi = NIK)"
    assert "status pensiun: tidak bisa masuk" in status_of(trainer, HARTONO)
    assert f'action="/pelatih/akun/{HARTONO}/skenario"' not in page  # no scenario for the retired
    first_sign_in(learner)
    change_password(learner)
    assert status_of(trainer) == "kata sandi sudah diganti, MFA belum aktif"
    learner.get("/mfa/setup/akun")
    enroll_with_phone(learner, trainer)
    assert status_of(trainer) == "MFA aktif (Ponsel baru) | sedang masuk"
    learner.post("/logout")
    for _ in range(5):
        sign_in(learner, "Salah!123")
    assert status_of(trainer) == "MFA aktif (Ponsel baru) | terkunci 15 menit lagi"


def test_reset_one_account_to_first_login(trainer, learner):
    apply(trainer, "kode-otp-tidak-valid")
    response = trainer.post(f"/pelatih/akun/{BUDI}/reset")
    assert response.location == "/pelatih/"
    assert status_of(trainer) == "masuk pertama kali (kata sandi = NIK)"
    assert phone_codes(trainer) == {}
    assert first_sign_in(learner).location == "/password/new"


def test_reset_all_demo_data(trainer, learner):
    apply(trainer, "gagal-login-setelah-reset")
    apply(trainer, "kode-otp-tidak-valid", SITI)
    assert mailbox_links(trainer)
    assert trainer.post("/pelatih/reset").location == "/pelatih/"
    for employee in demo.DEMO_EMPLOYEES:
        assert status_of(trainer, employee["nip"]).endswith("masuk pertama kali (kata sandi = NIK)")
    assert mailbox_links(trainer) == [] and "Belum ada akun demo yang terhubung" in text(
        trainer.get("/pelatih/ponsel"))
    with models.db.connection_context():
        assert not models.Account.select().exists() and not models.Message.select().exists()
        assert [e.event for e in models.AuditEvent.select()].count("demo.reset") == 1


def test_trainer_tools_touch_demo_accounts_only(trainer, clock):
    with models.db.connection_context():
        make_employee(nip="198001012005011009", nik="3201010101800009")
    assert trainer.post("/pelatih/akun/198001012005011009/reset").status_code == 404
    assert trainer.post("/pelatih/akun/198001012005011009/skenario",
                        data={"skenario": "qr-tidak-muncul"}).status_code == 404
    assert trainer.post("/pelatih/ponsel/198001012005011009/pindai").status_code == 404
    assert trainer.post("/pelatih/ponsel/entri/999/hapus").status_code == 404


def test_unknown_scenario_and_retired_employee_refused(trainer):
    trainer.post(f"/pelatih/akun/{BUDI}/skenario", data={"skenario": "tidak-ada"})
    assert "Pilih salah satu dari delapan masalah" in text(trainer.get("/pelatih/"))
    trainer.post(f"/pelatih/akun/{HARTONO}/skenario", data={"skenario": "qr-tidak-muncul"})
    assert "berstatus pensiun" in text(trainer.get("/pelatih/"))
    with models.db.connection_context():
        assert not demo.DemoScenario.select().exists()


def test_trainer_forms_carry_csrf_tokens_and_need_them(make_app, clock):
    client = make_app(DEMO=True, WTF_CSRF_ENABLED=True).test_client()
    page = text(client.get("/pelatih/"))
    forms = re.findall(r"<form [^>]*>.*?</form>", page, re.S)
    assert forms and all('name="csrf_token"' in f for f in forms)
    assert client.post("/pelatih/reset").status_code == 400
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/pelatih/reset", data={"csrf_token": token}).status_code == 303


# --------------------------------------------------------------------------- virtual phone and mailbox


def test_phone_shows_each_enrolled_account_like_an_authenticator_app(trainer, learner, clock):
    assert "Belum ada akun demo yang terhubung" in text(trainer.get("/pelatih/ponsel"))
    first_sign_in(learner)
    change_password(learner)
    learner.get("/mfa/setup/akun")
    assert "menunggu aktivasi di portal" in phone_section(trainer)  # as if the QR was scanned
    assert enroll_with_phone(learner, trainer).location == "/mfa/kode-pemulihan"
    section = phone_section(trainer)
    assert "menunggu" not in section and 'value="30">30 detik' in section
    clock.advance(seconds=10)
    assert 'value="20">20 detik' in phone_section(trainer)
    first = phone_codes(trainer)
    clock.advance(seconds=20)
    assert phone_codes(trainer) != first  # a new code every 30 seconds


def test_phone_fragment_polls_and_stays_small(trainer, learner):
    learner.post("/daftar", data={"nip": SITI, "nik": "3578015507850002",
                                  "email": "siti@contoh.go.id", "telepon": "081298765432"})
    others = [e["nip"] for e in demo.DEMO_EMPLOYEES if e["nip"] not in (BUDI, SITI, HARTONO)]
    for problem, nip in zip(demo.PROBLEMS, others, strict=False):
        apply(trainer, problem.slug, nip)
    apply(trainer, "perangkat-tidak-terdaftar")  # the most entries
    response = trainer.get("/pelatih/ponsel", headers={"HX-Request": "true"})
    body = text(response)
    assert body.startswith('<div id="ponsel" class="phone" hx-get="/pelatih/ponsel" hx-trigger="every 1s"')
    assert "<html" not in body and 'class="sms"' in body
    assert len(response.data) < 5 * 1024
    full = text(trainer.get("/pelatih/ponsel"))
    assert '<a href="/pelatih/ponsel">muat ulang</a>' in full  # without JavaScript


def test_phone_shows_demo_sms(trainer, learner):
    learner.post("/daftar", data={"nip": SITI, "nik": "3578015507850002",
                                  "email": "siti@contoh.go.id", "telepon": "081298765432"})
    page = text(trainer.get("/pelatih/ponsel"))
    # The code goes to the phone on record, never to the number typed in the form.
    assert "ke 081234560002" in page and "081298765432" not in page
    assert re.search(r"Kode verifikasi Portal ASN Digital: \d{6}", page)


def test_mailbox_shows_outbox_mail_with_clickable_links(trainer, learner):
    learner.post("/lupa-kata-sandi", data={"nip": BUDI, "email": "budi.santoso@demo.asn.local"})
    page = text(trainer.get("/pelatih/surel"))
    assert "Buat kata sandi baru Portal ASN Digital" in page and "Untuk budi.santoso@demo.asn.local" in page
    [link] = mailbox_links(trainer)
    assert learner.get(link).status_code == 200


def test_phone_key_must_be_a_real_key(trainer):
    apply(trainer, "qr-tidak-muncul")
    trainer.post(f"/pelatih/ponsel/{BUDI}/kunci", data={"key": "bukan kunci 1890"})
    assert "Kunci tidak valid" in text(trainer.get("/pelatih/ponsel"))
    assert phone_codes(trainer) == {}


# --------------------------------------------------------------------------- the eight problems


def test_problem_1_qr_not_showing_fixed_with_the_manual_key(trainer, learner):
    apply(trainer, "qr-tidak-muncul")
    assert sign_in(learner).location == "/mfa/setup"
    page = text(learner.get("/mfa/setup/akun"))
    assert "<svg" not in page and "Kode QR tidak dapat ditampilkan" in page
    assert help_slugs(page) == ["qr-tidak-muncul"]
    assert '<details class="manual" id="manual-key" open>' in page
    assert "Belum ada akun ini di aplikasi" in phone_section(trainer)
    trainer.post(f"/pelatih/ponsel/{BUDI}/pindai")
    assert "Kode QR tidak tampil di layar peserta" in text(trainer.get("/pelatih/ponsel"))
    # The fix: type the key shown on the page into the app.
    trainer.post(f"/pelatih/ponsel/{BUDI}/kunci", data={"key": otp_setup_secret(page).lower()})
    assert enroll_with_phone(learner, trainer).location == "/mfa/kode-pemulihan"


def test_problem_2_phone_clock_behind_fixed_with_automatic_time(trainer, learner):
    apply(trainer, "kode-otp-tidak-valid")
    section = phone_section(trainer)
    assert "jam ponsel 08.57.00, 3 menit lebih lambat" in section
    assert sign_in(learner).location == "/login/otp"
    response = learner.post("/login/otp", data={"otp": phone_codes(trainer)[demo.DEVICE]})
    page = text(response)
    assert response.status_code == 422 and "sekitar 3 menit lebih lambat" in page
    assert help_slugs(page) == ["kode-otp-tidak-valid"]
    # The fix: automatic date and time on the phone.
    trainer.post(entry_action(trainer, BUDI, "waktu-otomatis"))
    assert "lebih lambat" not in phone_section(trainer)
    assert otp(learner, phone_codes(trainer)[demo.DEVICE]).location == "/dashboard"


def test_problem_3_locked_after_wrong_otps_fixed_by_waiting(trainer, learner, clock):
    apply(trainer, "salah-memasukkan-otp")
    response = sign_in(learner)
    page = text(response)
    assert response.status_code == 423 and "Coba lagi dalam 15 menit" in page
    assert help_slugs(page) == ["akun-terkunci"]
    assert "terkunci 15 menit lagi" in status_of(trainer)
    clock.advance(minutes=15, seconds=1)  # the fix: wait
    assert sign_in(learner).location == "/login/otp"
    assert otp(learner, phone_codes(trainer)[demo.DEVICE]).location == "/dashboard"


def test_problem_3_locked_account_fixed_by_a_new_password(trainer, learner):
    apply(trainer, "salah-memasukkan-otp")
    learner.post("/lupa-kata-sandi", data={"nip": BUDI, "email": "budi.santoso@demo.asn.local"})
    [link] = mailbox_links(trainer)
    learner.post(link, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert sign_in(learner, NEW_PASSWORD).location == "/login/otp"


def test_problem_4_failing_after_a_reset_fixed_with_the_newest_mail(trainer, learner):
    apply(trainer, "gagal-login-setelah-reset")
    newest, oldest = mailbox_links(trainer)
    stale = learner.get(oldest)
    assert stale.status_code == 400 and help_slugs(text(stale)) == ["gagal-login-setelah-reset"]
    assert "email terbaru" in text(stale)
    # The fix: the newest mail; after the reset the login still asks for the OTP.
    assert learner.get(newest).status_code == 200
    assert learner.post(newest, data={"new_password": NEW_PASSWORD,
                                      "confirm_password": NEW_PASSWORD}).location == "/login"
    old = sign_in(learner)
    assert old.status_code == 422 and help_slugs(text(old)) == ["gagal-masuk"]
    assert sign_in(learner, NEW_PASSWORD).location == "/login/otp"
    assert otp(learner, phone_codes(trainer)[demo.DEVICE]).location == "/dashboard"


def test_problem_5_lost_authenticator_fixed_with_a_recovery_code_then_helpdesk(trainer, learner, clock):
    apply(trainer, "autentikator-hilang")
    assert "Aplikasi autentikator terhapus" in phone_section(trainer) and phone_codes(trainer) == {}
    sheet = recovery_sheet(trainer)
    assert len(sheet) == 10
    assert sign_in(learner).location == "/login/otp"
    otp_page = text(learner.get("/login/otp"))
    assert '<a href="/bantuan/autentikator-hilang">Tidak bisa mengakses' in otp_page
    wrong = text(learner.post("/login/otp", data={"otp": "aaaaa-bbbbb"}))
    assert help_slugs(wrong) == ["autentikator-hilang"]
    # The fix: a recovery code, then the helpdesk resets MFA and a new phone is enrolled.
    assert learner.post("/login/otp", data={"otp": sheet[0]}).location == "/dashboard"
    assert "Anda masuk dengan kode pemulihan. Sisa kode: 9" in text(learner.get("/dashboard"))
    learner.post("/logout")
    assert trainer.post(f"/pelatih/akun/{BUDI}/reset-mfa").location == "/pelatih/"
    assert recovery_sheet(trainer) == []
    assert sign_in(learner).location == "/mfa/setup"
    learner.get("/mfa/setup/akun")
    trainer.post(f"/pelatih/ponsel/{BUDI}/pindai")
    assert enroll_with_phone(learner, trainer).location == "/mfa/kode-pemulihan"


def test_problem_6_otp_not_in_the_app_fixed_by_scanning_again(trainer, learner):
    apply(trainer, "otp-tidak-muncul")
    trainer.post(f"/pelatih/ponsel/{BUDI}/pindai")
    assert "Belum ada kode QR untuk dipindai" in text(trainer.get("/pelatih/ponsel"))
    assert sign_in(learner).location == "/mfa/setup"
    page = text(learner.get("/mfa/setup/akun"))
    assert '<a href="/bantuan/otp-tidak-muncul">' in page
    assert "Belum ada akun ini di aplikasi" in phone_section(trainer)
    # The fix: reinstall and scan the QR code again.
    trainer.post(f"/pelatih/ponsel/{BUDI}/pindai")
    assert len(phone_codes(trainer)) == 1
    assert enroll_with_phone(learner, trainer).location == "/mfa/kode-pemulihan"


def test_problem_7_unregistered_device_fixed_with_the_registered_one(trainer, learner):
    apply(trainer, "perangkat-tidak-terdaftar")
    codes = phone_codes(trainer)
    assert set(codes) == {"Ponsel baru", "Ponsel kantor"}
    assert sign_in(learner).location == "/login/otp"
    assert "Perangkat terdaftar: <strong>Ponsel kantor</strong>" in text(learner.get("/login/otp"))
    wrong = learner.post("/login/otp", data={"otp": codes["Ponsel baru"]})
    assert wrong.status_code == 422 and "perangkat-tidak-terdaftar" in help_slugs(text(wrong))
    assert "Perangkat terdaftar: <strong>Ponsel kantor</strong>" in text(wrong)
    assert learner.post("/login/otp", data={"otp": codes["Ponsel kantor"]}).location == "/dashboard"


def test_problem_8_activation_error_fixed_by_scanning_the_current_qr(trainer, learner):
    apply(trainer, "error-aktivasi-mfa")
    assert "kode QR lama" in phone_section(trainer)
    assert sign_in(learner).location == "/mfa/setup"
    learner.get("/mfa/setup/akun")
    wrong = learner.post("/mfa/setup", data={"device_name": "HP", "otp": phone_codes(trainer)[
        "Ponsel peserta"]})
    assert wrong.status_code == 422 and "Kode tidak cocok" in text(wrong)
    assert help_slugs(text(wrong))[0] == "error-aktivasi-mfa"
    # The fix: remove the old entry, scan the QR code shown now.
    trainer.post(entry_action(trainer, BUDI, "hapus"))
    assert phone_codes(trainer) == {}
    trainer.post(f"/pelatih/ponsel/{BUDI}/pindai")
    assert enroll_with_phone(learner, trainer).location == "/mfa/kode-pemulihan"


def test_scenarios_are_audited_and_secrets_never_logged(trainer, caplog):
    caplog.set_level(logging.DEBUG)
    apply(trainer, "kode-otp-tidak-valid")
    trainer.get("/pelatih/ponsel")
    with models.db.connection_context():
        secret = security.decrypt(demo.PhoneEntry.get().secret_encrypted, "test-secret-key")
        events = [(e.event, e.detail) for e in models.AuditEvent.select()]
    assert ("demo.scenario", "kode-otp-tidak-valid") in events
    assert secret not in caplog.text and secret not in str(events)
    assert secret not in text(trainer.get("/pelatih/ponsel")) + text(trainer.get("/pelatih/"))


# --------------------------------------------------------------------------- a class of participants


def test_seed_demo_makes_numbered_participants_who_can_sign_in(demo_app, trainer, learner):
    result = demo_app.test_cli_runner().invoke(args=["seed-demo", "--peserta", "30"])
    assert result.exit_code == 0, result.output
    first, last = demo.participant(1), demo.participant(30)
    assert f"NIP {last['nip']}  NIK {last['nik']}  Peserta 30" in result.output
    with models.db.connection_context():
        assert models.Employee.select().where(models.Employee.nama.startswith("Peserta ")).count() == 30
        assert models.Employee.by_nip(last["nip"]).nik_last4 == last["nik"][-4:]  # only a keyed hash is kept
    # The printable list: every participant with the NIP, the NIK to type and the mailbox to open.
    page = text(trainer.get("/pelatih/peserta"))
    rows = re.findall(r'<tr id="peserta-(\d+)">', page)
    assert len(rows) == 36 and first["nip"] in rows and last["nip"] in rows
    assert last["nik"] in page and f'<a href="/pelatih/surel/{last["nip"]}">peserta30@demo.asn.local</a>' in page
    assert first["nip"] in text(trainer.get("/pelatih/"))
    # Participant 30 signs in for the first time with the code from their own mailbox.
    assert first_sign_in(learner, last["nik"], last["nip"]).location == "/password/new"
    mailbox = text(trainer.get(f"/pelatih/surel/{last['nip']}"))
    assert "Kotak surat peserta30@demo.asn.local" in mailbox and "Kode verifikasi masuk pertama kali" in mailbox
    assert "Kotak surat kosong" in text(trainer.get(f"/pelatih/surel/{first['nip']}"))
    # Seeding again keeps them (and does not add more); the NIK list covers them.
    assert demo_app.test_cli_runner().invoke(args=["seed-demo", "--peserta", "30"]).exit_code == 0
    assert demo.DEMO_NIKS[last["nip"]] == last["nik"]


def test_scenario_names_the_mailbox_to_open(trainer):
    apply(trainer, "gagal-login-setelah-reset")
    console = text(trainer.get("/pelatih/"))
    assert "kotak surat: <a href=\"/pelatih/surel/" + BUDI in console
    assert "Kotak surat peserta: budi.santoso@demo.asn.local" in console  # in the message after applying it
    mailbox = text(trainer.get(f"/pelatih/surel/{BUDI}"))
    assert mailbox.count('class="mail"') == 2  # both reset mails, the newest first
    assert trainer.get("/pelatih/surel/199001012020011999").status_code == 404  # not a demo account


def test_participant_numbers_are_bounded(demo_app):
    result = demo_app.test_cli_runner().invoke(args=["seed-demo", "--peserta", "500"])
    assert result.exit_code != 0 and "500" in result.output


# --------------------------------------------------------------------------- e-Kinerja (demo)


@pytest.fixture
def demo_server(tmp_path):
    """Demo mode on a real loopback server: e-Kinerja (demo) exchanges its code with a real
    HTTP request to the portal's token endpoint."""
    with live_portal(tmp_path / "portal.db", demo=True, WTF_CSRF_ENABLED=False) as server:
        yield server


def enrolled_demo_account(app, nip) -> str:
    with models.db.connection_context():
        account = models.Account.for_employee(models.Employee.by_nip(nip))
        account.set_password(NEW_PASSWORD, app.extensions["settings"])
        authenticator = models.Authenticator.pending_for(account, app.extensions["settings"])
        authenticator.confirm("Ponsel pribadi")
        return authenticator.secret(app.extensions["settings"])


def test_the_demo_app_signs_in_through_the_portal_shows_the_claims_and_signs_out(demo_server):
    base = demo_server.url
    secret = enrolled_demo_account(demo_server.app, SITI)
    browser = demo_server.app.test_client()
    with models.db.connection_context():  # registered by the demo seeding
        assert models.OidcClient.get(models.OidcClient.client_id == demo.DEMO_APP_ID).name == "e-Kinerja (demo)"
    home = browser.get(base + "/pelatih/ekinerja/")
    assert "Masuk dengan Portal ASN Digital" in text(home)
    assert 'href="/pelatih/ekinerja/"' in text(browser.get(base + "/bantuan/"))  # the demo banner

    to_portal = browser.get(base + "/pelatih/ekinerja/masuk")
    assert to_portal.location.startswith(base + "/oidc/authorize?") and "code_challenge=" in to_portal.location
    to_login = browser.get(to_portal.location)
    next_url = re.search(r"next=([^&]+)", to_login.location).group(1)
    assert browser.post(base + "/login", data={"nip": SITI, "password": NEW_PASSWORD,
                                               "next": unquote(next_url)}).location == "/login/otp"
    back = browser.post(base + "/login/otp", data={"otp": pyotp.TOTP(secret).now()})
    consent = browser.get(base + back.location)
    assert "e-Kinerja (demo) meminta izin" in text(consent)
    callback = target(browser.post(base + "/oidc/authorize",
                                   data={**consent_fields(text(consent)), "keputusan": "izinkan"}))
    assert callback.startswith(base + "/pelatih/ekinerja/kembali?code=")

    signed_in = browser.get(callback)  # the token exchange: real HTTP to the portal
    assert signed_in.status_code == 302, text(signed_in)
    page = text(browser.get(base + signed_in.location))
    assert "Anda masuk sebagai <strong>Siti Rahmawati, S.E.</strong>" in page
    assert f'<dd data-claim="nip">{SITI}</dd>' in page
    assert '<dd data-claim="amr">pwd, otp, mfa</dd>' in page
    assert 'data-claim="sub"' in page and f'data-claim="sub">{SITI}' not in page
    assert browser.get(callback).status_code == 400  # the same answer twice: the app has moved on

    # Signing out of the app signs out of the portal too, and comes back to the app.
    to_logout = browser.post(base + "/pelatih/ekinerja/keluar")
    assert to_logout.status_code == 303 and to_logout.location.startswith(base + "/oidc/logout?id_token_hint=")
    after = target(browser.get(to_logout.location))
    assert after == base + "/pelatih/ekinerja/?state=keluar"
    page = text(browser.get(after))
    assert "Anda telah keluar dari e-Kinerja (demo) dan dari Portal ASN Digital" in page
    assert 'data-claim="nip"' not in page
    assert browser.get(base + "/dashboard").location.startswith("/login")


def test_the_demo_app_takes_a_refusal_and_junk_without_a_500(demo_server):
    browser = demo_server.app.test_client()
    base = demo_server.url
    assert browser.get(base + "/pelatih/ekinerja/kembali?code=x&state=y").status_code == 400
    browser.get(base + "/pelatih/ekinerja/masuk")
    refused = browser.get(base + "/pelatih/ekinerja/kembali?error=access_denied&state=nope")
    assert refused.status_code == 400
    state = re.search(r"state=([^&]+)", browser.get(base + "/pelatih/ekinerja/masuk").location).group(1)
    refused = browser.get(base + f"/pelatih/ekinerja/kembali?error=access_denied&state={state}")
    assert refused.status_code == 200 and "Anda menolak memberi izin" in text(refused)
    state = re.search(r"state=([^&]+)", browser.get(base + "/pelatih/ekinerja/masuk").location).group(1)
    wrong_code = browser.get(base + f"/pelatih/ekinerja/kembali?code=bukan-kode&state={state}")
    assert wrong_code.status_code == 400 and "tidak dapat menyelesaikan masuk" in text(wrong_code)
    assert browser.post(base + "/pelatih/ekinerja/keluar").location == "/pelatih/ekinerja/"
