"""Trainer tools for classroom demonstrations: a console to reset demo accounts and put
them into the common problems, a virtual phone (authenticator codes and SMS) and a demo
mailbox. Everything here answers 404 unless demo mode is on, and touches demo accounts only."""

import html
import re

from flask import Blueprint, abort, current_app, flash, request
from markupsafe import Markup

import demo
from views import audit, go, respond

bp = Blueprint("trainer", __name__)


@bp.record_once
def _csrf_after_the_demo_check(state):
    # Flask-WTF checks CSRF before any blueprint hook runs; a POST without a token would
    # then answer 400 and reveal that the URL exists. The check is made below instead.
    state.app.extensions["csrf"].exempt(bp)


@bp.before_request
def demo_only():
    if not current_app.config["DEMO"]:
        abort(404)
    if current_app.config["WTF_CSRF_ENABLED"]:
        current_app.extensions["csrf"].protect()


def _employee(nip):
    return demo.demo_employee(nip) or abort(404)


# --------------------------------------------------------------------------- console


@bp.get("/")
def console():
    key = current_app.config["SECRET_KEY"]
    rows = []
    for employee in demo.employees():
        scenario = demo.scenario_of(employee)
        rows.append({"employee": employee, "status": demo.status(employee),
                     "problem": scenario and demo.PROBLEMS_BY_SLUG[scenario.slug],
                     "recovery_codes": demo.recovery_sheet(scenario, key) if scenario else []})
    return respond("trainer/console.html", "content", rows=rows, problems=demo.PROBLEMS, demo_niks=demo.DEMO_NIKS,
                   password=demo.PASSWORD)


@bp.post("/reset")
def reset_all():
    demo.reset()
    audit("demo.reset", detail="semua akun demo")
    flash("Semua data demo kembali ke awal: setiap akun masuk pertama kali dengan NIK.", "success")
    return go("trainer.console")


@bp.post("/akun/<nip>/reset")
def account_reset(nip):
    employee = _employee(nip)
    demo.reset_account(employee)
    audit("demo.reset", nip=nip, detail="masuk pertama kali")
    flash(f"{employee.nama}: kembali ke masuk pertama kali (kata sandi = NIK).", "success")
    return go("trainer.console")


@bp.post("/akun/<nip>/skenario")
def scenario(nip):
    employee = _employee(nip)
    problem = demo.PROBLEMS_BY_SLUG.get(request.form.get("skenario", ""))
    if problem is None:
        flash("Pilih salah satu dari delapan masalah.", "error")
        return go("trainer.console")
    if not employee.is_active:
        flash(f"{employee.nama} berstatus {employee.status} dan tidak bisa masuk; pilih pegawai aktif.",
              "error")
        return go("trainer.console")
    demo.apply(problem.slug, employee, current_app.config)
    audit("demo.scenario", nip=nip, detail=problem.slug)
    flash(f"{employee.nama}: skenario “{problem.title}” siap. Kata sandi: {demo.PASSWORD}. "
          f"Kotak surat peserta: {employee.email}. Perbaikan: {problem.fix}", "success")
    return go("trainer.console")


@bp.post("/akun/<nip>/reset-mfa")
def mfa_reset(nip):
    employee = _employee(nip)
    demo.reset_mfa(employee)
    audit("demo.mfa_reset", nip=nip, detail="seperti helpdesk")
    flash(f"{employee.nama}: MFA diatur ulang. Saat masuk berikutnya peserta mendaftarkan ponsel baru.",
          "success")
    return go("trainer.console")


# --------------------------------------------------------------------------- virtual phone


@bp.get("/ponsel")
def phone():
    return respond("trainer/phone.html", "phone", screens=demo.phone(current_app.config["SECRET_KEY"]),
                   sms=demo.sms())


@bp.post("/ponsel/<nip>/pindai")
def phone_scan(nip):
    problem = demo.scan_qr(_employee(nip))
    flash(problem or "Kode QR terpindai: akun muncul di aplikasi.", "error" if problem else "success")
    return go("trainer.phone")


@bp.post("/ponsel/<nip>/kunci")
def phone_key(nip):
    problem = demo.add_key(_employee(nip), request.form.get("key", "")[:100],
                           current_app.config["SECRET_KEY"])
    flash(problem or "Kunci tersimpan: akun muncul di aplikasi.", "error" if problem else "success")
    return go("trainer.phone")


def _entry(entry_id):
    entry = demo.phone_entry(entry_id)
    if entry is None or demo.demo_employee(entry.nip) is None:
        abort(404)
    return entry


@bp.post("/ponsel/entri/<int:entry_id>/hapus")
def phone_entry_delete(entry_id):
    _entry(entry_id).delete_instance()
    flash("Akun dihapus dari aplikasi.", "success")
    return go("trainer.phone")


@bp.post("/ponsel/entri/<int:entry_id>/waktu-otomatis")
def phone_entry_sync(entry_id):
    entry = _entry(entry_id)
    entry.skew_seconds = 0
    entry.save()
    flash(f"{entry.device}: tanggal & waktu otomatis menyala; jam ponsel sekarang tepat.", "success")
    return go("trainer.phone")


# --------------------------------------------------------------------------- demo mailbox


def _linked(text: str) -> Markup:
    """The message text, escaped, with its links clickable."""
    escaped = html.escape(text)
    return Markup(re.sub(r"(https?://[^\s<]+)", r'<a href="\1">\1</a>', escaped))  # noqa: S704 - escaped above


@bp.get("/surel")
def mailbox():
    messages = [{"message": m, "when": m.created_at, "body": _linked(m.body)}
                for m in demo.emails()]
    return respond("trainer/mailbox.html", "content", messages=messages, owner=None)


@bp.get("/surel/<nip>")
def mailbox_of(nip):
    """One demo account's mailbox: what a participant opens to read their own e-mail."""
    employee = _employee(nip)
    messages = [{"message": m, "when": m.created_at, "body": _linked(m.body)}
                for m in demo.emails(nip=employee.nip)]
    return respond("trainer/mailbox.html", "content", messages=messages, owner=employee)


# --------------------------------------------------------------------------- participants


@bp.get("/peserta")
def participants():
    """The printable list of demo accounts: what each participant types and which mailbox they open."""
    return respond("trainer/participants.html", "content", rows=demo.login_table(everyone=True))
