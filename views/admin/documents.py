"""Documents attached to an employee (SK and the like): upload, removal, download."""

from datetime import date

from flask import (
    abort,
    flash,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import secure_filename

import fields
import models
from views import audit, go, pdf_download
from views.admin import _target, admin_only, bp
from views.admin.employees import employee_page
from views.admin.imports import read_upload


@bp.post("/pegawai/<nip>/dokumen")
@admin_only
def document_post(nip):
    employee, _ = _target(nip)
    limit_mb = models.Document.MAX_BYTES // 2**20
    try:
        upload = read_upload(models.Document.MAX_BYTES + 64 * 1024)  # room for the form fields
    except RequestEntityTooLarge:
        return employee_page(employee, 413, {"berkas": f"Berkas terlalu besar. Batasnya {limit_mb} MB."})
    form = {k: fields.squashed(request.form.get(k), 100) for k in ("jenis", "nomor", "tanggal")}
    errors = {}
    if not form["jenis"]:
        errors["jenis"] = "Isi jenis dokumen, misalnya \"SK Kenaikan Pangkat\"."
    tanggal = None
    if form["tanggal"]:
        try:
            tanggal = date.fromisoformat(form["tanggal"])
        except ValueError:
            errors["tanggal"] = "Tanggal dengan format TTTT-BB-HH."
    content = upload.read() if upload and upload.filename else b""
    if not content:
        errors["berkas"] = "Pilih berkas PDF."
    elif len(content) > models.Document.MAX_BYTES:
        errors["berkas"] = f"Berkas terlalu besar. Batasnya {limit_mb} MB."
    elif not models.is_pdf(content):
        errors["berkas"] = "Berkas bukan PDF (isinya diperiksa, bukan namanya). Simpan atau pindai sebagai PDF."
    if errors:
        return employee_page(employee, 422, errors, doc_form=form)
    filename = secure_filename(upload.filename) or "dokumen.pdf"
    if not filename.lower().endswith(".pdf"):
        filename += ".pdf"
    document = models.Document.create(employee=employee, jenis=form["jenis"], nomor=form["nomor"],
                                      tanggal=tanggal, filename=filename, size=len(content), content=content)
    models.Notification.create(employee=employee, title=f"Dokumen baru: {document.jenis}",
                               body="Dokumen dapat diunduh di menu Dokumen.",
                               link=url_for("dashboard.documents"))
    audit("document.uploaded", nip=employee.nip, actor=current_user, detail=f"dokumen {document.id}: {document.jenis}")
    flash(f"Dokumen {document.jenis} tersimpan.", "success")
    return go("admin.employee", nip=employee.nip)


@bp.post("/pegawai/<nip>/dokumen/<int:document_id>/hapus")
@admin_only
def document_delete(nip, document_id):
    employee, _ = _target(nip)
    deleted = models.Document.delete().where((models.Document.id == document_id)
                                             & (models.Document.employee == employee)).execute()
    if not deleted:
        abort(404)
    audit("document.deleted", nip=employee.nip, actor=current_user, detail=f"dokumen {document_id}")
    flash("Dokumen dihapus.", "success")
    return go("admin.employee", nip=employee.nip)


@bp.get("/dokumen/<int:document_id>")
@admin_only
def document_download(document_id):
    document = models.Document.get_or_none(models.Document.id == document_id)
    if document is None:
        abort(404)
    return pdf_download(document)


bp.record_once(lambda state: state.app.extensions["csrf"].exempt(document_post))


