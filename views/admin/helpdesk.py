"""Helpdesk actions on an account, each after the operator records how the caller's
identity was checked."""

from dataclasses import dataclass

from flask import (
    current_app,
    flash,
    request,
)
from flask_login import current_user

import fields
import mail
import models
from security import now
from views import app_settings, audit, go, localtime, respond
from views.admin import _target, bp


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


def action_needed(slug: str, account) -> bool:
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
                   verifications=VERIFICATIONS, needed=action_needed(slug, models.Account.get_or_none(
                       models.Account.employee == employee)))


@bp.get(ACTION_PATH)
def action(nip, action):
    employee, _ = _target(nip)
    return _action_page(employee, action)


@bp.post(ACTION_PATH)
def action_post(nip, action):
    employee, account = _target(nip)
    spec = ACTIONS[action]
    if not action_needed(action, account):
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
        password = account.issue_temporary_password(app_settings())
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


