"""The service-request queue of each kind and the review screen: verify, send back for
corrections, approve, reject. Only the roles a kind names as its reviewers see it; with
ASN_FOUR_EYES (on by default) the one who verified a request cannot also approve it, and
nobody reviews their own."""

import io
import zipfile
from datetime import timedelta

from flask import abort, current_app, flash, request, send_file
from flask_login import current_user

import fields
import mail
import models
from security import now
from views import audit, go, paginate, pdf_download, respond, today
from views.admin import bp

REQUESTS_PER_PAGE = 20
QUEUE_STATUSES = {"menunggu": ("diajukan", "diverifikasi"), "diajukan": ("diajukan",),
                  "diverifikasi": ("diverifikasi",), "perlu_perbaikan": ("perlu_perbaikan",),
                  "disetujui": ("disetujui",), "ditolak": ("ditolak",)}
QUEUE_LABELS = {"menunggu": "Semua yang menunggu", "diajukan": "Menunggu verifikasi",
                "diverifikasi": "Menunggu persetujuan", "perlu_perbaikan": "Perlu perbaikan",
                "disetujui": "Disetujui", "ditolak": "Ditolak"}
AGES = {"": "Semua umur", "7": "Menunggu 7 hari atau lebih", "14": "14 hari atau lebih", "30": "30 hari atau lebih"}
FOUR_EYES_RULE = "Aturan empat mata: yang memverifikasi tidak boleh menyetujui. Minta pemeriksa lain menyetujui."
DECISIONS = {"verifikasi": "diverifikasi", "perbaikan": "perlu_perbaikan", "setujui": "disetujui", "tolak": "ditolak"}


def reviewable_kinds(role: str):
    return [k for k in models.KINDS.values() if k.key != "cuti" and role in k.reviewers]


def _kind_for_reviewer(key: str):
    kind = models.KINDS.get(key)
    if kind is None or key == "cuti":
        abort(404)
    if current_user.role not in kind.reviewers:
        abort(403)
    return kind


def _request_for_reviewer(request_id: int):
    item = models.ServiceRequest.get_or_none(models.ServiceRequest.id == request_id)
    if item is None or item.kind == "cuti" or item.status == "draf":
        abort(404)
    kind = _kind_for_reviewer(item.kind)
    if item.employee_id == current_user.employee_id:
        abort(403)  # nobody reviews their own request
    return item, kind


@bp.get("/layanan")
def request_queue():
    kinds = reviewable_kinds(current_user.role)
    if not kinds:
        abort(403)
    key = request.args.get("jenis", kinds[0].key)
    kind = _kind_for_reviewer(key)
    status = request.args.get("status", "menunggu")
    status = status if status in QUEUE_STATUSES else "menunggu"
    unit = fields.squashed(request.args.get("unit"), 150)
    age = request.args.get("umur", "")
    age = age if age in AGES else ""
    before = now() - timedelta(days=int(age)) if age else None
    page, pager = paginate(models.ServiceRequest.queue(kind.key, QUEUE_STATUSES[status], unit, before),
                           REQUESTS_PER_PAGE)
    return respond("admin/requests.html", "console", kinds=kinds, kind=kind, requests=list(page), pager=pager,
                   shown_status=status, statuses=QUEUE_LABELS, unit=unit, age=age, ages=AGES, today=today(),
                   labels=models.STATUS_LABELS)


def _review_page(item, kind, status=200, errors=None, form=None):
    employee = item.employee
    changes = (models.kinds.changed_profile(employee, item.values) if kind.key == "pemutakhiran_data" else {})
    approval = {f.name: f for f in kind.approval_fields}
    defaults = dict(form or {})
    if "golongan" in approval and "golongan" not in defaults:
        defaults["golongan"] = models.next_golongan(employee.golongan) or ""
    return respond("admin/request.html", "console", status, item=item, kind=kind, employee=employee,
                   documents=item.documents(), requirements=kind.requirements_for(item.subkind),
                   timeline=list(item.timeline()), labels=models.STATUS_LABELS, errors=errors or {},
                   form=defaults, changes=changes, today=today(), blocked=_blocked(item, kind, "disetujui"),
                   field_labels={f.name: f.label for f in kind.fields})


@bp.get("/layanan/<int:request_id>")
def request_review(request_id):
    return _review_page(*_request_for_reviewer(request_id))


@bp.post("/layanan/<int:request_id>/ambil")
def request_assign(request_id):
    item, _ = _request_for_reviewer(request_id)
    nip = current_user.employee.nip
    models.ServiceRequest.update(assigned_to=nip).where(models.ServiceRequest.id == item.id).execute()
    audit("request.assigned", nip=item.employee.nip, actor=current_user, detail=f"pengajuan {item.id}")
    flash(f"Pengajuan #{item.id} sekarang Anda tangani.", "success")
    return go("admin.request_review", request_id=item.id)


def _blocked(item, kind, to_status):
    """Why the signed-in reviewer may not move `item` to `to_status`, or None."""
    if to_status not in models.requests.MOVES[item.status]:
        return f"Pengajuan berstatus {models.STATUS_LABELS[item.status].lower()}: langkah ini tidak tersedia."
    if to_status == "disetujui" and kind.needs_verification and item.status != "diverifikasi":
        return "Verifikasi pengajuan ini dahulu sebelum disetujui."
    if (to_status == "disetujui" and current_app.config["FOUR_EYES"]
            and item.verified_by == current_user.employee.nip):
        return FOUR_EYES_RULE
    return None


@bp.post("/layanan/<int:request_id>")
def request_decide(request_id):
    item, kind = _request_for_reviewer(request_id)
    decision = request.form.get("keputusan", "")
    note = fields.squashed(request.form.get("catatan"), 1000)
    form = {"catatan": note}
    if decision not in DECISIONS:
        return _review_page(item, kind, 422, {"keputusan": "Pilih verifikasi, perlu perbaikan, setujui, atau tolak."},
                            form)
    to_status = DECISIONS[decision]
    blocked = _blocked(item, kind, to_status)
    if blocked:
        return _review_page(item, kind, 403 if blocked == FOUR_EYES_RULE else 409, {"keputusan": blocked}, form)
    if to_status in ("perlu_perbaikan", "ditolak") and not note:
        return _review_page(item, kind, 422, {"catatan": "Tulis catatan: apa yang harus diperbaiki atau "
                                                         "mengapa ditolak."}, form)
    values, errors = {}, {}
    if to_status == "disetujui":
        for f in kind.approval_fields:
            values[f.name] = f.clean(errors, request.form.get(f.name, "")[:200])
        form.update({f.name: request.form.get(f.name, "")[:200] for f in kind.approval_fields})
        if errors:
            return _review_page(item, kind, 422, errors, form)
    with models.db.atomic():
        step = item.move(to_status, current_user.employee.nip, note)
        if step is None:
            return _review_page(item, kind, 409, {"keputusan": "Pengajuan ini baru saja diubah pemeriksa lain. "
                                                               "Periksa statusnya sekarang."}, form)
        applied = kind.approve(item, item.employee, values) if to_status == "disetujui" and kind.approve else ""
    mail.request_moved(item, step)
    audit(f"request.{to_status}", nip=item.employee.nip, actor=current_user,
          detail=f"pengajuan {item.id}: {kind.label}" + (f"; {applied}" if applied else ""))
    if applied:
        audit("employee.updated", nip=item.employee.nip, actor=current_user,
              detail=f"pengajuan {item.id} disetujui: {applied}")
        if not item.employee.is_active:
            account = models.Account.get_or_none(models.Account.employee == item.employee_id)
            if account:
                account.end_sessions()  # moved out of the instansi: signed out everywhere
    flash(f"Pengajuan #{item.id} {models.STATUS_LABELS[to_status].lower()}.", "success")
    return go("admin.request_queue", jenis=kind.key)


@bp.get("/layanan/<int:request_id>/dokumen.zip")
def request_documents(request_id):
    """Every document of the request in one download, each named by its checklist item."""
    item, kind = _request_for_reviewer(request_id)
    labels = {r.key: r.label for r in kind.requirements}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as bundle:  # PDFs are compressed already
        for number, row in enumerate(models.RequestDocument.with_content(item.id), 1):
            name = f"{number:02d} {labels.get(row.requirement, row.requirement)} - {row.document.filename}"
            bundle.writestr(name.replace("/", "-"), row.document.content)
    audit("document.downloaded", nip=item.employee.nip, actor=current_user, detail=f"semua dokumen pengajuan {item.id}")
    buffer.seek(0)
    return send_file(buffer, mimetype="application/zip", as_attachment=True, download_name=f"pengajuan-{item.id}.zip",
                     max_age=0)


@bp.get("/layanan/<int:request_id>/dokumen/<int:document_id>")
def request_document(request_id, document_id):
    item, _ = _request_for_reviewer(request_id)
    document = models.RequestDocument.for_reviewer(item.id, document_id)
    if document is None:
        abort(404)
    audit("document.downloaded", nip=item.employee.nip, actor=current_user, detail=f"dokumen {document.id}")
    return pdf_download(document)
