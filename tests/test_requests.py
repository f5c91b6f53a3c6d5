"""Pengajuan layanan through the test client: the employee files, a reviewer verifies or
sends back, a second reviewer approves (four-eyes), approval changes the employee's data;
documents, access and the settings file."""

import io
import re
import zipfile
from datetime import date

import pytest

import demo
import models
from tests.helpers import ADMIN_NIK, ADMIN_NIP, HELPDESK_NIK, HELPDESK_NIP, NIP, first_login, make_employee, sign_in_as

PDF = demo.tiny_pdf(["Dokumen pengajuan", "Budi Santoso"])
SECOND_NIP, SECOND_NIK = "198202022008012004", "3273014202820004"


@pytest.fixture
def budi(app, clock):
    with models.db.connection_context():
        make_employee()
    browser = app.test_client()
    first_login(browser)
    return browser


@pytest.fixture
def reviewer(app, budi):
    client = app.test_client()
    sign_in_as(client, "admin")
    return client


@pytest.fixture
def second_reviewer(app, budi):
    client = app.test_client()
    sign_in_as(client, "admin", nip=SECOND_NIP, nik=SECOND_NIK)
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def start(client, kind, subkind):
    response = client.post(f"/layanan/baru/{kind}", data={"subkind": subkind})
    assert response.status_code == 303, text(response)
    return int(response.location.rsplit("/", 1)[1])


def upload(client, request_id, requirement, content=PDF, filename="berkas.pdf"):
    return client.post(f"/layanan/{request_id}/dokumen/{requirement}",
                       data={"berkas": (io.BytesIO(content), filename)}, content_type="multipart/form-data")


def file_all(client, request_id, *requirements):
    for requirement in requirements:
        assert upload(client, request_id, requirement).status_code == 303


def mails_to(address):
    with models.db.connection_context():
        return [m.subject for m in models.Message.select().where(models.Message.recipient == address)
                .order_by(models.Message.id)]


PROMOTION_DOCUMENTS = ("sk_pangkat", "skp_1", "skp_2")


def test_promotion_reguler_sent_back_fixed_verified_and_approved_by_a_second_reviewer(
        budi, reviewer, second_reviewer):
    start_page = text(budi.get("/layanan/baru/kenaikan_pangkat"))
    assert "Memenuhi syarat sejak 01-04-2025" in start_page
    request_id = start(budi, "kenaikan_pangkat", "reguler")
    missing = budi.post(f"/layanan/{request_id}/ajukan")
    assert missing.status_code == 422 and "Unggah SK pangkat terakhir" in text(missing)
    file_all(budi, request_id, "sk_pangkat", "skp_1")
    assert budi.post(f"/layanan/{request_id}/ajukan").status_code == 422  # SKP 2 still missing
    file_all(budi, request_id, "skp_2")
    assert budi.post(f"/layanan/{request_id}/ajukan").status_code == 303

    queue = text(reviewer.get("/admin/layanan?jenis=kenaikan_pangkat"))
    assert "Budi Santoso" in queue and f"#{request_id}" in queue
    assert reviewer.post(f"/admin/layanan/{request_id}/ambil").status_code == 303
    no_note = reviewer.post(f"/admin/layanan/{request_id}", data={"keputusan": "perbaikan"})
    assert no_note.status_code == 422 and "Tulis catatan" in text(no_note)
    assert reviewer.post(f"/admin/layanan/{request_id}", data={
        "keputusan": "perbaikan", "catatan": "SKP 2024 belum ditandatangani atasan"}).status_code == 303

    page = text(budi.get(f"/layanan/{request_id}"))
    assert "Perlu perbaikan" in page and "SKP 2024 belum ditandatangani atasan" in page
    with models.db.connection_context():
        skp = models.RequestDocument.get((models.RequestDocument.request == request_id)
                                         & (models.RequestDocument.requirement == "skp_2")).document_id
    assert budi.post(f"/layanan/{request_id}/dokumen/{skp}/hapus").status_code == 303
    file_all(budi, request_id, "skp_2")
    assert budi.post(f"/layanan/{request_id}/ajukan").status_code == 303

    assert reviewer.post(f"/admin/layanan/{request_id}", data={"keputusan": "verifikasi"}).status_code == 303
    # Four-eyes: the one who verified cannot approve.
    refused = reviewer.post(f"/admin/layanan/{request_id}", data={
        "keputusan": "setujui", "golongan": "III/b", "nomor_sk": "823/1/2026", "tmt": "2026-10-01"})
    assert refused.status_code == 403 and "empat mata" in text(refused)
    bad = second_reviewer.post(f"/admin/layanan/{request_id}", data={
        "keputusan": "setujui", "golongan": "III/b", "nomor_sk": "", "tmt": "1-10-2026"})
    assert bad.status_code == 422 and "Nomor SK wajib diisi" in text(bad) and "TTTT-BB-HH" in text(bad)
    assert second_reviewer.post(f"/admin/layanan/{request_id}", data={
        "keputusan": "setujui", "golongan": "III/b", "nomor_sk": "823/1/2026", "tmt": "2026-10-01"}).status_code == 303

    profile = text(budi.get("/dashboard"))
    assert "Penata Muda Tingkat I" in profile and "III/b" in profile and "01-10-2026" in profile
    history = text(budi.get("/dashboard/riwayat"))
    assert "823/1/2026" in history
    detail = text(budi.get(f"/layanan/{request_id}"))
    assert detail.count("oleh pemeriksa NIP") == 3 and "Disetujui" in detail and "WIB" in detail
    subjects = mails_to("budi@example.go.id")
    assert subjects.count("Pengajuan kenaikan pangkat diajukan") == 2
    assert {"Pengajuan kenaikan pangkat dikembalikan untuk diperbaiki", "Pengajuan kenaikan pangkat diverifikasi",
            "Pengajuan kenaikan pangkat disetujui"} <= set(subjects)
    with models.db.connection_context():
        employee = models.Employee.by_nip(NIP)
        assert (employee.golongan, employee.tmt_pangkat) == ("III/b", date(2026, 10, 1))
        item = models.ServiceRequest.get_by_id(request_id)
        assert (item.verified_by, item.decided_by) == (ADMIN_NIP, SECOND_NIP)
        assert models.Notification.select().where(models.Notification.employee == employee).count() == 3
        assert models.AuditEvent.select().where((models.AuditEvent.event == "request.disetujui")
                                                & (models.AuditEvent.nip == NIP)).exists()
    # The documents stay with the request and on the Dokumen page.
    documents = text(budi.get("/dashboard/dokumen"))
    assert documents.count("SKP dua tahun terakhir") == 1 and "SK pangkat terakhir" in documents


def test_promotion_not_yet_eligible_is_refused(app, clock):
    client = app.test_client()
    with models.db.connection_context():
        make_employee(tmt_pangkat=date(2024, 4, 1))
    first_login(client)
    page = text(client.get("/layanan/baru/kenaikan_pangkat"))
    assert "paling cepat 01-04-2028" in page
    response = client.post("/layanan/baru/kenaikan_pangkat", data={"subkind": "reguler"})
    assert response.status_code == 422 and "Belum memenuhi syarat" in text(response)
    assert client.post("/layanan/baru/kenaikan_pangkat", data={"subkind": "fungsional"}).status_code == 303


def test_transfer_between_units_updates_unit_and_history(budi, reviewer, second_reviewer):
    request_id = start(budi, "mutasi", "antar_unit")
    empty = budi.post(f"/layanan/{request_id}", data={"tujuan": "", "alasan": ""})
    assert empty.status_code == 422 and "wajib diisi" in text(empty)
    assert budi.post(f"/layanan/{request_id}", data={"tujuan": "Dinas Kesehatan",
                                                     "alasan": "Dekat dengan rumah"}).status_code == 303
    file_all(budi, request_id, "surat_permohonan", "persetujuan_asal")
    assert budi.post(f"/layanan/{request_id}/ajukan").status_code == 303
    assert "Dekat dengan rumah" in text(reviewer.get(f"/admin/layanan/{request_id}"))
    reviewer.post(f"/admin/layanan/{request_id}", data={"keputusan": "verifikasi"})
    assert second_reviewer.post(f"/admin/layanan/{request_id}", data={
        "keputusan": "setujui", "nomor_sk": "821/7/2026", "tmt": "2026-12-01"}).status_code == 303
    assert "Dinas Kesehatan" in text(budi.get("/dashboard"))
    assert "821/7/2026" in text(budi.get("/dashboard/riwayat"))
    assert "Pengajuan mutasi disetujui" in mails_to("budi@example.go.id")


def test_data_correction_shows_old_and_new_and_applies_on_approval(budi, reviewer, second_reviewer):
    request_id = start(budi, "pemutakhiran_data", "data_pribadi")
    form = text(budi.get(f"/layanan/{request_id}"))
    assert 'value="Budi Santoso"' in form and "NIP" not in re.findall(r'name="(\w+)"', form)
    unchanged = budi.post(f"/layanan/{request_id}", data={"nama": "Budi Santoso"})
    assert unchanged.status_code == 422 and "Tidak ada data yang berubah" in text(unchanged)
    assert budi.post(f"/layanan/{request_id}", data={
        "nama": "Budi Santosa", "gelar_belakang": "S.Kom.", "tempat_lahir": "Bandung",
        "keluarga": "Istri, Siti Aminah, 1992-03-04", "nip": "199901012020011999", "status": "pensiun"}
    ).status_code == 303
    file_all(budi, request_id, "bukti")
    assert budi.post(f"/layanan/{request_id}/ajukan").status_code == 303
    review = text(reviewer.get(f"/admin/layanan/{request_id}"))
    assert re.search(r"Nama \(tanpa gelar\)</th><td>Budi Santoso</td><td>Budi Santosa</td>", review)
    reviewer.post(f"/admin/layanan/{request_id}", data={"keputusan": "verifikasi"})
    assert second_reviewer.post(f"/admin/layanan/{request_id}", data={"keputusan": "setujui"}).status_code == 303
    with models.db.connection_context():
        employee = models.Employee.by_nip(NIP)
        assert (employee.nama, employee.gelar_belakang, employee.tempat_lahir) == ("Budi Santosa", "S.Kom.", "Bandung")
        assert (employee.nip, employee.status) == (NIP, "aktif")  # never self-editable
        event = models.AuditEvent.get((models.AuditEvent.event == "employee.updated") & (models.AuditEvent.nip == NIP))
        assert "nama" in event.detail and event.actor_nip == SECOND_NIP
    assert "Istri, Siti Aminah" in text(budi.get("/dashboard"))


def test_documents_are_checked_and_private(app, budi, reviewer):
    request_id = start(budi, "kenaikan_pangkat", "reguler")
    not_pdf = upload(budi, request_id, "sk_pangkat", b"MZ\x90 not a pdf", "sk.pdf")
    assert not_pdf.status_code == 422 and "bukan PDF" in text(not_pdf)
    big = upload(budi, request_id, "sk_pangkat", PDF[:-6] + b" " * (5 * 2**20) + b"%%EOF\n")
    assert big.status_code == 413 and "terlalu besar" in text(big)
    assert upload(budi, request_id, "tidak_ada").status_code == 404
    file_all(budi, request_id, *PROMOTION_DOCUMENTS)
    with models.db.connection_context():
        document_id = models.RequestDocument.get(models.RequestDocument.request == request_id).document_id
    # A draft is not in the queue, and its documents are not for reviewers yet.
    assert reviewer.get(f"/admin/layanan/{request_id}/dokumen/{document_id}").status_code == 404
    budi.post(f"/layanan/{request_id}/ajukan")
    assert reviewer.get(f"/admin/layanan/{request_id}/dokumen/{document_id}").data.startswith(b"%PDF-")
    assert reviewer.get(f"/admin/layanan/{request_id + 1}/dokumen/{document_id}").status_code == 404
    # All of them at once, named by checklist item, for the reviewer only.
    bundle = reviewer.get(f"/admin/layanan/{request_id}/dokumen.zip")
    assert bundle.status_code == 200 and bundle.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as archive:
        assert archive.namelist() == ["01 SK pangkat terakhir - berkas.pdf", "02 SKP satu tahun terakhir - berkas.pdf",
                                      "03 SKP dua tahun terakhir - berkas.pdf"]
        assert all(archive.read(name) == PDF for name in archive.namelist())
    assert budi.get(f"/admin/layanan/{request_id}/dokumen.zip").status_code == 403
    # Submitted: the employee can no longer change it.
    assert upload(budi, request_id, "sk_pangkat").status_code == 409
    other = app.test_client()
    with models.db.connection_context():
        make_employee(nip="198505052010011005", nik="3273014505850005", email="siti@example.go.id", nama="Siti")
    first_login(other, "198505052010011005", "3273014505850005")
    for url in (f"/layanan/{request_id}", f"/dashboard/dokumen/{document_id}"):
        assert other.get(url).status_code == 404
    assert upload(other, request_id, "sk_pangkat").status_code == 404
    assert other.post(f"/layanan/{request_id}/ajukan").status_code == 404


def test_helpdesk_without_review_rights_and_own_requests_are_refused(app, budi, reviewer):
    request_id = start(budi, "mutasi", "antar_unit")
    budi.post(f"/layanan/{request_id}", data={"tujuan": "Bappeda", "alasan": "Keahlian"})
    file_all(budi, request_id, "surat_permohonan", "persetujuan_asal")
    budi.post(f"/layanan/{request_id}/ajukan")
    helpdesk = app.test_client()
    sign_in_as(helpdesk, "helpdesk", nip=HELPDESK_NIP, nik=HELPDESK_NIK)
    assert helpdesk.get("/admin/layanan").status_code == 403
    assert helpdesk.get(f"/admin/layanan/{request_id}").status_code == 403
    assert helpdesk.post(f"/admin/layanan/{request_id}", data={"keputusan": "verifikasi"}).status_code == 403
    own = start(reviewer, "mutasi", "antar_unit")
    with models.db.connection_context():
        models.ServiceRequest.update(status="diajukan").where(models.ServiceRequest.id == own).execute()
    assert reviewer.get(f"/admin/layanan/{own}").status_code == 403
    assert ADMIN_NIK  # the reviewer is the admin of tests.helpers


def test_four_eyes_can_be_switched_off(make_app, clock):
    app = make_app(FOUR_EYES=False)
    budi = app.test_client()
    with models.db.connection_context():
        make_employee()
    first_login(budi)
    reviewer = app.test_client()
    sign_in_as(reviewer, "admin")
    request_id = start(budi, "mutasi", "antar_unit")
    budi.post(f"/layanan/{request_id}", data={"tujuan": "Bappeda", "alasan": "Keahlian"})
    file_all(budi, request_id, "surat_permohonan", "persetujuan_asal")
    budi.post(f"/layanan/{request_id}/ajukan")
    reviewer.post(f"/admin/layanan/{request_id}", data={"keputusan": "verifikasi"})
    assert reviewer.post(f"/admin/layanan/{request_id}", data={
        "keputusan": "setujui", "nomor_sk": "1", "tmt": "2026-12-01"}).status_code == 303


def test_settings_file_switches_kinds_off_and_rewords_the_checklist(make_app, clock, tmp_path):
    settings_file = tmp_path / "layanan.toml"
    settings_file.write_text('[mutasi]\naktif = false\n\n[kenaikan_pangkat]\npemeriksa = ["helpdesk", "admin"]\n'
                             '[kenaikan_pangkat.dokumen]\nsk_pangkat = "SK pangkat terakhir (legalisir)"\n')
    app = make_app(LAYANAN_FILE=str(settings_file))
    client = app.test_client()
    with models.db.connection_context():
        make_employee()
    first_login(client)
    page = text(client.get("/layanan"))
    assert "Kenaikan pangkat" in page and "/layanan/baru/mutasi" not in page
    assert client.get("/layanan/baru/mutasi").status_code == 404
    assert "SK pangkat terakhir (legalisir)" in text(client.get("/layanan/baru/kenaikan_pangkat"))


@pytest.mark.parametrize("content, message", [
    ("[cuti_besar]\naktif = false\n", "bukan jenis layanan"),
    ("[mutasi]\naktif = \"tidak\"\n", "isi true atau false"),
    ("[mutasi.dokumen]\nsk_pangkat = \"x\"\n", "kunci yang dikenal"),
    ("[mutasi\n", "bukan TOML"),
])
def test_a_wrong_settings_file_stops_the_start(make_app, tmp_path, content, message):
    import settings

    settings_file = tmp_path / "layanan.toml"
    settings_file.write_text(content)
    with pytest.raises(settings.SettingsError, match=message):
        make_app(LAYANAN_FILE=str(settings_file))


def test_weekly_digest_lists_requests_still_waiting(app, budi, clock):
    request_id = start(budi, "mutasi", "antar_unit")
    budi.post(f"/layanan/{request_id}", data={"tujuan": "Bappeda", "alasan": "Keahlian"})
    file_all(budi, request_id, "surat_permohonan", "persetujuan_asal")
    budi.post(f"/layanan/{request_id}/ajukan")
    clock.advance(days=8)
    result = app.test_cli_runner().invoke(args=["request-digest"])
    assert result.exit_code == 0 and "1 ringkasan" in result.output
    with models.db.connection_context():
        digest = models.Message.select().where(models.Message.subject.contains("masih berjalan")).get()
    assert "Mutasi (Menunggu verifikasi)" in digest.body and "8 hari" in digest.body


def test_request_pages_fit_the_page_budget_gzipped(budi, reviewer):
    """DESIGN.md §4: the new pages, a full queue page included, stay small compressed."""
    request_id = start(budi, "kenaikan_pangkat", "reguler")
    file_all(budi, request_id, *PROMOTION_DOCUMENTS)
    budi.post(f"/layanan/{request_id}/ajukan")
    with models.db.connection_context():
        employee = models.Employee.by_nip(NIP)
        for _ in range(30):  # more than one page of the queue
            models.ServiceRequest.create(employee=employee, kind="kenaikan_pangkat", subkind="reguler",
                                         status="diajukan", submitted_at=models.ServiceRequest.created_at.default())
    pages = [(budi, "/layanan"), (budi, "/layanan/baru/kenaikan_pangkat"), (budi, f"/layanan/{request_id}"),
             (reviewer, "/admin/layanan"), (reviewer, f"/admin/layanan/{request_id}")]
    for client, path in pages:
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip", path
        assert len(response.data) <= 30 * 1024, (path, len(response.data))


def test_every_request_route_refuses_another_employee(app, budi):
    """From the URL map: each route of the employee's side naming a request answers another
    employee as if the request did not exist, whatever the method."""
    request_id = start(budi, "mutasi", "antar_unit")
    file_all(budi, request_id, "surat_permohonan")
    with models.db.connection_context():
        document_id = models.RequestDocument.get(models.RequestDocument.request == request_id).document_id
        make_employee(nip="198505052010011005", nik="3273014505850005", email="siti@example.go.id", nama="Siti")
    other = app.test_client()
    first_login(other, "198505052010011005", "3273014505850005")
    values = {"request_id": request_id, "document_id": document_id, "requirement": "surat_permohonan"}
    routes = [(method, rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("requests.")
              and "request_id" in rule.arguments for method in rule.methods - {"HEAD", "OPTIONS"}]
    assert len(routes) == 5  # detail, save, document upload and removal, submit
    for method, rule in routes:
        with app.test_request_context():
            url = app.url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})
        assert other.open(url, method=method, data={"tujuan": "x", "alasan": "y"}).status_code == 404, url
    with models.db.connection_context():
        item = models.ServiceRequest.get_by_id(request_id)
        assert item.status == "draf" and item.values.get("tujuan", "") == "" and len(item.documents()) == 1
