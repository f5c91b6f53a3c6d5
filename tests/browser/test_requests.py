"""Pengajuan layanan in real headless Chromium, JavaScript on and off, with the mail
delivered over SMTP to a real server on loopback: an employee files a kenaikan pangkat
reguler with its documents, gets "perlu perbaikan", fixes and resubmits; one reviewer
verifies, a second one approves (four-eyes); the profile, the history and the mailbox show
the new pangkat. The same for a transfer between units and a data correction. The three
people sign in through the test client (CSRF off for those set-up requests only) and their
session cookies go into three Chromium contexts."""

from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

import demo
from tests import mailserver
from tests.helpers import first_login, sign_in_as
from tests.live import live_portal

SECOND_NIP, SECOND_NIK = "198202022008012004", "3273014202820004"




@pytest.fixture
def live_server(tmp_path, smtp):
    with live_portal(tmp_path / "portal.db", smtp_port=smtp.port) as server:
        yield server


def signed_in(live_server, sign_in) -> str:
    """The session cookie of someone signed in by `sign_in(client)` through the test client."""
    app = live_server.app
    trusted = app.config["TRUSTED_HOSTS"]
    app.config.update(WTF_CSRF_ENABLED=False, TRUSTED_HOSTS=[*trusted, "localhost"])
    try:
        client = app.test_client()
        sign_in(client)
        return client.get_cookie("session").value
    finally:
        app.config.update(WTF_CSRF_ENABLED=True, TRUSTED_HOSTS=trusted)


@pytest.fixture
def people(browser, live_server, java_script_enabled, tmp_path):
    live_server.employee()
    cookies = {"pegawai": signed_in(live_server, first_login),
               "pemeriksa": signed_in(live_server, lambda c: sign_in_as(c, "admin")),
               "pemeriksa2": signed_in(live_server, lambda c: sign_in_as(c, "admin", nip=SECOND_NIP,
                                                                            nik=SECOND_NIK))}
    contexts, pages = [], {}
    for who, cookie in cookies.items():
        context = browser.new_context(base_url=live_server.url, java_script_enabled=java_script_enabled,
                                      locale="id-ID", timezone_id="Asia/Jakarta",
                                      viewport={"width": 800, "height": 900})
        context.set_default_timeout(10_000)
        context.add_cookies([{"name": "session", "value": cookie, "url": live_server.url}])
        contexts.append(context)
        pages[who] = context.new_page()
    try:
        yield SimpleNamespace(**pages)
    finally:
        for context in contexts:
            context.close()


def upload(page, label: str, path):
    form = page.locator("form", has=page.get_by_label(f"Berkas PDF {label}", exact=True))
    form.get_by_label(f"Berkas PDF {label}", exact=True).set_input_files(path)
    form.get_by_role("button", name="Unggah").click()
    expect(page.locator(".alert.success", has_text=path.name)).to_be_visible()


def test_promotion_filed_sent_back_fixed_and_approved_under_four_eyes(people, smtp, tmp_path):
    files = {}
    for name in ("sk-pangkat", "skp-2025", "skp-2024", "skp-2024-ditandatangani"):
        files[name] = tmp_path / f"{name}.pdf"
        files[name].write_bytes(demo.tiny_pdf([name]))
    employee = people.pegawai
    employee.goto("/dashboard")
    employee.get_by_role("navigation", name="Menu").get_by_role("link", name="Layanan").click()
    employee.get_by_role("link", name="Kenaikan pangkat").click()
    expect(employee.locator("#syarat-reguler")).to_contain_text("Memenuhi syarat sejak 01-04-2025")
    employee.get_by_label("Reguler").check()
    employee.get_by_role("button", name="Mulai pengajuan").click()
    expect(employee.locator("#status-pengajuan")).to_have_text("Draf")
    upload(employee, "SK pangkat terakhir", files["sk-pangkat"])
    upload(employee, "SKP satu tahun terakhir", files["skp-2025"])
    employee.get_by_role("button", name="Ajukan", exact=True).click()
    expect(employee.locator(".error-summary")).to_contain_text("Unggah SKP dua tahun terakhir")
    upload(employee, "SKP dua tahun terakhir", files["skp-2024"])
    employee.get_by_role("button", name="Ajukan", exact=True).click()
    expect(employee.locator("#status-pengajuan")).to_have_text("Menunggu verifikasi")
    request_path = urlparse(employee.url).path.lstrip("/")  # layanan/<id>

    reviewer = people.pemeriksa
    reviewer.goto("/admin/layanan")
    reviewer.locator("#antrean-layanan").get_by_role("link").first.click()
    expect(reviewer.locator("#dokumen-pengajuan")).to_contain_text("skp-2024.pdf")
    reviewer.get_by_role("button", name="Perlu perbaikan").click()
    expect(reviewer.locator("#catatan-error")).to_contain_text("Tulis catatan")
    reviewer.get_by_label("Catatan (wajib untuk perlu perbaikan dan tolak)").fill("SKP 2024 belum ditandatangani")
    reviewer.get_by_role("button", name="Perlu perbaikan").click()
    expect(reviewer.get_by_role("heading", level=1)).to_contain_text("Pengajuan layanan")

    employee.goto(f"/{request_path}")
    expect(employee.locator("#catatan-pemeriksa")).to_contain_text("SKP 2024 belum ditandatangani")
    employee.get_by_role("button", name="Hapus skp-2024.pdf").click()
    expect(employee.locator("#daftar-dokumen")).not_to_contain_text("skp-2024.pdf")
    upload(employee, "SKP dua tahun terakhir", files["skp-2024-ditandatangani"])
    employee.get_by_role("button", name="Ajukan kembali").click()
    expect(employee.locator("#status-pengajuan")).to_have_text("Menunggu verifikasi")

    reviewer.goto(f"/admin/{request_path}")
    reviewer.get_by_role("button", name="Verifikasi").click()
    reviewer.goto(f"/admin/{request_path}")
    expect(reviewer.locator("#empat-mata")).to_contain_text("Aturan empat mata")
    expect(reviewer.get_by_role("button", name="Setujui")).to_have_count(0)

    approver = people.pemeriksa2
    approver.goto(f"/admin/{request_path}")
    expect(approver.get_by_label("Golongan ruang baru")).to_have_value("III/b")
    approver.get_by_label("Nomor SK").fill("823/45/BKPSDM/2026")
    approver.get_by_label("TMT").fill("2026-10-01")
    approver.get_by_role("button", name="Setujui").click()
    expect(approver.get_by_role("heading", level=1)).to_contain_text("Pengajuan layanan")

    employee.goto("/dashboard")
    expect(employee.locator("dl.data")).to_contain_text("Penata Muda Tingkat I, III/b")
    expect(employee.locator("dl.data")).to_contain_text("TMT 01-10-2026")
    employee.goto("/dashboard/riwayat")
    expect(employee.locator("body")).to_contain_text("823/45/BKPSDM/2026")
    employee.goto(f"/{request_path}")
    # Created, submitted twice, sent back, verified, approved.
    expect(employee.locator("#riwayat-pengajuan li")).to_have_count(6)
    for words in ("dikembalikan untuk diperbaiki", "diverifikasi", "disetujui"):
        message = smtp.inbox.wait_for_subject("budi@example.go.id", words)
        assert "Pengajuan kenaikan pangkat" in message["Subject"]
    assert request_path in mailserver.link_in(smtp.inbox.wait_for_subject("budi@example.go.id", "disetujui"))


def start_request(employee, kind: str, subkind: str) -> str:
    employee.goto("/layanan")
    employee.get_by_role("link", name=kind).click()
    employee.get_by_label(subkind).check()
    employee.get_by_role("button", name="Mulai pengajuan").click()
    expect(employee.locator("#status-pengajuan")).to_have_text("Draf")
    return urlparse(employee.url).path.lstrip("/")  # layanan/<id>


def save_fields(employee, values: dict) -> None:
    for label, value in values.items():
        employee.get_by_label(label, exact=True).fill(value)
    employee.get_by_role("button", name="Simpan isian").click()
    expect(employee.locator(".alert.success", has_text="Isian tersimpan")).to_be_visible()


def verify_then_approve(people, request_path: str, **approval) -> None:
    """The first reviewer verifies; under four-eyes the second one approves."""
    people.pemeriksa.goto(f"/admin/{request_path}")
    people.pemeriksa.get_by_role("button", name="Verifikasi").click()
    expect(people.pemeriksa.get_by_role("heading", level=1)).to_contain_text("Pengajuan layanan")
    approver = people.pemeriksa2
    approver.goto(f"/admin/{request_path}")
    for label, value in approval.items():
        approver.get_by_label(label).fill(value)
    approver.get_by_role("button", name="Setujui").click()
    expect(approver.get_by_role("heading", level=1)).to_contain_text("Pengajuan layanan")


def test_transfer_between_units_moves_the_employee(people, smtp, tmp_path):
    employee = people.pegawai
    request_path = start_request(employee, "Mutasi", "Antar unit kerja")
    save_fields(employee, {"Unit kerja atau instansi tujuan": "Dinas Kesehatan", "Alasan pindah": "Dekat rumah"})
    for name, label in (("permohonan", "Surat permohonan pindah"),
                        ("persetujuan", "Surat persetujuan pimpinan unit asal")):
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(demo.tiny_pdf([name]))
        upload(employee, label, path)
    employee.get_by_role("button", name="Ajukan", exact=True).click()
    expect(employee.locator("#status-pengajuan")).to_have_text("Menunggu verifikasi")

    people.pemeriksa.goto(f"/admin/{request_path}")
    expect(people.pemeriksa.locator("body")).to_contain_text("Dekat rumah")
    verify_then_approve(people, request_path, **{"Nomor SK": "821/7/2026", "TMT": "2026-12-01"})

    employee.goto("/dashboard")
    expect(employee.locator("dl.data")).to_contain_text("Dinas Kesehatan")
    employee.goto("/dashboard/riwayat")
    expect(employee.locator("body")).to_contain_text("821/7/2026")
    assert "Pengajuan mutasi" in smtp.inbox.wait_for_subject("budi@example.go.id", "disetujui")["Subject"]


def test_a_data_correction_is_reviewed_side_by_side_and_applied(people, smtp, tmp_path):
    employee = people.pegawai
    request_path = start_request(employee, "Pemutakhiran data", "Data pribadi")
    expect(employee.get_by_label("Nama (tanpa gelar)", exact=True)).to_have_value("Budi Santoso")
    save_fields(employee, {"Nama (tanpa gelar)": "Budi Santosa", "Gelar belakang (boleh kosong)": "S.Kom.",
                           "Tempat lahir (boleh kosong)": "Bandung"})
    proof = tmp_path / "ijazah.pdf"
    proof.write_bytes(demo.tiny_pdf(["ijazah"]))
    upload(employee, "Dokumen bukti (ijazah, akta kelahiran, kartu keluarga, atau KTP)", proof)
    employee.get_by_role("button", name="Ajukan", exact=True).click()
    expect(employee.locator("#status-pengajuan")).to_have_text("Menunggu verifikasi")

    people.pemeriksa.goto(f"/admin/{request_path}")
    name_row = people.pemeriksa.locator("#perubahan-data tr", has_text="Nama (tanpa gelar)")
    expect(name_row.locator("td")).to_have_text(["Budi Santoso", "Budi Santosa"])
    verify_then_approve(people, request_path)

    employee.goto("/dashboard")
    expect(employee.locator("dl.data")).to_contain_text("Budi Santosa")
    expect(employee.locator("dl.data")).to_contain_text("Bandung")
    assert "Pengajuan pemutakhiran data" in smtp.inbox.wait_for_subject("budi@example.go.id", "disetujui")["Subject"]
