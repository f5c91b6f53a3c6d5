"""The help centre, the help links next to every error in the journey, the clock-skew
diagnosis of wrong OTPs, and the enrollment page on a phone."""

import gzip
import re
from datetime import UTC

import pyotp
import pytest

import models
from tests.helpers import NIP, PASSWORD, change_password, code, first_login, login, secret_from, to_password_step
from views.help import TOPICS

EIGHT_PROBLEMS = ["qr-tidak-muncul", "kode-otp-tidak-valid", "salah-memasukkan-otp",
                  "gagal-login-setelah-reset", "autentikator-hilang", "otp-tidak-muncul",
                  "perangkat-tidak-terdaftar", "error-aktivasi-mfa"]


def text(response) -> str:
    return response.get_data(as_text=True)


def help_slugs(page: str) -> list:
    """The help entries an error message links to."""
    return re.findall(r'<a href="/bantuan/[a-z-]+" data-help="([a-z-]+)">', page)


def audit_details(event):
    with models.db.connection_context():
        return [e.detail for e in models.AuditEvent.select().where(models.AuditEvent.event == event)]


# --------------------------------------------------------------------------- help centre


def test_index_lists_every_topic_in_sections_with_anchors(client):
    page = text(client.get("/bantuan/"))
    for section in ("panduan", "masalah", "lainnya", "faq", "keamanan"):
        assert f'<section id="{section}"' in page and f'href="#{section}"' in page
    for topic in TOPICS:
        assert f'<li id="{topic.slug}"><a href="/bantuan/{topic.slug}">{topic.title}</a>' in page
    problems = page.split('<section id="masalah"')[1].split("</section>")[0]
    assert re.findall(r'<li id="([a-z-]+)">', problems) == EIGHT_PROBLEMS
    assert '<ol class="topics">' in problems


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.slug)
def test_every_topic_has_its_own_small_page(client, topic):
    response = client.get(f"/bantuan/{topic.slug}", headers={"Accept-Encoding": "gzip"})
    page = gzip.decompress(response.data).decode()
    assert response.status_code == 200
    assert f"<h1>{topic.title}</h1>" in page and "<title>" + topic.title in page
    assert len(response.data) < 5 * 1024
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) and " style=" not in page
    assert "<img" not in page


@pytest.mark.parametrize("slug, phrases", [
    ("cara-masuk", ["NIK", "18 digit", "kode OTP", "<svg", "Keluar"]),
    ("aktifkan-mfa", ["Google Authenticator", "FreeOTP", "Pindai kode QR", "Masukkan kunci penyiapan",
                      "nama perangkat", "kode pemulihan"]),
    ("qr-tidak-muncul", ["kunci", "Buka di aplikasi autentikator", "browser lain"]),
    ("kode-otp-tidak-valid", ["otomatis", "Android", "iPhone", "Koreksi waktu untuk kode",
                              "tetap dihitung sebagai percobaan gagal"]),
    ("salah-memasukkan-otp", ["30 detik", "5 kali", "15 menit"]),
    ("gagal-login-setelah-reset", ["email yang <strong>paling baru</strong>", "cookie", "incognito",
                                   "Kode OTP tetap diminta"]),
    ("autentikator-hilang", ["kode pemulihan", "KTP", "SK pengangkatan", "helpdesk"]),
    ("otp-tidak-muncul", ["pasang ulang", "pindai kode QR"]),
    ("perangkat-tidak-terdaftar", ["perangkat terdaftar", "saat memindai kode QR"]),
    ("error-aktivasi-mfa", ["browser lain", "kamera", "kode QR yang tampil <strong>sekarang</strong>"]),
    ("akun-terkunci", ["Tunggu", "Lupa kata sandi", "15 menit"]),
    ("faq", ["nama pengguna", "NIK", "MFA wajib", "e-Kinerja", "ponsel"]),
    ("tips-keamanan", ["kuat dan unik", "Jangan bagikan", "sidik jari", "tempat aman"]),
    ("phishing", ["Alamat resmi portal ini adalah <strong>http://localhost</strong>", ".go.id",
                  "<strong>tidak pernah</strong> meminta kata sandi atau kode OTP"]),
])
def test_topics_cover_the_source_material(client, slug, phrases):
    page = text(client.get(f"/bantuan/{slug}"))
    for phrase in phrases:
        assert phrase in page, phrase


def test_official_address_comes_from_the_configuration(make_app):
    client = make_app(BASE_URL="https://asn.bandung.go.id").test_client()
    page = client.get("/bantuan/phishing", base_url="https://asn.bandung.go.id")
    assert "<strong>https://asn.bandung.go.id</strong>" in text(page)
    assert client.get("/bantuan/phishing").status_code == 400  # any other Host is refused


def test_faq_has_the_five_questions_of_the_source(client):
    page = text(client.get("/bantuan/faq"))
    assert len(re.findall(r"<h2 id=", page)) >= 5


def test_search_is_a_get_form_that_works_without_javascript(client):
    index = text(client.get("/bantuan/"))
    assert re.search(r'<form id="help-search"[^>]* method="get" action="/bantuan/"', index)
    assert 'name="q"' in index
    page = text(client.get("/bantuan/?q=jam+ponsel"))
    hits = re.findall(r'<li><a href="/bantuan/([a-z-]+)">', page.split('id="hasil"')[1])
    assert "kode-otp-tidak-valid" in hits
    assert "<mark>" in page and 'value="jam ponsel"' in page
    assert '<a href="/bantuan/autentikator-hilang">' in text(client.get("/bantuan/?q=KODE+pemulihan"))


def test_search_without_results(client):
    page = text(client.get("/bantuan/?q=zzqx"))
    assert "Tidak ada topik yang memuat semua kata itu" in page


def test_search_htmx_returns_only_the_results(client):
    response = client.get("/bantuan/?q=terkunci", headers={"HX-Request": "true"})
    body = text(response)
    assert body.startswith('<div id="hasil"') and "<html" not in body
    assert '<a href="/bantuan/akun-terkunci">' in body
    assert len(response.data) < 5 * 1024


def test_unknown_topic_is_404(client):
    assert client.get("/bantuan/tidak-ada").status_code == 404


def test_lost_authenticator_address_still_works(client):
    page = text(client.get("/bantuan/autentikator-hilang"))
    assert "kode pemulihan" in page and "KTP" in page and "SK pengangkatan" in page


def test_every_page_footer_links_to_help(app, client, employee, clock):
    pages = [text(client.get(url)) for url in ("/login", "/daftar", "/lupa-kata-sandi", "/bantuan/",
                                               "/tidak-ada", "/reset/salah")]
    first_login(client)
    pages += [text(client.get(url)) for url in ("/dashboard", "/mfa/kode-pemulihan")]
    for page in pages:
        assert '<footer><p><a href="/bantuan/">Bantuan</a>' in page


# --------------------------------------------------------------------------- help next to every error


def test_login_errors_link_to_help(client, employee):
    assert help_slugs(text(login(client, NIP, "Salah!123"))) == ["gagal-masuk"]
    assert help_slugs(text(login(client, "1990", "x"))) == ["gagal-masuk"]


def test_locked_account_links_to_wait_or_reset(client, employee):
    for _ in range(5):
        response = login(client, NIP, "Salah!123")
    assert response.status_code == 423 and help_slugs(text(response)) == ["akun-terkunci"]
    assert help_slugs(text(login(client, NIP, "Salah!123"))) == ["akun-terkunci"]
    help_page = text(client.get("/bantuan/akun-terkunci"))
    assert "Tunggu" in help_page and 'href="/lupa-kata-sandi"' in help_page


def test_wrong_otp_links_to_time_sync_and_counts_down(client, enrolled):
    login(client, NIP, PASSWORD)
    page = text(client.post("/login/otp", data={"otp": unrelated_code(enrolled)}))
    assert "Kode OTP salah" in page and "Sisa percobaan sebelum akun dikunci sementara: 4." in page
    assert help_slugs(page)[0] == "kode-otp-tidak-valid" and "perangkat-tidak-terdaftar" in help_slugs(page)


def test_replayed_and_malformed_codes_link_to_help(client, enrolled, clock):
    login(client, NIP, PASSWORD)
    used = code(enrolled)
    client.post("/login/otp", data={"otp": used})
    client.post("/logout")
    login(client, NIP, PASSWORD)
    assert help_slugs(text(client.post("/login/otp", data={"otp": used}))) == ["salah-memasukkan-otp"]
    assert "salah-memasukkan-otp" in help_slugs(text(client.post("/login/otp", data={"otp": "12"})))


def test_wrong_recovery_code_links_to_lost_authenticator(client, enrolled):
    login(client, NIP, PASSWORD)
    page = text(client.post("/login/otp", data={"otp": "aaaaa-bbbbb"}))
    assert help_slugs(page) == ["autentikator-hilang"]


def test_otp_page_names_the_registered_device(client, enrolled):
    login(client, NIP, PASSWORD)
    page = text(client.get("/login/otp"))
    assert "Perangkat terdaftar: <strong>Ponsel pribadi</strong> (sejak 23-11-2026)" in page
    assert 'href="/bantuan/autentikator-hilang"' in page


def test_enrollment_errors_link_to_help(client, employee):
    to_password_step(client)
    change_password(client)
    page = text(client.get("/mfa/setup/akun"))
    assert 'href="/bantuan/qr-tidak-muncul"' in page and 'href="/bantuan/otp-tidak-muncul"' in page
    secret = secret_from(page)
    wrong = text(client.post("/mfa/setup", data={"device_name": "HP", "otp": unrelated_code(secret)}))
    assert help_slugs(wrong)[0] == "error-aktivasi-mfa"
    assert help_slugs(text(client.post("/mfa/setup", data={"device_name": "", "otp": "1"}))) == [
        "aktifkan-mfa"]


def test_password_rules_link_to_safety_tips(client, employee):
    to_password_step(client)
    assert help_slugs(text(change_password(client, "abc"))) == ["tips-keamanan"]


def test_forgot_password_and_registration_errors_link_to_help(client, employee):
    page = text(client.post("/lupa-kata-sandi", data={"nip": "1", "email": "x"}))
    assert help_slugs(page) == ["lupa-kata-sandi"]
    page = text(client.post("/daftar", data={"nip": "198507152010012002", "nik": "3578015507850002",
                                            "email": "a@b.go.id", "telepon": "081234567890"}))
    assert "NIP tidak ditemukan" in page and help_slugs(page) == ["gagal-masuk"]


def test_dead_reset_link_explains_why(client):
    page = text(client.get("/reset/sudah-tidak-berlaku"))
    assert help_slugs(page) == ["gagal-login-setelah-reset"] and "email terbaru" in page


# --------------------------------------------------------------------------- clock-skew diagnosis


def unrelated_code(secret) -> str:
    """A 6-digit code valid at no time step within ten minutes (so nothing is diagnosed)."""
    from security import clock

    at = clock.now().replace(tzinfo=UTC).timestamp()
    near = {pyotp.TOTP(secret).at(at + 30 * step) for step in range(-21, 22)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in near)


@pytest.mark.parametrize("phone_offset, words, detail", [
    (180, "sekitar 3 menit lebih cepat", "jam ponsel +3 menit"),
    (-300, "sekitar 5 menit lebih lambat", "jam ponsel -5 menit"),
])
def test_otp_from_a_skewed_phone_is_diagnosed_and_still_refused(client, enrolled, clock, phone_offset,
                                                                 words, detail):
    login(client, NIP, PASSWORD)
    response = client.post("/login/otp", data={"otp": code(enrolled, phone_offset)})
    page = text(response)
    assert response.status_code == 422
    assert words in page and "waktu otomatis" in page and help_slugs(page) == ["kode-otp-tidak-valid"]
    assert client.get("/dashboard").status_code == 302  # not signed in
    with models.db.connection_context():  # still a failure, on this known browser's counter
        assert models.TrustedDevice.get().failed_count == 1
    assert audit_details("otp.failed") == [detail]
    assert enrolled not in "".join(audit_details("otp.failed"))


def test_no_diagnosis_when_the_code_matches_no_nearby_time(client, enrolled):
    login(client, NIP, PASSWORD)
    page = text(client.post("/login/otp", data={"otp": unrelated_code(enrolled)}))
    assert "menit lebih" not in page and "Kode OTP salah atau sudah kedaluwarsa" in page
    assert audit_details("otp.failed") == [""]


def test_skew_diagnosed_codes_are_never_accepted_and_lock_the_account(client, enrolled, clock):
    login(client, NIP, PASSWORD)
    for _ in range(5):
        response = client.post("/login/otp", data={"otp": code(enrolled, 180)})
        clock.advance(seconds=30)
    assert response.status_code == 423 and "terkunci" in text(response)
    assert client.get("/dashboard").status_code == 302


def test_enrollment_with_a_skewed_phone_is_diagnosed_and_not_confirmed(client, employee, clock):
    to_password_step(client)
    change_password(client)
    secret = secret_from(text(client.get("/mfa/setup/akun")))
    response = client.post("/mfa/setup", data={"device_name": "HP", "otp": code(secret, -300)})
    page = text(response)
    assert response.status_code == 422 and "sekitar 5 menit lebih lambat" in page
    assert help_slugs(page) == ["kode-otp-tidak-valid"]
    assert audit_details("mfa.enroll_failed") == ["wrong; jam ponsel -5 menit"]
    with models.db.connection_context():
        assert models.Authenticator.get().confirmed_at is None
    # The fix: with the phone's clock right, the current code works.
    assert client.post("/mfa/setup", data={"device_name": "HP", "otp": code(secret)}).status_code == 303


def test_enrollment_page_shows_the_server_time(client, employee, clock):
    to_password_step(client)
    change_password(client)
    page = text(client.get("/mfa/setup/kode"))  # 02:00:00 UTC is 09.00.00 WIB
    assert '<time id="server-time" datetime="2026-11-23T09:00:00+07:00">09.00.00</time> WIB' in page


# --------------------------------------------------------------------------- enrollment on a phone

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def test_on_a_phone_the_link_and_key_come_before_the_qr_code(client, employee):
    to_password_step(client)
    change_password(client)
    page = text(client.get("/mfa/setup/akun", headers={"User-Agent": IPHONE}))
    assert page.index('id="open-in-app"') < page.index('id="manual-key"') < page.index('id="qr-code"')
    assert '<details class="manual" id="manual-key" open>' in page
    assert "Layar sendiri tidak bisa dipindai" in page


def test_on_a_computer_the_qr_code_comes_first(client, employee):
    to_password_step(client)
    change_password(client)
    page = text(client.get("/mfa/setup/akun", headers={"User-Agent": DESKTOP}))
    assert page.index('id="qr-code"') < page.index('id="open-in-app"')
    assert '<details class="manual" id="manual-key">' in page and "phone-notice" not in page
