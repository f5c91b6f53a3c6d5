"""Helpdesk and admin console: employees (search, CSV upload, contact data, roles), the
helpdesk actions on an account, each after the operator records how the caller's
identity was checked, the audit log, and the queue of outgoing messages. Every route needs
a fully signed-in helpdesk or admin; the routes marked admin_only need an admin."""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import wraps

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import secure_filename

import fields
import letters
import mail
import models
import security
from security import now
from views import EVENT_LABELS, audit, go, localtime, pdf_download, respond

bp = Blueprint("admin", __name__)

STAFF_ROLES = ("helpdesk", "admin")
EMPLOYEES_PER_PAGE = 20
EVENTS_PER_PAGE = 50
UPLOAD_ERRORS_SHOWN = 200
APPROVED_ACTIVATION_HOURS = 7 * 24


@bp.before_request
def require_staff():
    """Runs before every route of this blueprint, so a new route is never left open."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if current_user.role not in STAFF_ROLES or not current_user.is_active:
        abort(403)
    return None


def admin_only(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)
    return wrapped


@bp.app_template_filter("masked_nik")
def masked_nik(last4: str) -> str:
    """The last four digits: enough to compare with the caller's KTP. The other twelve
    are the region and the birth date, which the NIP already shows, so showing them would
    give the whole NIK away."""
    return security.masked_nik(last4)


COUNT_CAP = 1000  # rows counted at most: an exact count of a million rows takes a pass over them


@dataclass
class Pager:
    page: int
    per_page: int
    total: int  # at most COUNT_CAP
    is_capped: bool = False  # more rows than COUNT_CAP match

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _pager(query, per_page):
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    counted = query.select(query.model.id).order_by().limit(COUNT_CAP + 1).count()
    pager = Pager(page, per_page, min(counted, COUNT_CAP), counted > COUNT_CAP)
    pager.page = min(page, pager.pages)
    return query.paginate(pager.page, per_page), pager


def _employee_or_404(nip: str) -> models.Employee:
    employee = models.Employee.by_nip(nip)
    if employee is None:
        abort(404)
    return employee


def _may_change(employee, account) -> bool:
    """Nobody changes their own account here, and the helpdesk only ordinary
    employees' (otherwise a helpdesk could reset an admin's password and MFA)."""
    if employee.id == current_user.employee_id:
        return False
    return current_user.role == "admin" or account is None or account.role == "pegawai"


def _target(nip: str):
    employee = _employee_or_404(nip)
    account = models.Account.get_or_none(models.Account.employee == employee)
    if not _may_change(employee, account):
        abort(403)
    return employee, account


# --------------------------------------------------------------------------- employees


@bp.get("/")
def index():
    return redirect(url_for("admin.employees"))


@bp.get("/pegawai")
def employees():
    q = request.args.get("q", "")[:100]
    page, pager = _pager(models.Employee.search(q), EMPLOYEES_PER_PAGE)
    return respond("admin/employees.html", "results", q=q, employees=list(page), pager=pager)


def _employee_page(employee, status=200, errors=None, form=None, doc_form=None):
    account = models.Account.get_or_none(models.Account.employee == employee)
    return respond(
        "admin/employee.html", "console", status, employee=employee, account=account,
        authenticators=list(account.confirmed_authenticators()) if account else [],
        passkeys=list(models.Passkey.of(account)) if account else [],
        sessions=list(account.active_sessions()) if account else [],
        events=list(models.AuditEvent.for_nip(employee.nip).limit(20)),
        documents=list(models.Document.listing(employee)),
        actions=[(slug, spec) for slug, spec in ACTIONS.items() if _needed(slug, account)],
        may_change=_may_change(employee, account), statuses=models.STATUSES, roles=models.ROLES,
        errors=errors or {}, form=form or {}, doc_form=doc_form or {}, labels=EVENT_LABELS)


@bp.get("/pegawai/<nip>")
def employee(nip):
    return _employee_page(_employee_or_404(nip))


def _employee_edit(form) -> tuple[dict, dict]:
    """The contact data and status an admin may change: (values, errors by field)."""
    errors = {}
    values = {"email": fields.check(errors, "email", fields.email, form.get("email"), required=False),
              "telepon": fields.check(errors, "telepon", fields.phone, form.get("telepon"), required=False),
              "status": (form.get("status") or "").strip().lower()}
    if values["status"] not in models.STATUSES:
        errors["status"] = "Pilih salah satu status: " + ", ".join(models.STATUSES) + "."
    for name in ("email", "telepon"):
        if values[name] is None:  # shown again as typed, next to its message
            values[name] = fields.squashed(form.get(name), 254)
    return values, errors


@bp.post("/pegawai/<nip>/data")
@admin_only
def employee_data_post(nip):
    employee, account = _target(nip)
    values, errors = _employee_edit(request.form)
    if errors:
        return _employee_page(employee, 422, errors, values)
    changed = [name for name, value in values.items() if getattr(employee, name) != value]
    if not changed:
        flash("Tidak ada perubahan.", "info")
        return go("admin.employee", nip=employee.nip)
    detail = "diubah: " + ", ".join(changed)
    if "status" in changed:
        detail += f"; status {employee.status} → {values['status']}"
    employee.update_data(values)
    if account and not employee.is_active:
        account.end_sessions()  # a deactivated employee is signed out everywhere
    audit("employee.updated", account=account, nip=employee.nip, actor=current_user, detail=detail)
    flash("Data pegawai tersimpan.", "success")
    return go("admin.employee", nip=employee.nip)


@bp.post("/pegawai/<nip>/peran")
@admin_only
def role_post(nip):
    employee, account = _target(nip)
    role = request.form.get("role", "")
    if role not in models.ROLES:
        return _employee_page(employee, 422, {"role": "Pilih peran: pegawai, helpdesk, atau admin."})
    account = account or models.Account.for_employee(employee)
    if role != account.role:
        audit("role.changed", account=account, actor=current_user, detail=f"{account.role} → {role}")
        account.set_role(role)
        flash(f"Peran {employee.nama} sekarang {role}.", "success")
    return go("admin.employee", nip=employee.nip)


# --------------------------------------------------------------------------- CSV upload


UPLOAD_ROW_BYTES = 300  # a row with long names, units and positions; most are shorter


def upload_limit_text() -> str:
    """"64 MB (sekitar 220.000 baris)": what ASN_MAX_UPLOAD_LENGTH really allows."""
    limit = current_app.config["MAX_UPLOAD_LENGTH"]
    rows = limit // UPLOAD_ROW_BYTES // 1000 * 1000
    return f"{limit // 2**20} MB (sekitar {rows:,} baris)".replace(",", ".")


def _upload_page(status=200, errors=None, report=None):
    return respond("admin/upload.html", "console", status, errors=errors or {}, report=report,
                   shown=UPLOAD_ERRORS_SHOWN, header=",".join(models.CSV_HEADER), limit=upload_limit_text())


@bp.get("/pegawai/unggah")
@admin_only
def upload():
    return _upload_page()


def _read_upload(limit: int):
    """The uploaded file `berkas`, read under `limit` bytes instead of the site-wide
    limit. The global CSRF check would read the body under that smaller limit before the
    view runs, so upload views are exempt from it (see below) and check CSRF here, after
    the role check and the raised limit. Raises RequestEntityTooLarge."""
    request.max_content_length = limit
    if current_app.config["WTF_CSRF_ENABLED"]:
        current_app.extensions["csrf"].protect()
    return request.files.get("berkas")


@bp.post("/pegawai/unggah")
@admin_only
def upload_post():
    try:
        upload = _read_upload(current_app.config["MAX_UPLOAD_LENGTH"])
    except RequestEntityTooLarge:
        return _upload_page(413, {"berkas": (
            f"Berkas terlalu besar. Batasnya {upload_limit_text()}. Bagi "
            "berkas menjadi beberapa bagian, lalu unggah satu per satu.")})
    return _import(upload, models.import_employees, "employees.imported", _upload_page)


def _import(upload, importer, event: str, page):
    """Run `importer` on an uploaded CSV, audit it, and show `page` with the report."""
    if upload is None or not upload.filename:
        return page(422, {"berkas": "Pilih berkas CSV yang akan diunggah."})
    report = importer(upload.stream)
    audit(event, actor=current_user, detail=f"{upload.filename[:80]}: {report.created} baru, "
                                            f"{report.updated} diperbarui, {report.rejected} baris ditolak")
    return page(422 if report.rejected and not report.imported else 200, report=report)


def _history_page(status=200, errors=None, report=None):
    return respond("admin/upload_history.html", "console", status, errors=errors or {}, report=report,
                   shown=UPLOAD_ERRORS_SHOWN, header=",".join(models.HISTORY_HEADER))


@bp.get("/riwayat/unggah")
@admin_only
def history_upload():
    return _history_page()


@bp.post("/riwayat/unggah")
@admin_only
def history_upload_post():
    return _import(request.files.get("berkas"), models.import_history, "history.imported", _history_page)


# --------------------------------------------------------------------------- documents


@bp.post("/pegawai/<nip>/dokumen")
@admin_only
def document_post(nip):
    employee, _ = _target(nip)
    limit_mb = models.Document.MAX_BYTES // 2**20
    try:
        upload = _read_upload(models.Document.MAX_BYTES + 64 * 1024)  # room for the form fields
    except RequestEntityTooLarge:
        return _employee_page(employee, 413, {"berkas": f"Berkas terlalu besar. Batasnya {limit_mb} MB."})
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
        return _employee_page(employee, 422, errors, doc_form=form)
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


for _view in (upload_post, document_post):
    bp.record_once(lambda state, view=_view: state.app.extensions["csrf"].exempt(view))


# --------------------------------------------------------------------------- leave requests


@bp.get("/cuti")
@admin_only
def leave_requests():
    status = request.args.get("status", "diajukan")
    if status not in models.LeaveRequest.STATUS_LABELS:
        status = "diajukan"
    page, pager = _pager(models.LeaveRequest.with_status(status), EMPLOYEES_PER_PAGE)
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
    item.decide(status, note, current_user.employee.nip)
    employee = item.employee
    label = models.LEAVE_TYPES[item.jenis]
    text = f"{label} {item.start:%d-%m-%Y} s.d. {item.end:%d-%m-%Y}: {item.STATUS_LABELS[status].lower()}."
    models.Notification.create(employee=employee, title=f"Pengajuan cuti {item.STATUS_LABELS[status].lower()}",
                               body=text + (f" Catatan: {note}" if note else ""),
                               link=url_for("dashboard.leave_detail", request_id=item.id))
    mail.send_email(employee.email, f"Pengajuan cuti Anda {item.STATUS_LABELS[status].lower()}", "leave_decided",
                    nip=employee.nip, nama=employee.nama, text=text, note=note)
    audit(f"leave.{status}", nip=employee.nip, actor=current_user, detail=f"pengajuan {item.id}")
    flash(f"Pengajuan cuti {employee.nama} {item.STATUS_LABELS[status].lower()}.", "success")
    return go("admin.leave_requests")


# --------------------------------------------------------------------------- helpdesk actions


@dataclass(frozen=True)
class Action:
    title: str
    effect: str  # what happens, for the confirmation page
    done: str
    not_needed: str
    event: str
    subject: str  # of the message to the employee
    template: str


ACTIONS = {
    "buka-kunci": Action(
        "Buka kunci akun",
        "Kunci karena terlalu banyak percobaan gagal dibuka, dan hitungan gagal kembali nol. "
        "Kata sandi dan MFA tidak berubah.",
        "Kunci akun dibuka. Pegawai dapat masuk lagi.",
        "Akun ini tidak sedang terkunci.",
        "account.unlocked", "Akun Portal ASN Digital Anda dibuka kuncinya oleh helpdesk",
        "helpdesk_unlocked"),
    "kata-sandi-sementara": Action(
        "Beri kata sandi sementara",
        f"Kata sandi acak dibuat dan ditampilkan sekali kepada Anda. Kata sandi itu berlaku "
        f"{models.TEMPORARY_PASSWORD_HOURS} jam dan wajib diganti pegawai saat masuk. Kata sandi "
        "lama berhenti berlaku, kunci akun dibuka, dan semua sesi pegawai diakhiri.",
        "Kata sandi sementara dibuat.",
        "",
        "password.reset", "Kata sandi Portal ASN Digital Anda diatur ulang oleh helpdesk",
        "helpdesk_temporary_password"),
    "reset-mfa": Action(
        "Atur ulang MFA",
        "Semua autentikator (aplikasi OTP), kode pemulihan dan passkey akun ini dihapus. Saat masuk "
        "berikutnya, setelah kata sandi, pegawai diminta memindai kode QR baru di ponselnya.",
        "MFA diatur ulang. Saat masuk berikutnya pegawai mengaktifkan MFA lagi.",
        "Akun ini belum mengaktifkan MFA, jadi tidak ada yang perlu diatur ulang.",
        "mfa.reset", "MFA akun Portal ASN Digital Anda diatur ulang oleh helpdesk",
        "helpdesk_mfa_reset"),
    "akhiri-sesi": Action(
        "Akhiri semua sesi",
        "Semua perangkat yang sedang masuk dengan akun ini dikeluarkan. Kata sandi dan MFA "
        "tidak berubah.",
        "Semua sesi diakhiri.",
        "Akun ini tidak sedang masuk di perangkat mana pun.",
        "sessions.ended", "Semua sesi Portal ASN Digital Anda diakhiri oleh helpdesk",
        "helpdesk_sessions_ended"),
}
ACTION_PATH = "/pegawai/<nip>/<any(" + ", ".join(f'"{slug}"' for slug in ACTIONS) + "):action>"

# How the operator made sure the caller is the employee (per BKN's helpdesk practice).
VERIFICATIONS = {
    "ktp": ("KTP", "KTP (asli atau pindaian): nama dan NIK cocok dengan data pegawai"),
    "sk": ("SK pengangkatan", "SK pengangkatan ASN: nama dan NIP cocok"),
    "lainnya": ("identitas lain", "Bukti identitas lain (kartu pegawai, surat keterangan atasan); "
                                  "sebutkan di alasan"),
}


def _needed(slug: str, account) -> bool:
    if slug == "kata-sandi-sementara":
        return True
    if account is None:
        return False
    if slug == "buka-kunci":
        return account.is_locked
    if slug == "reset-mfa":
        return account.has_mfa
    return account.sessions.exists()


def _action_page(employee, slug, status=200, errors=None, checked=(), reason=""):
    return respond("admin/action.html", "console", status, employee=employee, slug=slug,
                   spec=ACTIONS[slug], errors=errors or {}, checked=checked, reason=reason,
                   verifications=VERIFICATIONS, needed=_needed(slug, models.Account.get_or_none(
                       models.Account.employee == employee)))


@bp.get(ACTION_PATH)
def action(nip, action):
    employee, _ = _target(nip)
    return _action_page(employee, action)


@bp.post(ACTION_PATH)
def action_post(nip, action):
    employee, account = _target(nip)
    spec = ACTIONS[action]
    if not _needed(action, account):
        flash(spec.not_needed, "info")
        return go("admin.employee", nip=employee.nip)
    checked = [key for key in VERIFICATIONS if key in request.form.getlist("verifikasi")]
    reason = fields.squashed(request.form.get("alasan"), 1000)
    errors = {}
    if not checked:
        errors["verifikasi"] = "Centang cara Anda memastikan identitas pegawai."
    if len(reason) < 5:
        errors["alasan"] = "Tulis alasan tindakan ini, misalnya \"ponsel hilang, lapor lewat telepon\"."
    elif len(reason) > 200:
        errors["alasan"] = "Alasan paling banyak 200 karakter."
    if errors:
        return _action_page(employee, action, 422, errors, checked, reason)

    password = None
    if action == "kata-sandi-sementara":
        account = account or models.Account.for_employee(employee)
        password = account.issue_temporary_password(current_app.config["ARGON2_COST"])
    elif action == "buka-kunci":
        account.unlock()
    elif action == "reset-mfa":
        account.reset_mfa()
    else:
        account.end_sessions()
    sent = _notify(employee, spec)
    audit(spec.event, account=account, actor=current_user, detail=(
        "verifikasi: " + ", ".join(VERIFICATIONS[key][0] for key in checked)
        + f"; alasan: {reason}" + ("" if sent else "; tanpa pemberitahuan: email dan ponsel kosong")))
    if password:
        return respond("admin/temporary_password.html", "console", employee=employee,
                       password=password, expires_at=account.temp_password_expires_at)
    flash(spec.done, "success")
    return go("admin.employee", nip=employee.nip)


def _notify(employee, spec) -> bool:
    """Tells the employee what the helpdesk did (never the password), so an action they
    did not ask for does not go unnoticed. E-mail, else SMS; False when neither is known."""
    context = {"nama": employee.nama, "waktu": localtime(now()), "jam": models.TEMPORARY_PASSWORD_HOURS,
               "kontak": current_app.config["HELPDESK_CONTACT"]}
    if employee.email:
        mail.send_email(employee.email, spec.subject, spec.template, nip=employee.nip, **context)
    elif employee.telepon:
        mail.send_sms(employee.telepon, f"Portal ASN Digital: {spec.subject} ({context['waktu']}). "
                                        f"Bukan Anda yang meminta? Hubungi {context['kontak']}.",
                      nip=employee.nip)
    else:
        return False
    return True


# --------------------------------------------------------------------------- first sign-in: registrations and letters


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
        models.ActivationLetter.recipients(unit), current_app.config["SECRET_KEY"],
        current_app.config["BASE_URL"] or request.url_root.rstrip("/"), current_app.config["HELPDESK_CONTACT"])
    audit("activation_letters.printed", actor=current_user, detail=f"{count} surat; unit: {unit or 'semua'}")
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True, max_age=0,
                     download_name=f"surat-aktivasi-{now():%Y%m%d-%H%M}.pdf")


# --------------------------------------------------------------------------- outbox

# What the outbox page lists under each tab: never the messages already sent.
MESSAGE_TABS = {"antre": ("Dalam antrean", ("pending", "sending")),
                "gagal": ("Gagal", ("failed",)),
                "tanpa-server": ("Tidak dikirim (tanpa server surel/SMS)", ("outbox",))}
MESSAGES_PER_PAGE = 50


@bp.get("/pesan")
@admin_only
def messages():
    tab = request.args.get("status", "antre")
    if tab not in MESSAGE_TABS:
        tab = "antre"
    page, pager = _pager(models.Message.with_status(MESSAGE_TABS[tab][1]), MESSAGES_PER_PAGE)
    return respond("admin/messages.html", "console", messages=list(page), pager=pager, tabs=MESSAGE_TABS,
                   shown_tab=tab, max_attempts=models.Message.MAX_ATTEMPTS)


# --------------------------------------------------------------------------- connected apps (single sign-on)


def _apps_page(status=200, errors=None, form=None):
    return respond("admin/apps.html", "console", status, clients=list(models.OidcClient.listing()),
                   errors=errors or {}, form=form or {}, issuer=current_app.config["BASE_URL"] or request.url_root)


@bp.get("/aplikasi")
@admin_only
def apps():
    return _apps_page()


@bp.post("/aplikasi")
@admin_only
def app_add():
    form = {"name": fields.squashed(request.form.get("name"), 100),
            "redirect_uris": request.form.get("redirect_uris", "")[:4000],
            "post_logout_redirect_uris": request.form.get("post_logout_redirect_uris", "")[:4000],
            "backchannel_logout_uri": request.form.get("backchannel_logout_uri", "").strip()[:500],
            "is_public": bool(request.form.get("is_public")),
            "is_pre_approved": bool(request.form.get("is_pre_approved"))}
    redirect_uris = form["redirect_uris"].split()
    post_logout_uris = form["post_logout_redirect_uris"].split()
    errors = {}
    if not form["name"]:
        errors["name"] = "Isi nama aplikasi, misalnya \"e-Kinerja\"."
    problems = models.OidcClient.uri_problems(redirect_uris, form["backchannel_logout_uri"], post_logout_uris)
    if problems:
        errors["redirect_uris"] = " ".join(problems)
    if errors:
        return _apps_page(422, errors, form)
    client, secret = models.OidcClient.register(
        form["name"], redirect_uris, is_public=form["is_public"], is_pre_approved=form["is_pre_approved"],
        backchannel_logout_uri=form["backchannel_logout_uri"], post_logout_redirect_uris=post_logout_uris)
    audit("oidc.client_added", actor=current_user,
          detail=f"{client.name} ({client.client_id}); " + ("publik" if client.is_public else "rahasia")
                 + ("; tanpa halaman izin" if client.is_pre_approved else ""))
    return render_template("admin/app_secret.html", client=client, secret=secret, is_new=True)


def _client_or_404(client_id):
    return models.OidcClient.get_or_none(models.OidcClient.id == client_id) or abort(404)


@bp.post("/aplikasi/<int:client_id>/rahasia")
@admin_only
def app_secret_rotate(client_id):
    client = _client_or_404(client_id)
    if client.is_public:
        abort(404)
    secret = client.rotate_secret()
    audit("oidc.client_secret_rotated", actor=current_user, detail=f"{client.name} ({client.client_id})")
    return render_template("admin/app_secret.html", client=client, secret=secret, is_new=False)


@bp.post("/aplikasi/<int:client_id>/status")
@admin_only
def app_toggle(client_id):
    client = _client_or_404(client_id)
    client.is_disabled = not client.is_disabled
    client.save()
    if client.is_disabled:
        models.OidcToken.update(revoked_at=now()).where((models.OidcToken.client == client.id)
                                                        & models.OidcToken.revoked_at.is_null()).execute()
    audit("oidc.client_disabled" if client.is_disabled else "oidc.client_enabled", actor=current_user,
          detail=f"{client.name} ({client.client_id})")
    flash(f"{client.name} dinonaktifkan: tidak dapat lagi memakai portal untuk masuk." if client.is_disabled
          else f"{client.name} diaktifkan kembali.", "success")
    return go("admin.apps")


# --------------------------------------------------------------------------- audit log



# The filter's choices: every event the portal records has a label. Not read from the
# table, which would mean a pass over every event at each view.
EVENT_NAMES = sorted(EVENT_LABELS)


def _audit_filters():
    """(the form as typed, AuditEvent.search arguments, errors by field)."""
    form = {name: request.args.get(name, "").strip()[:40] for name in ("nip", "event", "dari", "sampai")}
    filters, errors = {"event": form["event"]}, {}
    if form["nip"]:
        filters["nip"] = security.normalize_nip(form["nip"])
        if not filters["nip"].isdigit():
            errors["nip"] = "NIP hanya berisi angka."
    for name, key, days in (("dari", "start", 0), ("sampai", "end", 1)):
        if not form[name]:
            continue
        try:
            day = date.fromisoformat(form[name])
            filters[key] = security.utc_from_local(datetime.combine(day + timedelta(days=days), time()),
                                                   current_app.config["TIMEZONE"])
        except (ValueError, OverflowError):  # OverflowError: year 1 or 9999
            errors[name] = "Tanggal dengan format TTTT-BB-HH, misalnya 2026-11-23."
    if filters.get("start") and filters.get("end") and filters["start"] >= filters["end"]:
        errors["sampai"] = "Tanggal akhir tidak boleh sebelum tanggal awal."
    return form, filters, errors


@bp.get("/audit")
@admin_only
def audit_log():
    form, filters, errors = _audit_filters()
    query = models.AuditEvent.search(**filters) if not errors else models.AuditEvent.select().where(False)
    events, pager = _pager(query, EVENTS_PER_PAGE)
    return respond("admin/audit.html", "console", 422 if errors else 200, form=form, errors=errors,
                   events=list(events.dicts()), pager=pager, labels=EVENT_LABELS,
                   event_names=EVENT_NAMES,
                   query_args={k: v for k, v in form.items() if v})


@bp.get("/audit.csv")
@admin_only
def audit_export():
    form, filters, errors = _audit_filters()
    if errors:
        return audit_log()
    audit("audit.exported", actor=current_user,
          detail="; ".join(f"{k}={v}" for k, v in form.items() if v) or "semua")
    filename = f"log-audit-{localtime(now(), '%Y%m%d-%H%M')}.csv"
    return Response(_csv_lines(models.AuditEvent.search(**filters), current_app.config["TIMEZONE"]),
                    mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _csv_lines(query, zone: str):
    """Streamed: the log can be long. The request's connection is closed by the time the
    server reads this, so the generator opens its own."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # so spreadsheet programs read UTF-8
    writer.writerow(["waktu", "peristiwa", "nip", "petugas", "ip", "user_agent", "keterangan"])
    with models.db.connection_context():
        for count, event in enumerate(query.iterator(), 1):
            writer.writerow([security.local(event.created_at, zone).strftime("%Y-%m-%d %H:%M:%S %Z"),
                             _cell(event.event), _cell(event.nip), _cell(event.actor_nip or ""), _cell(event.ip),
                             _cell(event.user_agent), _cell(event.detail)])
            if count % 1000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


def _cell(text: str) -> str:
    """User agents and reasons come from outside: a leading = + - @ would make a
    spreadsheet run them as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r", ";") else text
