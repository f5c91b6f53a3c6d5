"""Pengajuan layanan, the employee's side: the list of their requests, starting one of a
kind (eligibility first), the draft with its fields and documents, submitting, revising
after "perlu perbaikan", and the timeline."""

from flask import Blueprint, abort, current_app, flash, request
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import secure_filename

import mail
import models
from views import audit, for_signed_in_employees, go, respond, today

bp = Blueprint("requests", __name__)


for_signed_in_employees(bp)


def _kind_or_404(key: str):
    kind = models.KINDS.get(key)
    if kind is None or not kind.is_enabled or key == "cuti":
        abort(404)
    return kind


def _own_request(request_id: int):
    item = models.ServiceRequest.owned(request_id, current_user.employee)
    if item is None or item.kind == "cuti":
        abort(404)  # another employee's request looks exactly like a missing one
    return item


@bp.get("/layanan")
def index():
    employee = current_user.employee
    return respond("requests/index.html", "page", kinds=models.enabled_kinds(),
                   requests=list(models.ServiceRequest.of(employee).limit(100)), labels=models.STATUS_LABELS,
                   kind_label=models.kind_label)


def _start_page(kind, status=200, errors=None, form=None):
    employee = current_user.employee
    checks = {key: kind.check(employee, key, today()) for key in kind.subkinds}
    return respond("requests/start.html", "page", status, kind=kind, checks=checks, errors=errors or {},
                   form=form or {}, employee=employee)


@bp.get("/layanan/baru/<kind_key>")
def start(kind_key):
    return _start_page(_kind_or_404(kind_key))


@bp.post("/layanan/baru/<kind_key>")
def start_post(kind_key):
    kind = _kind_or_404(kind_key)
    employee = current_user.employee
    subkind = request.form.get("subkind", "")
    if subkind not in kind.subkinds:
        return _start_page(kind, 422, {"subkind": "Pilih jenis pengajuan."})
    is_eligible, reason = kind.check(employee, subkind, today())
    if not is_eligible:
        return _start_page(kind, 422, {"subkind": reason}, {"subkind": subkind})
    item = models.ServiceRequest.create(employee=employee, kind=kind.key, subkind=subkind,
                                        data=models.ServiceRequest.encode(kind.profile_values(employee)))
    audit("request.started", account=current_user, detail=f"pengajuan {item.id}: {kind.label}")
    return go("requests.detail", request_id=item.id)


def _detail_page(item, status=200, errors=None, form=None, block="page"):
    kind = models.KINDS[item.kind]
    employee = current_user.employee
    return respond("requests/detail.html", block, status, item=item, kind=kind, errors=errors or {},
                   form=form if form is not None else item.values, documents=item.documents(),
                   requirements=kind.requirements_for(item.subkind), timeline=list(item.timeline()),
                   labels=models.STATUS_LABELS, employee=employee,
                   current=kind.profile_values(employee),
                   limit_mb=current_app.config["REQUEST_DOCUMENT_MB"])


@bp.get("/layanan/<int:request_id>")
def detail(request_id):
    return _detail_page(_own_request(request_id))


@bp.post("/layanan/<int:request_id>")
def save(request_id):
    item = _own_request(request_id)
    if not item.is_editable:
        return _detail_page(item, 409, {"form": "Pengajuan ini sedang diperiksa dan tidak dapat diubah."})
    kind = models.KINDS[item.kind]
    values, errors = kind.clean(request.form, item.subkind, current_user.employee)
    if errors:
        return _detail_page(item, 422, errors, {f.name: request.form.get(f.name, "")[:4000] for f in kind.fields})
    models.ServiceRequest.update(data=models.ServiceRequest.encode(values)).where(
        models.ServiceRequest.id == item.id).execute()
    flash("Isian tersimpan.", "success")
    return go("requests.detail", request_id=item.id)


def _read_document(limit_bytes: int):
    """The uploaded `berkas`, read under the request-document limit (CSRF checked after
    the limit is raised, as the console's uploads do). Raises RequestEntityTooLarge."""
    request.max_content_length = limit_bytes + 64 * 1024  # room for the form fields
    if current_app.config["WTF_CSRF_ENABLED"]:
        current_app.extensions["csrf"].protect()
    return request.files.get("berkas")


@bp.post("/layanan/<int:request_id>/dokumen/<requirement>")
def document_post(request_id, requirement):
    limit_mb = current_app.config["REQUEST_DOCUMENT_MB"]
    message = None
    try:
        upload = _read_document(limit_mb * 2**20)
        content = upload.read(limit_mb * 2**20 + 1) if upload and upload.filename else b""
    except RequestEntityTooLarge:
        content, message = b"", f"Berkas terlalu besar. Batasnya {limit_mb} MB."
    item = _own_request(request_id)
    kind = models.KINDS[item.kind]
    needed = {r.key: r for r in kind.requirements_for(item.subkind)}
    if requirement not in needed:
        abort(404)
    if not item.is_editable:
        return _detail_page(item, 409, {"form": "Pengajuan ini sedang diperiksa: dokumen tidak dapat diubah."})
    if message is None and not content:
        message = "Pilih berkas PDF."
    elif message is None and len(content) > limit_mb * 2**20:
        message = f"Berkas terlalu besar. Batasnya {limit_mb} MB."
    elif message is None and not models.is_pdf(content):
        message = "Berkas bukan PDF (isinya diperiksa, bukan namanya). Simpan atau pindai sebagai PDF."
    if message:
        return _detail_page(item, 413 if "besar" in message else 422, {f"berkas-{requirement}": message})
    filename = secure_filename(upload.filename) or "dokumen.pdf"
    if not filename.lower().endswith(".pdf"):
        filename += ".pdf"
    with models.db.atomic():
        document = models.Document.create(employee=item.employee_id, jenis=needed[requirement].label,
                                          filename=filename, size=len(content), content=content)
        models.RequestDocument.create(request=item.id, requirement=requirement, document=document)
    audit("request.document_added", account=current_user, detail=f"pengajuan {item.id}: dokumen {document.id}")
    flash(f"{needed[requirement].label}: {filename} tersimpan.", "success")
    return go("requests.detail", request_id=item.id)


@bp.post("/layanan/<int:request_id>/dokumen/<int:document_id>/hapus")
def document_delete(request_id, document_id):
    item = _own_request(request_id)
    if not item.is_editable:
        return _detail_page(item, 409, {"form": "Pengajuan ini sedang diperiksa: dokumen tidak dapat diubah."})
    if models.RequestDocument.for_reviewer(item.id, document_id) is None:
        abort(404)
    models.Document.delete().where(models.Document.id == document_id).execute()  # its link goes with it
    audit("request.document_removed", account=current_user, detail=f"pengajuan {item.id}: dokumen {document_id}")
    flash("Dokumen dihapus.", "success")
    return go("requests.detail", request_id=item.id)


@bp.post("/layanan/<int:request_id>/ajukan")
def submit(request_id):
    item = _own_request(request_id)
    if not item.is_editable:
        return _detail_page(item, 409, {"form": "Pengajuan ini sudah diajukan."})
    kind = models.KINDS[item.kind]
    _, errors = kind.clean(item.values, item.subkind, current_user.employee)
    documents = item.documents()
    for requirement in kind.requirements_for(item.subkind):
        if requirement.key not in documents:
            errors[f"berkas-{requirement.key}"] = f"Unggah {requirement.label}."
    if errors:
        return _detail_page(item, 422, errors)
    step = item.move("diajukan", current_user.employee.nip)
    if step is None:
        return _detail_page(item, 409, {"form": "Pengajuan ini sudah diajukan."})
    mail.request_moved(item, step)
    audit("request.submitted", account=current_user, detail=f"pengajuan {item.id}: {kind.label}")
    flash("Pengajuan terkirim. Anda akan diberi tahu setiap ada perkembangan.", "success")
    return go("requests.detail", request_id=item.id)


bp.record_once(lambda state: state.app.extensions["csrf"].exempt(document_post))
