"""The signed-in employee's own pages: profile, career history, documents, leave
requests, notifications, account security and contact details."""

import re

from flask import Blueprint, abort, current_app, flash, request, session
from flask_login import current_user, logout_user
from peewee import IntegrityError

import fields
import mail
import models
import passkeys
import security
from security import now
from views import (
    app_settings,
    audit,
    enrollment_context,
    for_signed_in_employees,
    go,
    limiter,
    new_password_problems,
    paginate,
    pdf_download,
    respond,
    today,
)
from views.signin import needs_otp, reauthenticate

bp = Blueprint("dashboard", __name__)

LEAVE_SHOWN = 50  # the newest requests; older ones stay in the database
CONTACT_CODE_MINUTES = 10


for_signed_in_employees(bp)


def _parse_date(text: str):
    try:
        return fields.iso_date(text, "tanggal", required=True)
    except fields.FieldError:
        return None


# --------------------------------------------------------------------------- profile and records


@bp.get("/dashboard")
def index():
    employee = current_user.employee
    # The first sign-in ends here: its "Akun Anda siap" shows once, above the profile.
    is_ready_shown = session.pop("account_ready", False)
    return respond("dashboard/index.html", "page", employee=employee,
                   ready_devices=list(current_user.confirmed_authenticators()) if is_ready_shown else None,
                   masa_kerja=employee.masa_kerja(today()),
                   promotion=employee.next_regular_promotion(), today=today(),
                   recovery_codes_left=models.RecoveryCode.remaining(current_user))


@bp.get("/dashboard/riwayat")
def history():
    employee = current_user.employee
    return respond("dashboard/history.html", "page", positions=models.PositionHistory.of(employee),
                   ranks=models.RankHistory.of(employee))


@bp.get("/dashboard/dokumen")
def documents():
    return respond("dashboard/documents.html", "page",
                   documents=models.Document.listing(current_user.employee))


@bp.get("/dashboard/dokumen/<int:document_id>")
def document_download(document_id):
    document = models.Document.owned(document_id, current_user.employee)
    if document is None:
        abort(404)  # another employee's document looks exactly like a missing one
    audit("document.downloaded", account=current_user, detail=f"dokumen {document.id}")
    return pdf_download(document)


# --------------------------------------------------------------------------- leave requests


def _leave_page(status=200, errors=None, form=None):
    employee = current_user.employee
    year = today().year
    used = models.LeaveRequest.annual_days_used(employee, year)
    return respond("dashboard/leave.html", "leave_form" if status != 200 else "page", status,
                   requests=models.LeaveRequest.of(employee).limit(LEAVE_SHOWN), types=models.LEAVE_TYPES,
                   errors=errors or {}, form=form or {}, year=year, quota=models.ANNUAL_LEAVE_DAYS,
                   left=max(models.ANNUAL_LEAVE_DAYS - used, 0))


@bp.get("/dashboard/cuti")
def leave():
    return _leave_page()


@bp.post("/dashboard/cuti")
def leave_post():
    form = {k: request.form.get(k, "")[:600] for k in ("jenis", "start", "end", "reason")}
    start, end = _parse_date(form["start"]), _parse_date(form["end"])
    errors = models.LeaveRequest.validate(current_user.employee, form["jenis"], start, end, form["reason"])
    if errors:
        return _leave_page(422, errors, form)
    leave_request = models.LeaveRequest.file(current_user.employee, form["jenis"], start, end,
                                             form["reason"].strip())
    audit("leave.requested", account=current_user, detail=f"pengajuan {leave_request.id}")
    flash(f"Pengajuan {models.LEAVE_TYPES[form['jenis']].lower()} {leave_request.days} hari kerja "
          "terkirim dan menunggu persetujuan.", "success")
    return go("dashboard.leave")


@bp.get("/dashboard/cuti/<int:request_id>")
def leave_detail(request_id):
    leave_request = models.LeaveRequest.owned(request_id, current_user.employee)
    if leave_request is None:
        abort(404)
    return respond("dashboard/leave_detail.html", "page", item=leave_request, types=models.LEAVE_TYPES,
                   timeline=list(leave_request.timeline()))


# --------------------------------------------------------------------------- notifications


NOTIFICATIONS_PER_PAGE = 30


@bp.get("/dashboard/notifikasi")
def notifications():
    items, pager = paginate(models.Notification.of(current_user.employee), NOTIFICATIONS_PER_PAGE)
    return respond("dashboard/notifications.html", "page", notifications=list(items), pager=pager)


@bp.post("/dashboard/notifikasi/<int:notification_id>/baca")
def notification_read(notification_id):
    employee = current_user.employee
    models.Notification.mark_read(employee, notification_id)
    if request.htmx:
        item = models.Notification.get_or_none((models.Notification.id == notification_id)
                                               & (models.Notification.employee == employee))
        if item is None:
            abort(404)
        return respond("dashboard/notifications.html", "notification_item", item=item,
                       unread_notifications=models.Notification.unread_count(employee), oob=True)
    return go("dashboard.notifications")


@bp.post("/dashboard/notifikasi/baca-semua")
def notifications_read_all():
    models.Notification.mark_read(current_user.employee)
    return go("dashboard.notifications")


# --------------------------------------------------------------------------- account security


def _security_page(status=200, block="page", **context):
    account = current_user
    context.setdefault("errors", {})
    return respond("dashboard/security.html", block, status, needs_otp=needs_otp(),
                   authenticators=list(account.confirmed_authenticators().order_by(models.Authenticator.id)),
                   passkeys=list(models.Passkey.of(account)),
                   recovery_codes_left=models.RecoveryCode.remaining(account),
                   sessions=account.active_sessions(), current_session=account.current_session,
                   sign_ins=models.AuditEvent.sign_ins(account), **context)


@bp.get("/dashboard/keamanan")
def security_settings():
    return _security_page()


@bp.post("/dashboard/keamanan/kata-sandi")
@limiter.limit(lambda: current_app.config["OTP_RATE_LIMIT"])
def change_password():
    errors = reauthenticate()
    if errors:
        return _security_page(422, "password_form", errors=errors)
    employee = current_user.employee
    new, problems = new_password_problems(employee, current_user)
    if problems:
        return _security_page(422, "password_form", problems=problems)
    current_user.set_password(new, app_settings())
    others = current_user.end_sessions(keep=current_user.current_session)
    audit("password.changed", account=current_user, detail=f"dari halaman keamanan; {others} sesi lain diakhiri")
    mail.send_email(employee.email, "Kata sandi Portal ASN Digital telah diganti", "password_changed",
                    nip=employee.nip, nama=employee.nama, when=now())
    flash("Kata sandi diganti. Sesi di perangkat lain telah diakhiri.", "success")
    return go("dashboard.security_settings")


def _add_authenticator_page(status=200, errors=None, device_name=""):
    return respond("dashboard/authenticator_add.html", "add_form", status, errors=errors or {},
                   device_name=device_name, needs_otp=needs_otp(), **enrollment_context(current_user))


@bp.get("/dashboard/keamanan/autentikator/baru")
def authenticator_add():
    return _add_authenticator_page()


@bp.post("/dashboard/keamanan/autentikator/baru")
@limiter.limit(lambda: current_app.config["OTP_RATE_LIMIT"])
def authenticator_add_post():
    errors = {}
    device_name = fields.check(errors, "device_name", fields.device_name, request.form.get("device_name"))
    if errors or not device_name:
        errors.setdefault("device_name", "Isi nama perangkat, misalnya \"Ponsel kantor\".")
        return _add_authenticator_page(422, errors, fields.squashed(request.form.get("device_name"), 100))
    errors = reauthenticate()
    if errors:
        return _add_authenticator_page(422, errors, device_name)
    settings = app_settings()
    pending = models.Authenticator.pending_for(current_user, settings)
    code = security.normalize_otp(request.form.get("new_otp", ""))[:32]
    if pending.use_code(code, settings) != "ok":
        return _add_authenticator_page(422, {"new_otp": "Kode dari aplikasi baru tidak cocok. Pindai kode QR di "
                                                       "halaman ini lalu masukkan kode yang tampil."}, device_name)
    pending.confirm(device_name)
    audit("mfa.added", account=current_user, detail=device_name)
    mail.notify_owner(current_user.employee, "Autentikator baru ditambahkan ke akun Portal ASN Digital",
                      f"Autentikator baru “{device_name}” ditambahkan ke akun Anda.")
    flash(f"Autentikator \u201c{device_name}\u201d ditambahkan.", "success")
    return go("dashboard.security_settings")


def _own_authenticator(authenticator_id):
    authenticator = models.Authenticator.get_or_none(
        (models.Authenticator.id == authenticator_id) & (models.Authenticator.account == current_user.id)
        & models.Authenticator.confirmed_at.is_null(False))
    if authenticator is None:
        abort(404)
    return authenticator


@bp.get("/dashboard/keamanan/autentikator/<int:authenticator_id>/hapus")
def authenticator_remove(authenticator_id):
    return respond("dashboard/authenticator_remove.html", "remove_form", item=_own_authenticator(authenticator_id),
                   errors={}, needs_otp=needs_otp(), is_last=current_user.confirmed_authenticators().count() == 1)


@bp.post("/dashboard/keamanan/autentikator/<int:authenticator_id>/hapus")
def authenticator_remove_post(authenticator_id):
    authenticator = _own_authenticator(authenticator_id)
    is_last = current_user.confirmed_authenticators().count() == 1
    if is_last:
        return respond("dashboard/authenticator_remove.html", "remove_form", 409, item=authenticator,
                       errors={}, needs_otp=needs_otp(), is_last=True)
    errors = reauthenticate()
    if errors:
        return respond("dashboard/authenticator_remove.html", "remove_form", 422, item=authenticator,
                       errors=errors, needs_otp=needs_otp(), is_last=False)
    authenticator.delete_instance()
    audit("mfa.removed", account=current_user, detail=authenticator.name)
    flash(f"Autentikator \u201c{authenticator.name}\u201d dihapus.", "success")
    return go("dashboard.security_settings")


# Passkeys come beside the authenticator app, never instead of it: every account keeps
# one way in that works without a passkey-capable browser. So any passkey can be removed.


def _default_passkey_name() -> str:
    names = {p.name for p in models.Passkey.of(current_user)}
    return next(f"Passkey {n}" for n in range(1, len(names) + 2) if f"Passkey {n}" not in names)


def _add_passkey_page(status=200, errors=None, device_name="", message=None):
    return respond("dashboard/passkey_add.html", "page", status, errors=errors or {}, message=message,
                   device_name=device_name or _default_passkey_name(), needs_otp=needs_otp())


@bp.get("/dashboard/keamanan/passkey/baru")
def passkey_add():
    return _add_passkey_page()


@bp.post("/dashboard/keamanan/passkey/opsi")
@limiter.limit(lambda: current_app.config["OTP_RATE_LIMIT"])
def passkey_add_options():
    return current_app.response_class(passkeys.registration_options(current_user), mimetype="application/json")


@bp.post("/dashboard/keamanan/passkey/baru")
@limiter.limit(lambda: current_app.config["OTP_RATE_LIMIT"])
def passkey_add_post():
    new = passkeys.verify_registration(request.form.get("credential", ""))
    errors = {}
    device_name = fields.check(errors, "device_name", fields.device_name, request.form.get("device_name"))
    typed_name = fields.squashed(request.form.get("device_name"), 100)
    if errors:
        return _add_passkey_page(422, errors, typed_name)
    errors = reauthenticate()
    if errors:
        return _add_passkey_page(422, errors, typed_name)
    if new is None:
        return _add_passkey_page(422, device_name=typed_name, message=(
            "Passkey belum terdaftar: sidik jari, wajah atau kunci layar tidak dikonfirmasi, atau waktunya "
            "habis. Coba lagi."))
    device_name = device_name or _default_passkey_name()
    try:
        models.Passkey.create(account=current_user.id, name=device_name, credential_id=new.credential_id,
                              public_key=new.public_key, sign_count=new.sign_count, transports=new.transports)
    except IntegrityError:
        return _add_passkey_page(409, device_name=typed_name, message="Passkey ini sudah terdaftar.")
    audit("passkey.added", account=current_user, detail=device_name)
    mail.notify_owner(current_user.employee, "Passkey baru ditambahkan ke akun Portal ASN Digital",
                      f"Passkey baru “{device_name}” ditambahkan ke akun Anda. Passkey ini dapat dipakai "
                      "untuk masuk tanpa kata sandi.")
    flash(f"Passkey \u201c{device_name}\u201d ditambahkan. Lain kali, tekan Masuk dengan passkey.", "success")
    return go("dashboard.security_settings")


def _own_passkey(passkey_id):
    passkey = models.Passkey.get_or_none((models.Passkey.id == passkey_id)
                                         & (models.Passkey.account == current_user.id))
    if passkey is None:
        abort(404)
    return passkey


@bp.get("/dashboard/keamanan/passkey/<int:passkey_id>/hapus")
def passkey_remove(passkey_id):
    return respond("dashboard/passkey_remove.html", "remove_form", item=_own_passkey(passkey_id), errors={},
                   needs_otp=needs_otp())


@bp.post("/dashboard/keamanan/passkey/<int:passkey_id>/hapus")
def passkey_remove_post(passkey_id):
    passkey = _own_passkey(passkey_id)
    errors = reauthenticate()
    if errors:
        return respond("dashboard/passkey_remove.html", "remove_form", 422, item=passkey, errors=errors,
                       needs_otp=needs_otp())
    passkey.delete_instance()
    audit("passkey.removed", account=current_user, detail=passkey.name)
    flash(f"Passkey \u201c{passkey.name}\u201d dihapus.", "success")
    return go("dashboard.security_settings")


@bp.post("/dashboard/keamanan/sesi/<int:session_id>/akhiri")
def session_end(session_id):
    ended = models.SessionRecord.end((models.SessionRecord.id == session_id)
                                     & (models.SessionRecord.account == current_user.id))
    if not ended:
        abort(404)
    audit("session.ended", account=current_user, detail=f"sesi {session_id}")
    if session_id == current_user.current_session.id:
        logout_user()
        flash("Anda telah keluar.", "success")
        return go("auth.login")
    flash("Sesi tersebut telah diakhiri.", "success")
    return go("dashboard.security_settings")


@bp.post("/dashboard/keamanan/sesi/akhiri-lainnya")
def sessions_end_others():
    ended = current_user.end_sessions(keep=current_user.current_session)
    audit("session.ended", account=current_user, detail=f"{ended} sesi lain")
    flash(f"{ended} sesi lain telah diakhiri.", "success")
    return go("dashboard.security_settings")


# --------------------------------------------------------------------------- connected apps (single sign-on)


@bp.get("/dashboard/aplikasi")
def apps():
    return respond("dashboard/apps.html", "page", consents=list(models.OidcConsent.of(current_user)))


@bp.post("/dashboard/aplikasi/<int:client_id>/cabut")
def app_revoke(client_id):
    client = models.OidcClient.get_or_none(models.OidcClient.id == client_id) or abort(404)
    if not models.OidcConsent.revoke(current_user, client):
        abort(404)
    audit("oidc.consent_revoked", account=current_user, detail=client.name)
    flash(f"Akses {client.name} telah dicabut. Aplikasi itu akan meminta izin lagi bila Anda memakainya.",
          "success")
    return go("dashboard.apps")


# --------------------------------------------------------------------------- contact details

CONTACT_FIELDS = {"email": "email", "telepon": "nomor ponsel"}


def _contact_page(status=200, block="page", errors=None, form=None, pending=None):
    employee = current_user.employee
    old = (pending.payload.get("old") if pending else "") or ""
    return respond("dashboard/contact.html", block, status, employee=employee, needs_otp=needs_otp(),
                   errors=errors or {}, form=form or {}, pending=pending,
                   old_address=security.mask_email(employee.email) if old == "email"
                   else security.mask_phone(employee.telepon) if old else "")


def _pending_contact_change():
    token = (models.Token.select().where((models.Token.employee == current_user.employee)
                                         & (models.Token.purpose == "contact") & models.Token.used_at.is_null())
             .order_by(models.Token.id.desc()).first())
    return token if token and token.expires_at > now() else None


@bp.get("/dashboard/kontak")
def contact():
    return _contact_page(pending=_pending_contact_change())


@bp.post("/dashboard/kontak")
@limiter.limit(lambda: current_app.config["RESEND_RATE_LIMIT"])
def contact_post():
    field = request.form.get("field", "")
    typed = request.form.get("value", "")[:300]
    employee = current_user.employee
    if field not in CONTACT_FIELDS:
        abort(400)
    errors = {}
    value = fields.check(errors, field, fields.email if field == "email" else fields.phone, typed)
    if errors:
        return _contact_page(422, errors=errors, form={field: typed.strip()[:100]})
    if value == getattr(employee, field):
        return _contact_page(422, errors={field: f"Itu sudah {CONTACT_FIELDS[field]} Anda sekarang."},
                             form={field: value})
    errors = reauthenticate()
    if errors:
        return _contact_page(422, errors=errors, form={field: value})
    # The contact on record proves who someone is: a change is confirmed from the new
    # address and from the one on record, so a stolen session alone cannot move it.
    new_code, old_code = security.verification_code(), security.verification_code()
    old_channel = "email" if employee.email else "telepon" if employee.telepon else None
    models.Token.issue(employee, "contact", new_code + (old_code if old_channel else ""), CONTACT_CODE_MINUTES,
                       data={"field": field, "value": value, "old": old_channel or ""})
    _send_contact_code(field, value, new_code, "baru")
    if old_channel:
        _send_contact_code(old_channel, getattr(employee, old_channel), old_code, "tercatat")
    audit("contact.change_requested", account=current_user, detail=field)
    return go("dashboard.contact")


def _send_contact_code(channel: str, address: str, code: str, which: str):
    employee = current_user.employee
    if channel == "email":
        mail.send_email(address, f"Kode verifikasi (alamat {which}) Portal ASN Digital", "contact_code",
                        nip=employee.nip, nama=employee.nama, code=code, minutes=CONTACT_CODE_MINUTES, which=which)
    else:
        mail.send_sms(address, f"Kode verifikasi ganti kontak Portal ASN Digital (nomor {which}): {code}. "
                      f"Berlaku {CONTACT_CODE_MINUTES} menit. Bukan Anda? Hubungi helpdesk.", nip=employee.nip)


@bp.post("/dashboard/kontak/verifikasi")
@limiter.limit(lambda: current_app.config["OTP_RATE_LIMIT"])
def contact_verify():
    token = _pending_contact_change()
    if token is None:
        flash("Tidak ada perubahan yang menunggu, atau kodenya sudah kedaluwarsa. Ulangi dari awal.", "info")
        return go("dashboard.contact")
    has_old = bool(token.payload.get("old"))
    typed = "".join(re.sub(r"\s", "", request.form.get(name, ""))[:8] for name in ("code", "old_code"))
    result = token.check_code(typed, 5, digits=12 if has_old else 6)
    if result in ("exhausted", "used", "expired"):
        token.consume()
        flash("Kode salah terlalu banyak atau sudah kedaluwarsa. Ulangi perubahan dari awal.", "error")
        return go("dashboard.contact")
    if result != "ok":
        audit("contact.code_failed", account=current_user)
        message = "Kode verifikasi salah." if result == "wrong" else "Setiap kode terdiri dari 6 digit angka."
        errors = {"code": message} if not has_old else {"code": message, "old_code": message}
        return _contact_page(422, "verify_form", errors=errors, pending=token)
    employee = current_user.employee
    field, value = token.payload["field"], token.payload["value"]
    old = getattr(employee, field)
    models.Employee.update({getattr(models.Employee, field): value}).where(models.Employee.id == employee.id).execute()
    audit("contact.changed", account=current_user, detail=field)
    if field == "email" and old:
        mail.send_email(old, "Email akun Portal ASN Digital telah diganti", "contact_changed", nip=employee.nip,
                        nama=employee.nama, label=CONTACT_FIELDS[field], when=now())
    elif old:
        mail.send_sms(old, "Nomor ponsel akun Portal ASN Digital Anda telah diganti. Jika bukan Anda, segera "
                      "hubungi helpdesk instansi.", nip=employee.nip)
        mail.send_email(employee.email, "Nomor ponsel akun Portal ASN Digital telah diganti", "contact_changed",
                        nip=employee.nip, nama=employee.nama, label=CONTACT_FIELDS[field], when=now())
    flash(f"{CONTACT_FIELDS[field].capitalize()} Anda diperbarui.", "success")
    return go("dashboard.contact")
