"""Outgoing messages. E-mail goes out by SMTP when ASN_MAIL_URL is set
(smtp://user:pass@host:587?starttls=1, or smtps://…:465); without it, messages stay in
the outbox table. SMS always passes through the outbox; a pilot with a gateway plugs a
sender in with ASN_SMS_SENDER="module:function" (called with recipient and text).

Sending happens in a short background thread per message, so a slow mail server never
slows a page (nor tells, by its delay, whether a NIP and e-mail matched). Failures are
logged and retried with back-off by `flask --app app send-mail` or the server's retry loop.
"""

import html
import importlib
import json
import logging
import re
import smtplib
import ssl
import threading
import urllib.parse
import urllib.request
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlparse

from flask import current_app, render_template, request

import models
import oidc
import security

log = logging.getLogger(__name__)


RESET_MINUTES = 30


def link(path: str) -> str:
    """An absolute link for a message, on the configured address (ASN_BASE_URL) and never
    on the request's Host header, which a stranger could set."""
    base = current_app.config["BASE_URL"] or request.url_root
    return base.rstrip("/") + path


def send_reset_link(employee):
    """A new password-reset link (earlier ones stop working), valid RESET_MINUTES, by mail."""
    secret = security.new_link_secret()
    models.Token.issue(employee, "reset", secret, RESET_MINUTES)
    send_email(employee.email, "Buat kata sandi baru Portal ASN Digital", "reset", nip=employee.nip,
               nama=employee.nama, link=link(f"/reset/{secret}"), minutes=RESET_MINUTES)


def notify_owner(employee, subject: str, what: str) -> None:
    """Tell the contact on record about something done to the account (e-mail, else SMS),
    so that a stranger's doing does not go unnoticed."""
    helpdesk = current_app.config["HELPDESK_CONTACT"]
    if employee.email:
        send_email(employee.email, subject, "owner_notice", nip=employee.nip, nama=employee.nama, what=what,
                   when=security.now(), helpdesk=helpdesk)
    elif employee.telepon:
        send_sms(employee.telepon, f"Portal ASN Digital: {what} Bukan Anda? Segera hubungi {helpdesk}.",
                 nip=employee.nip)


CODE_MINUTES = 10
CODES_PER_HOUR = 5  # codes (and reset links) sent to one employee, whoever asks


def may_send(employee, purpose: str) -> bool:
    """Under the hourly cap for `purpose`: a stranger can't flood the owner's mailbox or
    phone, whoever they are and from wherever they ask."""
    since = security.now() - timedelta(hours=1)
    return models.Token.sent_since(employee, purpose, since) < CODES_PER_HOUR


def send_code(employee, purpose: str, subject: str, template: str, sms_text: str) -> bool:
    """A new 6-digit code (earlier ones stop working) to the e-mail and phone on record,
    never to an address someone typed; False, and nothing sent, at the hourly cap."""
    if not may_send(employee, purpose):
        return False
    code = security.verification_code()
    models.Token.issue(employee, purpose, code, CODE_MINUTES)
    send_email(employee.email, subject, template, nip=employee.nip, nama=employee.nama, code=code,
               minutes=CODE_MINUTES, helpdesk=current_app.config["HELPDESK_CONTACT"])
    send_sms(employee.telepon, sms_text.format(code=code, minutes=CODE_MINUTES), nip=employee.nip)
    return True


def send_activation_link(employee, minutes: int):
    """An activation link (earlier ones stop working) to the e-mail on record; the page
    behind it asks for a confirming press, so a mail scanner opening it spends nothing."""
    secret = security.new_link_secret()
    models.Token.issue(employee, "activate", secret, minutes)
    send_email(employee.email, "Aktivasi akun Portal ASN Digital", "activation", nip=employee.nip,
               nama=employee.nama, link=link(f"/aktivasi/{secret}"), hours=minutes // 60)


def request_moved(item, step) -> None:
    """The employee hears of every step of a service request (the dashboard shows it too)."""
    employee = item.employee
    title = item.step_title(step)
    send_email(employee.email, title, "request_moved", nip=employee.nip, nama=employee.nama, title=title,
               status=step.label, note=step.note, when=step.created_at, link=link(item.employee_link))


def request_digest(employee, items, today) -> None:
    """The weekly reminder of the employee's requests still waiting, on one side or the other."""
    send_email(employee.email, f"{len(items)} pengajuan layanan Anda masih berjalan", "request_digest",
               nip=employee.nip, nama=employee.nama, items=items, today=today, link=link("/layanan"))


def send_email(recipient: str, subject: str, template: str, *, nip="", **context):
    """Render templates/mail/<template>.txt and queue it; the HTML part is derived from it.
    Nothing is queued for an employee without an address."""
    if not recipient:
        return None
    body = render_template(f"mail/{template}.txt", nip=nip, **context).strip() + "\n"
    message = models.Message.create(
        channel="email", recipient=recipient, subject=subject, body=body, html=text_to_html(body),
        nip=nip, status="pending" if current_app.config["MAIL_URL"] else "outbox")
    _dispatch(message)
    return message


def send_sms(recipient: str, text: str, *, nip=""):
    if not recipient:
        return None
    has_gateway = bool(current_app.config.get("SMS_SENDER"))
    message = models.Message.create(channel="sms", recipient=recipient, body=text, nip=nip,
                                    status="pending" if has_gateway else "outbox")
    _dispatch(message)
    return message


def _dispatch(message):
    if message.status != "pending":
        return
    app = current_app._get_current_object()
    if app.config.get("MAIL_SYNC"):  # for the command line and scripts
        deliver(app, message.id)
    else:
        threading.Thread(target=deliver, args=(app, message.id), daemon=True).start()


def deliver(app, message_id: int) -> bool:
    with app.app_context(), models.db.connection_context():
        message = models.Message.get_or_none(models.Message.id == message_id)
        if message is None or not message.claim():
            return False
        if message.status == "sending":
            log.warning("message %s was left sending (a process stopped mid-send); sending again", message.id)
        try:
            if message.channel == "sms":
                _sms_sender(app.config["SMS_SENDER"])(message.recipient, message.body)
            elif message.channel == "backchannel":
                post_logout_token(message.recipient, oidc.logout_token(app, json.loads(message.body)))
            else:
                smtp_send(app.config["MAIL_URL"], app.config["MAIL_FROM"], message)
        except Exception as exc:  # noqa: BLE001 - any failure is retried, never shown to the user
            log.warning("message %s to %s not sent (attempt %s): %s", message.id,
                        message.channel, message.attempts + 1, exc)
            message.mark_failed(f"{type(exc).__name__}: {exc}")
            return False
        message.mark_sent()
        return True


def post_logout_token(uri: str, logout_token: str) -> None:
    """OpenID Connect Back-Channel Logout 1.0: the app answers 200 (or 204) when it has
    ended its session; anything else is retried."""
    data = urllib.parse.urlencode({"logout_token": logout_token}).encode()
    # The address an admin registered for the app (http or https only, see OidcClient.uri_problems).
    call = urllib.request.Request(uri, data=data,  # noqa: S310
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(call, timeout=10) as answer:  # noqa: S310
        if answer.status not in (200, 204):
            raise OSError(f"HTTP {answer.status}")


def send_logout_notices(app) -> None:
    """Deliver at once the back-channel logouts a request queued (ending sessions is
    always a POST, or the end-session endpoint); a failure waits for the retries."""
    if models.Message.has_due_logouts():
        threading.Thread(target=deliver_due, args=(app, "backchannel"), daemon=True).start()


def deliver_due(app, channel=None) -> int:
    """Send every pending message whose retry time has come; returns how many went out."""
    with app.app_context(), models.db.connection_context():
        query = models.Message.due()
        ids = [m.id for m in (query.where(models.Message.channel == channel) if channel else query)]
    return sum(deliver(app, message_id) for message_id in ids)


def smtp_send(url: str, sender: str, message) -> None:
    parsed = urlparse(url)
    options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    secure = parsed.scheme == "smtps"
    port = parsed.port or (465 if secure else 587 if options.get("starttls") == "1" else 25)
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or "localhost")
    email.set_content(message.body)
    email.add_alternative(message.html or text_to_html(message.body), subtype="html")
    smtp_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
    kwargs = {"context": ssl.create_default_context()} if secure else {}
    with smtp_class(parsed.hostname, port, timeout=15, **kwargs) as smtp:
        if options.get("starttls") == "1":
            smtp.starttls(context=ssl.create_default_context())
        if parsed.username:
            smtp.login(unquote(parsed.username), unquote(parsed.password or ""))
        smtp.send_message(email)


def _sms_sender(spec: str):
    module, _, function = spec.partition(":")
    return getattr(importlib.import_module(module), function)


def text_to_html(text: str) -> str:
    """A light HTML part: paragraphs and clickable links, nothing remote."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        escaped = html.escape(block).replace("\n", "<br>")
        paragraphs.append("<p>" + re.sub(r"(https?://[^\s<]+)", r'<a href="\1">\1</a>', escaped) + "</p>")
    return ('<!doctype html><html lang="id"><body style="font-family:sans-serif;line-height:1.5">'
            + "".join(paragraphs) + "</body></html>")
