"""The words of docs/glossary.md in every mail: no English leftovers, every time in the
portal's time zone. (Every page is checked the same way in real Chromium, by
tests/browser/test_narrow_screens.py.)"""

import re
from pathlib import Path

import pytest

from tests.helpers import UTC_TIME, banned_words, first_login

ROOT = Path(__file__).parents[1]
MAIL_TEMPLATES = sorted((ROOT / "templates" / "mail").glob("*.txt"))
SENDING_CODE = [ROOT / "mail.py", *sorted((ROOT / "views").glob("*.py"))]


def visible_text(template: str) -> str:
    """A template without its Jinja tags, expressions and comments."""
    return re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", template, flags=re.S)


@pytest.mark.parametrize("path", MAIL_TEMPLATES, ids=lambda p: p.name)
def test_mail_template_speaks_plain_indonesian(path):
    text = path.read_text(encoding="utf-8")
    assert not banned_words(visible_text(text)), banned_words(visible_text(text))
    # A moment shown in a mail goes through the localtime filter (ASN_TIMEZONE, with WIB/WITA/WIT).
    for expression in re.findall(r"\{\{(.*?)\}\}", text):
        if re.search(r"\b(when|\w+_at|until)\b", expression):
            assert "|localtime" in expression.replace(" ", ""), f"{path.name}: {{{{{expression}}}}}"


def test_mail_subjects_and_sms_speak_plain_indonesian():
    """The subjects and SMS texts written in the code (string literals next to send_email,
    send_sms, send_code and notify_owner)."""
    found = []
    for path in SENDING_CODE:
        source = path.read_text(encoding="utf-8")
        for call in re.finditer(r"(send_email|send_sms|send_code|notify_owner)\((.*?)\)\n", source, flags=re.S):
            for literal in re.findall(r'f?"([^"]*)"', call.group(2)):
                if " " not in literal:  # a template name or a path, not words
                    continue
                found += [(path.name, word) for word in banned_words(literal)]
    assert not found


def test_sent_mails_show_local_times(client, employee, clock):
    """The mails of a first sign-in, as stored in the outbox."""
    import models

    first_login(client)
    with models.db.connection_context():
        messages = list(models.Message.select())
    assert len(messages) >= 3
    for message in messages:
        assert not UTC_TIME.search(message.body), message.body
        assert not banned_words(f"{message.subject} {message.body}"), (message.subject, banned_words(message.body))
