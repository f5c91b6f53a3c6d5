"""Blueprints, and the small plumbing every view shares: page-or-fragment rendering,
redirects that work with and without htmx (one round trip per step), codes sent to the
contact on record, pages of rows, PDF downloads, and audit records with the client's
address. The sign-in state itself is in views/signin.py."""

import io
import itertools
from dataclasses import dataclass

from flask import (
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from htmx_flask import make_response
from jinja2_fragments.flask import render_block
from markupsafe import Markup

import mail
import models
import security
import settings

limiter = Limiter(key_func=get_remote_address)


def step_key():
    """Rate-limit key for the steps after the password and for registration codes: the
    sign-in or registration this browser holds (server-side state, signed) with its
    address. Never a form field: a stranger posting someone's NIP must not use up that
    person's tries, nor make the portal send them messages."""
    pending = session.get("pending") or {}
    registration = session.get("registration") or {}
    who = pending.get("account") or registration.get("nip") or "-"
    return f"langkah:{who}:{get_remote_address()}"


def code_limit():
    return current_app.config["CODE_RATE_LIMIT"]


def register_blueprints(app):
    from views import account, admin, auth, dashboard, health, help, mfa, oidc, requests, trainer

    app.register_blueprint(auth.bp)
    app.register_blueprint(oidc.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(help.bp, url_prefix="/bantuan")
    app.register_blueprint(mfa.bp, url_prefix="/mfa")
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(requests.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(trainer.bp, url_prefix="/pelatih")  # 404 unless demo mode
    app.register_blueprint(health.bp)
    app.add_template_global(password_problems_by_field)
    app.add_template_filter(models.event_label)


def respond(template: str, block: str, status: int = 200, **context):
    """The whole page for a normal request; only `block` for a targeted htmx request."""
    context["has_errors"] = 400 <= status < 500
    if wants_fragment():
        fragment = render_block(template, block, **context)
        if block.endswith("_form") or context["has_errors"]:
            # htmx takes the page title from a <title> in the fragment: "Kesalahan: " comes and goes.
            title = render_block(template, "title", **context).strip()
            prefix = "Kesalahan: " if context["has_errors"] else ""
            fragment = f"<title>{prefix}{title} · Portal ASN Digital</title>{fragment}"
        return fragment, status
    return render_template(template, **context), status


_built = {}  # (script root, what) -> a URL or a piece of page built at its first use


def built_once(key: tuple, build):
    """What depends on nothing but the script root and `key` (a link, a menu, the list of
    help topics) is built at its first use instead of on every page."""
    full_key = (request.script_root, *key)
    if full_key not in _built:
        _built[full_key] = build()
    return _built[full_key]


def rendered_once(key: tuple, template: str, **context) -> Markup:
    """A piece of page (`template` with `context`) that is the same for every `key`,
    rendered at its first use for each script root."""
    def rendered():
        html = current_app.jinja_env.get_template(template).render(**context).strip()
        return Markup(html)  # noqa: S704 - the template escaped every value
    return built_once(key, rendered)


def wants_fragment() -> bool:
    """A targeted htmx request wants only its block. A boosted request, a history restore
    (htmx asks again for a page it no longer holds) and the page that answers a step
    (`go`) want the whole page."""
    htmx = request.htmx
    return bool(htmx) and not (htmx.boosted or htmx.history_restore_request or g.get("answering_step"))


def go(endpoint: str, **values):
    """After a successful POST, the page at `endpoint`. A plain form gets a 303 redirect
    (POST/redirect/GET). htmx gets that page in this same answer, with its URL pushed
    to the history: one round trip per step instead of two on a slow link. Back, Forward
    and reload then load that URL as a page of its own."""
    url = url_for(endpoint, **values)
    if not request.htmx:
        return redirect(url, code=303)
    # The page's own view answers, as if the browser had asked for it (request.endpoint included).
    request.url_rule, request.view_args = next(current_app.url_map.iter_rules(endpoint)), values
    g.answering_step = True
    response = current_app.make_response(current_app.ensure_sync(current_app.view_functions[endpoint])(**values))
    if response.location or "HX-Redirect" in response.headers:  # that page sends the browser on
        return make_response(redirect=response.headers.get("HX-Redirect") or response.location)
    response.headers.setdefault("HX-Push-Url", url)  # a step that went on to another one pushes the last
    response.headers["HX-Retarget"] = "body"
    response.headers["HX-Reswap"] = "innerHTML show:window:top"
    return response


def enrollment_context(account) -> dict:
    """What a page enrolling an authenticator shows: the QR code, the key to type and the
    open-in-app link of the account's pending (same on every reload) authenticator."""
    cfg = current_app.config
    secret = models.Authenticator.pending_for(account, app_settings()).secret(app_settings())
    uri = security.totp_uri(secret, account.employee.nip, cfg["TOTP_ISSUER"])
    return {"otpauth_uri": uri, "qr_svg": security.qr_svg(uri), "grouped_secret": security.group_secret(secret),
            "nip": account.employee.nip, "issuer": cfg["TOTP_ISSUER"]}


def default_device_name(account) -> str:
    """"Ponsel 1", or the next number no authenticator of the account is called yet."""
    names = {a.name for a in account.authenticators}
    return next(f"Ponsel {n}" for n in itertools.count(1) if f"Ponsel {n}" not in names)


def new_password_problems(employee, account=None):
    """The password typed in `new_password`/`confirm_password` and every rule it breaks;
    given the account, it must also differ from the current password."""
    new = request.form.get("new_password", "")[:256]
    problems = security.password_problems(new, request.form.get("confirm_password", "")[:256],
                                          nip=employee.nip, contains_nik=employee.contains_nik,
                                          birth_date=employee.birth_date)
    if not problems and account is not None and account.check_password(new, app_settings()):
        problems = ["Kata sandi baru harus berbeda dari kata sandi sekarang."]
    return new, problems


def password_problems_by_field(problems) -> dict:
    """Unmet password rules by the field they belong to (for the summary and the fields)."""
    by_field = {}
    for problem in problems or ():
        by_field.setdefault("confirm_password" if problem == security.PASSWORD_MISMATCH else "new_password",
                            []).append(problem)
    return by_field


def for_signed_in_employees(bp) -> None:
    """Every page of `bp` is for a fully signed-in employee, and its header shows the
    unread notifications."""
    bp.before_request(login_required(lambda: None))

    @bp.context_processor
    def header():
        # Error pages of the blueprint (a failed CSRF check comes before login_required)
        # are rendered for anonymous visitors too.
        if not current_user.is_authenticated:
            return {}
        return {"unread_notifications": models.Notification.unread_count(current_user.employee)}


def app_settings() -> settings.Settings:
    """The settings the domain rules take, built once by create_app."""
    return current_app.extensions["settings"]


def today():
    """Today in the portal's time zone (ASN_TIMEZONE)."""
    return security.clock.today(current_app.config["TIMEZONE"])


def localtime(moment, format="%d-%m-%Y %H:%M %Z") -> str:
    """The template filter for every time on a page or in a mail: stored UTC shown in
    ASN_TIMEZONE, with its abbreviation (WIB, WITA, WIT) where the format asks for it."""
    return security.local(moment, current_app.config["TIMEZONE"]).strftime(format) if moment else "—"


# --------------------------------------------------------------------------- pages of rows

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

    @property
    def offset(self) -> int:
        """How many rows come before this page."""
        return (self.page - 1) * self.per_page


def pager(count, per_page: int) -> Pager:
    """The page the `page` query argument asks for, clamped to the rows there are;
    `count(cap)` counts the matching rows, at most `cap`."""
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    counted = count(COUNT_CAP + 1)
    shown = Pager(page, per_page, min(counted, COUNT_CAP), counted > COUNT_CAP)
    shown.page = min(page, shown.pages)
    return shown


def paginate(query, per_page: int):
    """One page of `query` and its Pager."""
    shown = pager(lambda cap: query.select(query.model.id).order_by().limit(cap).count(), per_page)
    return query.paginate(shown.page, per_page), shown


def pdf_download(document):
    """A stored PDF as a download that no cache keeps."""
    return send_file(io.BytesIO(document.content), mimetype="application/pdf", as_attachment=True,
                     download_name=document.filename, max_age=0)


def client():
    return {"ip": request.remote_addr or "", "user_agent": request.user_agent.string or ""}


def audit(event: str, *, account=None, nip="", detail="", actor=None):
    """`actor`: the helpdesk or admin account acting on someone else's behalf."""
    if account is not None and not nip:
        nip = account.employee.nip
    models.AuditEvent.record(event, nip=nip, account=account, detail=detail,
                             actor_nip=actor.employee.nip if actor else None, **client())


# --------------------------------------------------------------------------- codes sent to the contact on record

CODE_TRIES = 5
CODE_ERRORS = {
    "malformed": "Kode verifikasi terdiri dari 6 digit angka.",
    "expired": f"Kode sudah kedaluwarsa (berlaku {mail.CODE_MINUTES} menit). Tekan Kirim ulang kode untuk kode baru.",
    "used": "Kode ini sudah tidak berlaku. Tekan Kirim ulang kode untuk kode baru.",
    "exhausted": "Kode salah terlalu banyak. Tekan Kirim ulang kode untuk kode baru.",
    "capped": f"Sudah {mail.CODES_PER_HOUR} kode dikirim dalam satu jam terakhir. Pakai kode terakhir, atau coba "
              "lagi nanti.",
}


def check_code(token) -> tuple[str, str | None]:
    """The code typed in `code` against `token` (the newest one sent): the result of
    Token.check_code and, unless "ok", what to tell the person."""
    result = token.check_code(request.form.get("code", "")[:32], CODE_TRIES) if token else "used"
    if result == "wrong":
        left = CODE_TRIES - token.attempts
        return result, f"Kode salah. Sisa percobaan: {left}." if left > 0 else CODE_ERRORS["exhausted"]
    return result, CODE_ERRORS.get(result)
