"""The first sign-in without a password: registrations waiting for the identity check,
and printed activation letters."""

import io

from flask import (
    abort,
    current_app,
    flash,
    request,
    send_file,
)
from flask_login import current_user

import fields
import letters
import mail
import models
from security import now
from views import app_settings, audit, go, respond
from views.admin import _target, admin_only, bp
from views.admin.helpdesk import VERIFICATIONS

APPROVED_ACTIVATION_HOURS = 7 * 24


@bp.get("/pendaftaran")
def registrations():
    return respond("admin/registrations.html", "console", requests=list(models.RegistrationRequest.waiting()),
                   errors={}, verifications=VERIFICATIONS)


@bp.post("/pendaftaran/<int:request_id>")
def registration_decide(request_id):
    """Only after the operator has checked the person's identity does the contact they
    typed become the contact on record, and the activation link go out to it."""
    item = models.RegistrationRequest.get_or_none(models.RegistrationRequest.id == request_id)
    if item is None:
        abort(404)
    employee, account = _target(item.employee.nip)
    decision = request.form.get("keputusan", "")
    checked = [key for key in VERIFICATIONS if key in request.form.getlist("verifikasi")]
    reason = fields.squashed(request.form.get("alasan"), 200)
    errors = {}
    if decision not in ("setujui", "tolak"):
        errors["keputusan"] = "Pilih setujui atau tolak."
    elif decision == "setujui" and not checked:
        errors["verifikasi"] = "Centang cara Anda memastikan identitas pegawai."
    if len(reason) < 5:
        errors["alasan"] = "Tulis alasan atau catatan, misalnya \"datang ke kantor membawa KTP\"."
    if errors:
        return respond("admin/registrations.html", "console", 422, requests=list(models.RegistrationRequest.waiting()),
                       errors=errors, failed=item.id, verifications=VERIFICATIONS)
    status = "disetujui" if decision == "setujui" else "ditolak"
    if not item.decide(status, current_user.employee.nip, reason):
        flash("Pendaftaran ini sudah diputuskan petugas lain.", "info")
        return go("admin.registrations")
    if status == "disetujui":
        employee.update_data({"email": item.email, "telepon": item.telepon})
        mail.send_activation_link(employee, APPROVED_ACTIVATION_HOURS * 60)
    audit(f"registration.{'approved' if status == 'disetujui' else 'rejected'}", nip=employee.nip,
          actor=current_user, detail=("verifikasi: " + ", ".join(VERIFICATIONS[k][0] for k in checked) + "; "
                                      if checked else "") + f"alasan: {reason}")
    flash(f"Pendaftaran {employee.nama} {status}." + (" Tautan aktivasi dikirim ke emailnya."
                                                      if status == "disetujui" else ""), "success")
    return go("admin.registrations")


@bp.get("/surat-aktivasi")
@admin_only
def activation_letters():
    units = [e.unit_kerja for e in models.ActivationLetter.recipients().select(models.Employee.unit_kerja)
             .distinct().order_by(models.Employee.unit_kerja)]
    return respond("admin/activation_letters.html", "console", units=units,
                   waiting=models.ActivationLetter.recipients().count(), errors={})


@bp.post("/surat-aktivasi")
@admin_only
def activation_letters_post():
    unit = fields.squashed(request.form.get("unit"), 200)
    pdf, count = letters.activation_letters(
        models.ActivationLetter.recipients(unit), app_settings(),
        current_app.config["BASE_URL"] or request.url_root.rstrip("/"), current_app.config["HELPDESK_CONTACT"])
    audit("activation_letters.printed", actor=current_user, detail=f"{count} surat; unit: {unit or 'semua'}")
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True, max_age=0,
                     download_name=f"surat-aktivasi-{now():%Y%m%d-%H%M}.pdf")


