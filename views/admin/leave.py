"""The leave-request queue and its decisions."""


from flask import (
    abort,
    flash,
    request,
)
from flask_login import current_user

import fields
import mail
import models
from views import audit, go, paginate, respond
from views.admin import admin_only, bp

REQUESTS_PER_PAGE = 20


@bp.get("/cuti")
@admin_only
def leave_requests():
    status = request.args.get("status", "diajukan")
    if status not in models.LeaveRequest.STATUS_LABELS:
        status = "diajukan"
    page, pager = paginate(models.LeaveRequest.with_status(status), REQUESTS_PER_PAGE)
    return respond("admin/leave.html", "console", requests=list(page), pager=pager, shown_status=status,
                   labels=models.LeaveRequest.STATUS_LABELS, types=models.LEAVE_TYPES, errors={})


@bp.post("/cuti/<int:request_id>")
@admin_only
def leave_decide(request_id):
    item = models.LeaveRequest.get_or_none(models.LeaveRequest.id == request_id)
    if item is None:
        abort(404)
    if item.employee_id == current_user.employee_id:
        abort(403)  # nobody approves their own leave
    decision = request.form.get("keputusan", "")
    note = fields.squashed(request.form.get("catatan"), 300)
    error = None
    if item.status != "diajukan":
        error = "Pengajuan ini sudah diputuskan."
    elif decision not in ("setujui", "tolak"):
        error = "Pilih setujui atau tolak."
    elif decision == "tolak" and not note:
        error = "Tulis alasan penolakan di catatan."
    elif decision == "setujui" and item.clashes_with_approved():
        error = "Bertabrakan dengan cuti lain pegawai ini yang sudah disetujui."
    if error:
        flash(error, "error")
        return go("admin.leave_requests")
    status = "disetujui" if decision == "setujui" else "ditolak"
    if item.decide(status, note, current_user.employee.nip) is None:
        flash("Pengajuan ini sudah diputuskan.", "error")
        return go("admin.leave_requests")
    employee = item.employee
    label = models.LEAVE_TYPES[item.jenis]
    text = f"{label} {item.start:%d-%m-%Y} s.d. {item.end:%d-%m-%Y}: {item.STATUS_LABELS[status].lower()}."
    mail.send_email(employee.email, f"Pengajuan cuti Anda {item.STATUS_LABELS[status].lower()}", "leave_decided",
                    nip=employee.nip, nama=employee.nama, text=text, note=note)
    audit(f"leave.{status}", nip=employee.nip, actor=current_user, detail=f"pengajuan {item.id}")
    flash(f"Pengajuan cuti {employee.nama} {item.STATUS_LABELS[status].lower()}.", "success")
    return go("admin.leave_requests")


