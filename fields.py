"""The rules for the fields people type, each written once with its message in Bahasa
Indonesia: the importer, the console and every form use these. Each function returns the
cleaned value or raises FieldError with the message to show next to the field."""

import re
from datetime import date

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^(\+62|62|0)8[0-9]{7,12}$")
EMAIL_MAX = 254
DEVICE_NAME_MAX = 40


class FieldError(ValueError):
    """The message is for the person who typed the value."""


def squashed(text, limit: int) -> str:
    """Runs of white space (new lines and tabs included) become one space, ends trimmed,
    at most `limit` characters."""
    return " ".join((text or "").split())[:limit]


def email(text, *, required: bool = True) -> str:
    value = (text or "").strip().lower()[:EMAIL_MAX + 1]
    if not value and not required:
        return ""
    if len(value) > EMAIL_MAX or not EMAIL_RE.match(value):
        raise FieldError("Alamat email tidak valid, contoh: nama@instansi.go.id.")
    return value


def phone(text, *, required: bool = True) -> str:
    """Indonesian mobile numbers, typed with spaces or dashes as people do."""
    value = re.sub(r"[\s\-]", "", text or "")[:21]
    if not value and not required:
        return ""
    if not PHONE_RE.match(value):
        raise FieldError("Nomor ponsel tidak valid, contoh: 081234567890.")
    return value


def device_name(text) -> str:
    """Optional: empty means the portal picks a name."""
    value = squashed(text, 100)
    if len(value) > DEVICE_NAME_MAX:
        raise FieldError(f"Nama perangkat paling banyak {DEVICE_NAME_MAX} karakter.")
    return value


def iso_date(text, label: str, *, required: bool) -> date | None:
    value = (text or "").strip()
    if not value:
        if required:
            raise FieldError(f"{label} wajib diisi (format TTTT-BB-HH)")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldError(f"{label} '{value[:20]}' bukan tanggal dengan format TTTT-BB-HH") from None


def check(errors: dict, name: str, rule, *args, **kwargs):
    """Apply `rule`; on a FieldError record its message under `name` and return None."""
    try:
        return rule(*args, **kwargs)
    except FieldError as exc:
        errors[name] = str(exc)
        return None
