"""Trainer tools for classroom demonstrations: a console to reset demo accounts and put
them into the common problems, a virtual phone (authenticator codes and SMS), a demo
mailbox, and e-Kinerja (demo), an app that signs in through the portal. Everything here
answers 404 unless demo mode is on, and touches demo accounts only."""

import html
import logging
import re
from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup

import demo
import oidc
from views import app_settings, audit, go, localtime, respond

log = logging.getLogger(__name__)

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


@bp.app_context_processor
def _demo_data_on_portal_pages():
    """What demo mode adds to the portal's own pages (the demo accounts on the login page,
    a scenario's hidden QR code), so that no production view knows about demo data."""
    if not current_app.config["DEMO"]:
        return {}
    if request.endpoint in ("auth.login", "auth.login_post"):
        return {"demo_employees": demo.login_table(), "demo_password": demo.PASSWORD}
    if request.endpoint == "mfa.setup_add":
        nip = (session.get("pending") or {}).get("nip") or (
            current_user.employee.nip if current_user.is_authenticated else "")
        return {"qr_hidden": demo.hides_qr(nip)}
    return {}


def _employee(nip):
    return demo.demo_employee(nip) or abort(404)


# --------------------------------------------------------------------------- console


@bp.get("/")
def console():
    key = app_settings().secret_key
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
    demo.apply(problem.slug, employee, app_settings())
    audit("demo.scenario", nip=nip, detail=problem.slug)
    flash(f"{employee.nama}: skenario “{problem.title}” siap. Kata sandi: {demo.PASSWORD}. "
          f"Kotak surat peserta: {employee.email}. Perbaikan: {problem.fix}", "success")
    return go("trainer.console")


@bp.post("/akun/<nip>/latihan-passkey")
def passkey_practice(nip):
    employee = _employee(nip)
    if not employee.is_active:
        flash(f"{employee.nama} berstatus {employee.status} dan tidak bisa masuk; pilih pegawai aktif.", "error")
        return go("trainer.console")
    demo.prepare_passkey_practice(employee, app_settings())
    audit("demo.scenario", nip=nip, detail="latihan passkey")
    flash(f"{employee.nama}: siap untuk latihan passkey. Kata sandi: {demo.PASSWORD}; kode OTP di ponsel "
          "virtual. Ikuti langkah Latihan passkey di bawah.", "success")
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
    return respond("trainer/phone.html", "phone", screens=demo.phone(app_settings()),
                   sms=demo.sms())


@bp.post("/ponsel/<nip>/pindai")
def phone_scan(nip):
    problem = demo.scan_qr(_employee(nip))
    flash(problem or "Kode QR terpindai: akun muncul di aplikasi.", "error" if problem else "success")
    return go("trainer.phone")


@bp.post("/ponsel/<nip>/kunci")
def phone_key(nip):
    problem = demo.add_key(_employee(nip), request.form.get("key", "")[:100],
                           app_settings().secret_key)
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


# --------------------------------------------------------------------------- e-Kinerja (demo)
# Another app, as far as the portal can tell: it keeps its own signed cookie (the portal's
# session is renewed at every sign-in) and talks to the portal only over HTTP.

DEMO_APP_COOKIE = "ekinerja_demo"


def _demo_app_cookie() -> dict:
    serializer = URLSafeSerializer(app_settings().secret_key, salt="ekinerja-demo")
    try:
        return serializer.loads(request.cookies.get(DEMO_APP_COOKIE, ""))
    except BadSignature:
        return {}


def _with_demo_app_cookie(response, data: dict | None):
    if data is None:
        response.delete_cookie(DEMO_APP_COOKIE, path=demo.DEMO_APP_PATH)
        return response
    serializer = URLSafeSerializer(app_settings().secret_key, salt="ekinerja-demo")
    response.set_cookie(DEMO_APP_COOKIE, serializer.dumps(data), path=demo.DEMO_APP_PATH, httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _demo_app_address() -> str:
    """The portal's address as the browser opened it (ASN_BASE_URL when set); the demo app's
    callback is registered for it."""
    address = oidc.issuer()
    demo.demo_app_client(address, app_settings().secret_key)
    return address


@bp.get("/ekinerja/")
def demo_app():
    signed_out = request.args.get("state") == "keluar"
    claims = _demo_app_cookie().get("claims")
    if claims and isinstance(claims.get("auth_time"), int):
        moment = datetime.fromtimestamp(claims["auth_time"], UTC).replace(tzinfo=None)
        claims = {**claims, "auth_time": localtime(moment, "%d-%m-%Y %H.%M.%S %Z")}
    return respond("trainer/demo_app.html", "content", claims=claims, signed_out=signed_out and not claims,
                   labels=demo.DEMO_APP_CLAIM_LABELS)


@bp.get("/ekinerja/masuk")
def demo_app_login():
    url, pending = demo.demo_app_request(_demo_app_address())
    return _with_demo_app_cookie(redirect(url), {"pending": pending})


@bp.get("/ekinerja/kembali")
def demo_app_callback():
    pending = _demo_app_cookie().get("pending")
    if not pending or request.args.get("state") != pending["state"]:
        return respond("trainer/demo_app.html", "content", 400, claims=None, signed_out=False,
                       problem="Permintaan masuk ini tidak dikenal e-Kinerja (demo). Tekan Masuk lagi.")
    if request.args.get("error"):
        problem = ("Anda menolak memberi izin, jadi e-Kinerja (demo) tidak menerima data apa pun."
                   if request.args["error"] == "access_denied" else
                   f"Portal menolak permintaan masuk (kode: {request.args['error'][:40]}).")
        response = respond("trainer/demo_app.html", "content", claims=None, signed_out=False, problem=problem)
        return _with_demo_app_cookie(current_app.make_response(response), None)
    try:
        claims, id_token = demo.demo_app_sign_in(_demo_app_address(), app_settings().secret_key,
                                                 request.args.get("code", "")[:128], pending)
    except demo.DemoAppError as exc:
        log.warning("e-Kinerja (demo) sign-in failed: %s", exc)
        return respond("trainer/demo_app.html", "content", 400, claims=None, signed_out=False,
                       problem="e-Kinerja (demo) tidak dapat menyelesaikan masuk lewat portal. Tekan Masuk lagi.")
    return _with_demo_app_cookie(redirect(url_for("trainer.demo_app")), {"claims": claims, "id_token": id_token})


@bp.post("/ekinerja/keluar")
def demo_app_logout():
    id_token = _demo_app_cookie().get("id_token")
    target = (demo.demo_app_logout_url(_demo_app_address(), id_token) if id_token
              else url_for("trainer.demo_app"))
    return _with_demo_app_cookie(redirect(target, code=303), None)
