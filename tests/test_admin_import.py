"""Employee CSV upload in the console (views/admin.py upload_post): the same rules and
report as the import-employees command, shown as a table; bad files change nothing."""

import io
import re

import pytest

import models
from tests.helpers import ADMIN_NIP, HEADER, NIP, ROW_AYU, ROW_BUDI, csv_bytes


def upload(client, data: bytes, filename="pegawai.csv"):
    return client.post("/admin/pegawai/unggah", data={"berkas": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def employee_count():
    with models.db.connection_context():
        return models.Employee.select().count()


def error_rows(page):
    table = page.split('id="import-errors"')[1].split("</table>")[0]
    return re.findall(r"<tr><td>(\d+|—)</td><td>([^<]*)</td></tr>", table)


def test_upload_page(as_role):
    as_admin = as_role("admin")
    page = as_admin.get("/admin/pegawai/unggah").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="berkas"' in page and 'type="file"' in page
    assert HEADER in page and "64 MB" in page


def test_upload_creates_then_updates(as_role):
    as_admin = as_role("admin")
    response = upload(as_admin, csv_bytes(ROW_BUDI, ROW_AYU))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 pegawai baru, 0 diperbarui, 0 baris ditolak" in page and "import-errors" not in page
    assert employee_count() == 3  # with the admin
    page = upload(as_admin, csv_bytes(ROW_BUDI.replace("III/a", "III/b"))).get_data(as_text=True)
    assert "0 pegawai baru, 1 diperbarui" in page
    with models.db.connection_context():
        assert models.Employee.by_nip(NIP).golongan == "III/b"
        event = models.AuditEvent.select().where(models.AuditEvent.event == "employees.imported").first()
        assert event.actor_nip == ADMIN_NIP
        assert event.detail == "pegawai.csv: 2 baru, 0 diperbarui, 0 baris ditolak"


def test_bad_rows_listed_with_line_numbers_good_rows_kept(as_role):
    as_admin = as_role("admin")
    response = upload(as_admin, csv_bytes(
        ROW_BUDI,
        ROW_AYU.replace("199505102023212004", "19950510202321200"),  # line 3: 17 digits
        ROW_AYU.replace("199505102023212004", "199513102023212004"),  # line 4: month 13
        ROW_AYU,
        ROW_BUDI.replace("Budi Santoso", "Budi Kembar"),  # line 6: duplicate NIP
    ))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 pegawai baru, 0 diperbarui, 3 baris ditolak" in page
    rows = error_rows(page)
    assert [line for line, _ in rows] == ["3", "4", "6"]
    assert "18 digit" in rows[0][1] and "tanggal lahir" in rows[1][1] and "sudah ada di baris 2" in rows[2][1]
    with models.db.connection_context():
        assert models.Employee.by_nip(NIP).nama == "Budi Santoso"


@pytest.mark.parametrize("data, reason", [
    (b"", "Berkas kosong"),
    (csv_bytes(ROW_BUDI, header="nip;nik;nama"), "header tidak lengkap"),
    (csv_bytes(ROW_BUDI.replace("Budi", "Búdi"), header=HEADER).decode().encode("latin-1"), "UTF-8"),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb4\xff", "UTF-8"),  # an .xlsx by mistake
    (b"\x00\x00\x00", "header tidak lengkap"),
])
def test_unusable_file_changes_nothing(as_role, data, reason):
    as_admin = as_role("admin")
    response = upload(as_admin, data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "0 pegawai baru, 0 diperbarui, 1 baris ditolak" in page
    assert reason in error_rows(page)[0][1]
    assert employee_count() == 1


def test_no_file_chosen(as_role):
    as_admin = as_role("admin")
    response = as_admin.post("/admin/pegawai/unggah", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert 'id="berkas-error"' in response.get_data(as_text=True)


def test_many_errors_are_cut_short(as_role):
    as_admin = as_role("admin")
    rows = [ROW_AYU.replace("5171015005950004", "123")] * 250
    page = upload(as_admin, csv_bytes(*rows)).get_data(as_text=True)
    assert "250 baris ditolak" in page and "Ditampilkan 200 baris pertama" in page
    assert len(error_rows(page)) == 200


def test_file_above_the_site_wide_limit_is_accepted_here(as_role, app):
    # Blank rows are skipped; they make the file 3 MB, above the 2 MB limit of other forms.
    as_admin = as_role("admin")
    padding = "\n".join(["," * 13 + " " * 100] * 28_000)
    data = csv_bytes(ROW_BUDI, padding)
    assert app.config["MAX_CONTENT_LENGTH"] < len(data) < app.config["MAX_UPLOAD_LENGTH"]
    response = upload(as_admin, data)
    assert response.status_code == 200 and "1 pegawai baru" in response.get_data(as_text=True)
    # Elsewhere the small limit still holds.
    assert as_admin.post("/login", data={"nip": "x" * len(data)}).status_code == 413


def test_file_over_the_limit_gets_a_clear_413(as_role, app):
    as_admin = as_role("admin")
    app.config["MAX_UPLOAD_LENGTH"] = 4 * 2**20
    data = csv_bytes(ROW_BUDI) + b"," * (5 * 2**20)
    response = upload(as_admin, data, "besar.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "Berkas terlalu besar. Batasnya 4 MB (sekitar 13.000 baris)" in page and 'id="berkas-error"' in page
    assert employee_count() == 1


def test_the_limit_fits_200_000_long_rows_and_the_page_says_so(as_role, app):
    as_admin = as_role("admin")
    long_row = ("199001012020011001,3273010101900001," + "Prof. Dr. Raden Ayu Siti Nurhaliza Kusumawardhani, "
                "S.Kom., M.T.,siti.nurhaliza.kusumawardhani@dinaspendidikan.jawabarat.go.id,081234567890,PNS,"
                "aktif,Pemerintah Provinsi Jawa Barat,Dinas Pendidikan dan Kebudayaan Bidang SMA,"
                "Guru Ahli Madya,Pembina Tingkat I,IV/b,2020-01-01,2024-04-01\n")
    assert 200_000 * len(long_row.encode()) < app.config["MAX_UPLOAD_LENGTH"]
    assert "Ukuran paling besar 64 MB (sekitar 223.000 baris)." in as_admin.get(
        "/admin/pegawai/unggah").get_data(as_text=True)


def test_a_large_upload_is_written_in_batches_with_duplicates_across_them(as_role, monkeypatch):
    as_admin = as_role("admin")
    monkeypatch.setattr(models.importer, "IMPORT_BATCH", 2)
    response = upload(as_admin, csv_bytes(ROW_BUDI, ROW_AYU.replace("Ayu", "Ayu Satu"), ROW_AYU,
                                          ROW_BUDI.replace("Budi Santoso", "Budi Kembar")))
    page = response.get_data(as_text=True)
    assert "2 pegawai baru, 0 diperbarui, 2 baris ditolak" in page
    rows = error_rows(page)
    assert rows == [("4", rows[0][1]), ("5", rows[1][1])]
    assert "sudah ada di baris 3" in rows[0][1] and "sudah ada di baris 2" in rows[1][1]
    with models.db.connection_context():
        assert models.Employee.by_nip(NIP).nama == "Budi Santoso"


def test_only_the_upload_routes_are_exempt_from_the_global_csrf_check(as_role, app):
    as_admin = as_role("admin")
    app.config["WTF_CSRF_ENABLED"] = True
    assert upload(as_admin, csv_bytes(ROW_BUDI)).status_code == 400
    assert employee_count() == 1
    page = as_admin.get("/admin/pegawai/unggah").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = as_admin.post("/admin/pegawai/unggah", content_type="multipart/form-data",
                             data={"csrf_token": token, "berkas": (io.BytesIO(csv_bytes(ROW_BUDI)), "a.csv")})
    assert response.status_code == 200 and employee_count() == 2
    # They check CSRF themselves (see test_every_change_is_a_post_with_csrf); the OpenID
    # Connect endpoints for apps take the app's credentials instead.
    assert app.extensions["csrf"]._exempt_views == {
        "views.admin.imports.upload_post", "views.admin.documents.document_post",
        "views.requests.document_post", "views.oidc.token", "views.oidc.userinfo", "views.oidc.revoke"}
