"""The admin's side of the employee records: documents, leave decisions, history import;
and what the employee sees of them."""

import io
import re
from datetime import date

import pytest

import demo
import models
from tests.helpers import ADMIN_NIP, NIP, first_login, make_employee

PDF = demo.tiny_pdf(["SK Kenaikan Pangkat", "Budi Santoso"])


@pytest.fixture
def budi(app, clock):
    """Budi, signed in on his own browser; returns that client."""
    with models.db.connection_context():
        make_employee()
    browser = app.test_client()
    first_login(browser)
    return browser


def upload(client, content=PDF, filename="sk.pdf", **fields):
    data = {"jenis": "SK Kenaikan Pangkat", "nomor": "823/2025", "tanggal": "2025-04-01", **fields,
            "berkas": (io.BytesIO(content), filename)}
    return client.post(f"/admin/pegawai/{NIP}/dokumen", data=data, content_type="multipart/form-data")


def test_uploaded_document_reaches_the_employee(as_role, budi):
    admin = as_role("admin")
    assert upload(admin).location == f"/admin/pegawai/{NIP}"
    listing = budi.get("/dashboard/dokumen").get_data(as_text=True)
    assert "SK Kenaikan Pangkat" in listing and "823/2025" in listing
    with models.db.connection_context():
        document = models.Document.get()
        assert models.Notification.get().title == "Dokumen baru: SK Kenaikan Pangkat"
    assert budi.get(f"/dashboard/dokumen/{document.id}").data == PDF
    assert admin.get(f"/admin/dokumen/{document.id}").data == PDF
    assert "dokumen diunggah" in admin.get(f"/admin/pegawai/{NIP}").get_data(as_text=True)


@pytest.mark.parametrize("content, filename, message", [
    (b"MZ\x90\x00 this is an exe", "sk.pdf", "bukan PDF"),
    (b"", "sk.pdf", "Pilih berkas PDF"),
    (PDF, "sk.pdf", None),
])
def test_document_type_checked_by_content(as_role, budi, content, filename, message):
    admin = as_role("admin")
    response = upload(admin, content, filename)
    if message is None:
        assert response.status_code == 303
    else:
        assert response.status_code == 422 and message in response.get_data(as_text=True)


def pdf_of(size: int) -> bytes:
    return PDF[:-6] + b" " * (size - len(PDF)) + PDF[-6:]


def test_a_pdf_just_over_five_mb_is_refused_with_the_form_kept(as_role, budi):
    """The body fits the upload view's limit: the form comes back (422) with the message."""
    admin = as_role("admin")
    response = upload(admin, pdf_of(models.Document.MAX_BYTES + 1), nomor="823/2025/999")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Berkas terlalu besar. Batasnya 5 MB." in page and 'value="823/2025/999"' in page
    assert upload(admin, pdf_of(models.Document.MAX_BYTES)).status_code == 303  # exactly 5 MB is taken
    with models.db.connection_context():
        assert [d.size for d in models.Document.select()] == [models.Document.MAX_BYTES]


def test_a_body_far_over_five_mb_is_refused_before_it_is_read(as_role, budi):
    """Past the view's limit the body is not read at all (413), with the same message."""
    admin = as_role("admin")
    response = upload(admin, pdf_of(models.Document.MAX_BYTES + 2**20))
    assert response.status_code == 413
    assert "Berkas terlalu besar. Batasnya 5 MB." in response.get_data(as_text=True)
    with models.db.connection_context():
        assert not models.Document.select().exists()


def test_document_form_errors(as_role, budi):
    admin = as_role("admin")
    response = upload(admin, jenis="", tanggal="1-4-2025")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Isi jenis dokumen" in page and "TTTT-BB-HH" in page


def test_admin_deletes_a_document(as_role, budi):
    admin = as_role("admin")
    upload(admin)
    with models.db.connection_context():
        document = models.Document.get()
    assert admin.post(f"/admin/pegawai/{NIP}/dokumen/{document.id}/hapus").status_code == 303
    assert budi.get(f"/dashboard/dokumen/{document.id}").status_code == 404


def ask_leave(budi, start="2026-12-07", end="2026-12-09"):
    assert budi.post("/dashboard/cuti", data={"jenis": "tahunan", "start": start, "end": end,
                                              "reason": "Acara keluarga"}).status_code == 303
    with models.db.connection_context():
        return models.LeaveRequest.select().order_by(models.LeaveRequest.id.desc()).get()


def test_leave_approval_notifies_the_employee(as_role, budi):
    admin = as_role("admin")
    item = ask_leave(budi)
    assert "Budi Santoso" in admin.get("/admin/cuti").get_data(as_text=True)
    assert admin.post(f"/admin/cuti/{item.id}", data={"keputusan": "setujui"}).location == "/admin/cuti"
    page = budi.get(f"/dashboard/cuti/{item.id}").get_data(as_text=True)
    assert "Disetujui" in page
    assert '<span class="badge">1</span>' in budi.get("/dashboard").get_data(as_text=True)
    with models.db.connection_context():
        mail = models.Message.select().where((models.Message.recipient == "budi@example.go.id")
                                             & models.Message.subject.contains("cuti")).get()
        assert mail.subject == "Pengajuan cuti Anda disetujui" and "07-12-2026" in mail.body


def test_rejection_needs_a_note(as_role, budi):
    admin = as_role("admin")
    item = ask_leave(budi)
    admin.post(f"/admin/cuti/{item.id}", data={"keputusan": "tolak"})
    assert "Tulis alasan penolakan" in admin.get("/admin/cuti").get_data(as_text=True)
    admin.post(f"/admin/cuti/{item.id}", data={"keputusan": "tolak", "catatan": "Tenaga kurang pada tanggal itu"})
    page = budi.get(f"/dashboard/cuti/{item.id}").get_data(as_text=True)
    assert "Ditolak" in page and "Tenaga kurang" in page
    # The timeline: who decided, and the note, as for every other kind of request.
    timeline = re.search(r'<ol class="timeline" id="riwayat-pengajuan">(.*?)</ol>', page, re.S).group(1)
    assert "<strong>Ditolak</strong>" in timeline and "oleh pemeriksa NIP" in timeline
    assert "Catatan: Tenaga kurang pada tanggal itu" in timeline
    # A decided request can't be decided again.
    admin.post(f"/admin/cuti/{item.id}", data={"keputusan": "setujui"})
    with models.db.connection_context():
        assert models.LeaveRequest.get_by_id(item.id).status == "ditolak"


def test_approval_refused_when_it_clashes(as_role, budi):
    admin = as_role("admin")
    first = ask_leave(budi, "2026-12-07", "2026-12-08")
    second = ask_leave(budi, "2026-12-08", "2026-12-09")  # waiting requests may overlap
    admin.post(f"/admin/cuti/{first.id}", data={"keputusan": "setujui"})
    admin.post(f"/admin/cuti/{second.id}", data={"keputusan": "setujui"})
    with models.db.connection_context():
        assert models.LeaveRequest.get_by_id(second.id).status == "diajukan"


def test_admin_cannot_decide_own_leave(as_role):
    client = as_role("admin")
    with models.db.connection_context():
        item = models.LeaveRequest.create(employee=models.Employee.by_nip(ADMIN_NIP), jenis="sakit",
                                          start=date(2026, 12, 1),
                                          end=date(2026, 12, 1), reason="Demam")
    assert client.post(f"/admin/cuti/{item.id}", data={"keputusan": "setujui"}).status_code == 403


def test_history_import_through_the_console(as_role, budi):
    admin = as_role("admin")
    data = ("nip,jenis,jabatan_atau_pangkat,unit_kerja_atau_golongan,tmt,nomor_sk\n"
            f"{NIP},jabatan,Pranata Komputer Ahli Muda,Diskominfo,2025-01-02,821/1\n"
            f"{NIP},pangkat,Penata Muda Tingkat I,III/b,2025-04-01,823/2\n"
            "123,jabatan,x,y,2025-01-01,\n").encode()
    response = admin.post("/admin/riwayat/unggah", data={"berkas": (io.BytesIO(data), "riwayat.csv")},
                          content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "2 baris baru" in page and "1 baris ditolak" in page
    history = budi.get("/dashboard/riwayat").get_data(as_text=True)
    assert "Pranata Komputer Ahli Muda" in history and "III/b" in history


def test_helpdesk_mfa_reset_removes_recovery_codes(as_role, budi):
    admin = as_role("admin")
    with models.db.connection_context():
        account = models.Account.get(models.Account.employee == models.Employee.by_nip(NIP))
        assert models.RecoveryCode.remaining(account) == 10
    admin.post(f"/admin/pegawai/{NIP}/reset-mfa", data={"verifikasi": "ktp", "alasan": "ponsel hilang"})
    with models.db.connection_context():
        assert models.RecoveryCode.remaining(account) == 0 and not account.has_mfa
