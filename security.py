"""Small, pure helpers that are not models: the clock, NIP/NIK parsing, the password
policy, password hashing, TOTP with replay protection, and secret encryption."""

import base64
import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from werkzeug.urls import iri_to_uri

# --------------------------------------------------------------------------- clock


class Clock:
    """The one source of "now" (naive UTC). Tests freeze and advance it; nothing else
    in the code base reads the system time."""

    def __init__(self):
        self.frozen_at = None

    def now(self) -> datetime:
        if self.frozen_at is not None:
            return self.frozen_at
        return datetime.now(UTC).replace(tzinfo=None)

    def today(self, zone: str) -> date:
        """The date in the portal's time zone (ASN_TIMEZONE): masa kerja, leave years."""
        return local(self.now(), zone).date()

    def freeze(self, at: datetime) -> None:
        self.frozen_at = at

    def advance(self, **delta) -> None:
        self.frozen_at = self.now() + timedelta(**delta)

    def unfreeze(self) -> None:
        self.frozen_at = None


clock = Clock()


def now() -> datetime:
    return clock.now()


def local(moment: datetime, zone: str) -> datetime:
    """A stored moment (naive UTC) in `zone`, aware, so "%Z" gives WIB, WITA or WIT."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))


def utc_from_local(moment: datetime, zone: str) -> datetime:
    """A wall-clock time in `zone` (a date filter typed by an operator) as stored: naive UTC."""
    return moment.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC).replace(tzinfo=None)


# --------------------------------------------------------------------------- NIP / NIK

NIP_LENGTH_HINT = "NIP terdiri dari 18 digit angka, contoh: 199001012020011001."


@dataclass(frozen=True)
class Nip:
    value: str
    jenis_asn: str  # "PNS" or "PPPK"
    birth_date: date


class NipError(ValueError):
    """The message is a precise hint for the person who typed the NIP."""


def normalize_nip(raw: str) -> str:
    """People type NIPs as "19900101 202001 1 001" or with dots and dashes."""
    return re.sub(r"[\s.\-]", "", raw or "")


def _parse_yyyymmdd(text: str):
    """A date written as 8 digits (YYYYMMDD), or None; without strptime, which was the
    slowest step of importing a million employees."""
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def parse_nip(raw: str) -> Nip:
    """Normalise and check the structure of a PNS or PPPK NIP.

    PNS:  YYYYMMDD (lahir) + YYYYMM (TMT CPNS) + gender (1/2) + 3-digit sequence.
    PPPK: YYYYMMDD (lahir) + YYYY (tahun) + "21" + gender (1/2) + 3-digit sequence.
    """
    nip = normalize_nip(raw)
    if not nip:
        raise NipError("NIP wajib diisi. " + NIP_LENGTH_HINT)
    if not nip.isascii() or not nip.isdigit():
        raise NipError("NIP hanya berisi angka. " + NIP_LENGTH_HINT)
    if len(nip) != 18:
        raise NipError(f"NIP yang Anda ketik {len(nip)} digit. " + NIP_LENGTH_HINT)
    birth = _parse_yyyymmdd(nip[:8])
    if birth is None or birth.year < 1940:
        raise NipError(
            "8 digit pertama NIP adalah tanggal lahir (tahun, bulan, tanggal), "
            f"tetapi {nip[:8]} bukan tanggal yang benar. Periksa kembali NIP Anda."
        )
    year = int(nip[8:12])
    if nip[12:14] == "21":
        jenis = "PPPK"
    elif 1 <= int(nip[12:14]) <= 12:
        jenis = "PNS"
    else:
        raise NipError(
            "Digit ke-9 sampai ke-14 NIP adalah tahun dan bulan pengangkatan "
            f"(PNS) atau tahun diikuti 21 (PPPK), tetapi {nip[8:14]} tidak sesuai."
        )
    if not birth.year + 15 <= year <= 2100:
        raise NipError(
            f"Tahun pengangkatan pada NIP ({year}) tidak masuk akal untuk tanggal "
            "lahir pada NIP. Periksa kembali NIP Anda."
        )
    if nip[14] not in "12":
        raise NipError("Digit ke-15 NIP (jenis kelamin) harus 1 atau 2.")
    if nip[15:] == "000":
        raise NipError("Tiga digit terakhir NIP (nomor urut) tidak boleh 000.")
    return Nip(nip, jenis, birth)


def normalize_name(name: str) -> str:
    """A name as it is searched: lower case, no accents or punctuation, single spaces
    ("Drs. Hartono  Wibowo" -> "drs hartono wibowo")."""
    plain = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def after_prefix(prefix: str) -> str | None:
    """The smallest normalised name after every name starting with `prefix` ("budi" ->
    "budj", "abz" -> "ac"); None when there is none. Only letters and digits are changed,
    which sort alike in every collation, so the range also holds on PostgreSQL."""
    kept = prefix
    while kept:
        last = kept[-1]
        if last.isalnum() and last not in "z9":
            return kept[:-1] + chr(ord(last) + 1)
        kept = kept[:-1]
    return None


def is_valid_nik(nik: str) -> bool:
    return len(nik) == 16 and nik.isascii() and nik.isdigit() and nik[:2] != "00"


# --------------------------------------------------------------------------- passwords

PASSWORD_MIN_LENGTH = 8
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e",
                       "$": "s", "5": "s", "7": "t", "+": "t"})


@cache
def common_passwords() -> frozenset:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


def is_common_password(password: str) -> bool:
    """True for a listed password and for the usual disguises of one:
    "Password1!", "P@ssw0rd", "Dragon2024#"."""
    words = common_passwords()
    lowered = password.lower()
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", lowered)
    candidates = {lowered, core, lowered.translate(_LEET), core.translate(_LEET)}
    candidates.add(re.sub(r"[\W\d_]+$", "", lowered.translate(_LEET)))
    return any(len(c) >= 4 and c in words for c in candidates)


PASSWORD_MISMATCH = "Konfirmasi kata sandi tidak sama."


def password_problems(password, confirm=None, *, nip="", contains_nik=None, birth_date=None):
    """`contains_nik(text)` tells whether the text holds the employee's NIK (only a keyed
    hash of it is stored)."""
    problems = []  # every unmet rule, in Bahasa Indonesia; none means the password is good
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"Minimal {PASSWORD_MIN_LENGTH} karakter.")
    if not re.search(r"[A-Z]", password):
        problems.append("Harus ada huruf besar (A–Z).")
    if not re.search(r"[a-z]", password):
        problems.append("Harus ada huruf kecil (a–z).")
    if not re.search(r"[0-9]", password):
        problems.append("Harus ada angka (0–9).")
    if not re.search(r"[^A-Za-z0-9]", password):
        problems.append("Harus ada simbol, misalnya ! @ # atau *.")
    if password and is_common_password(password):
        problems.append("Kata sandi ini terlalu umum dan mudah ditebak.")
    digits = re.sub(r"\D", "", password)
    if nip and (nip in digits or nip[:8] in digits):
        problems.append("Tidak boleh memuat NIP Anda.")
    if contains_nik and contains_nik(digits):
        problems.append("Tidak boleh memuat NIK Anda.")
    if birth_date and any(f in digits for f in _birth_date_forms(birth_date)):
        problems.append("Tidak boleh memuat tanggal lahir Anda.")
    if confirm is not None and confirm != password:
        problems.append(PASSWORD_MISMATCH)
    return problems


def _birth_date_forms(d: date):
    return {d.strftime("%Y%m%d"), d.strftime("%d%m%Y"), d.strftime("%d%m%y")}


# No 0/O, 1/I/L: the helpdesk reads it out over the phone or writes it on paper.
UNAMBIGUOUS_CHARS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_temporary_password() -> str:
    """12 random characters (about 59 bits) in groups of four: "K7QM-4XPD-9TRW"."""
    chars = "".join(secrets.choice(UNAMBIGUOUS_CHARS) for _ in range(12))
    return "-".join(chars[i:i + 4] for i in range(0, 12, 4))


# OWASP's argon2id parameters (time cost, memory KiB, parallelism): about 19 MiB a hash.
DEFAULT_ARGON2_COST = (2, 19456, 1)

# Hashes are computed by a few threads of their own, at most one per core, whatever the
# number of server threads: more at a time would only add memory and latency (the
# others wait their turn). Their own threads also keep the memory bounded: the C
# allocator keeps a freed argon2 block (19 MiB) in the arena of the thread that used it,
# so hashing in every server thread left 19 MiB behind in each.
# They run on every CPU the process was given, also when the server keeps its own threads
# on one (serving.keep_on_one_cpu): argon2 runs outside Python's lock, one hash per core.
HASHES_AT_ONCE = os.cpu_count() or 2
# The CPUs this process was given, read when it starts, before serving.keep_on_one_cpu
# narrows them (empty where the system can't tell or can't choose).
CPUS_GIVEN = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_setaffinity") else []


def _on_every_cpu():
    if CPUS_GIVEN:
        os.sched_setaffinity(0, CPUS_GIVEN)


_hashing = ThreadPoolExecutor(max_workers=HASHES_AT_ONCE, thread_name_prefix="argon2", initializer=_on_every_cpu)


@cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int = 1) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)  # argon2id


def hash_password(password: str, cost=DEFAULT_ARGON2_COST) -> str:
    return _hashing.submit(_hasher(*cost).hash, password).result()


def verify_password(stored_hash: str | None, password: str, cost=DEFAULT_ARGON2_COST) -> bool:
    """Always runs one argon2 verification, so that an unknown NIP or an account on
    its default password takes as long as a real check."""
    try:
        matched = _hashing.submit(_hasher(*cost).verify, stored_hash or _dummy_hash(cost), password).result()
    except (VerificationError, InvalidHashError):
        return False
    return matched and bool(stored_hash)


def needs_rehash(stored_hash: str, cost=DEFAULT_ARGON2_COST) -> bool:
    """True when the hash was made with other parameters than `cost` (an older default)."""
    try:
        return _hasher(*cost).check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@cache
def _dummy_hash(cost) -> str:
    """A well-formed hash with `cost`'s parameters that no password matches: verifying
    against it costs one real hash, and making it costs none."""
    time_cost, memory_cost, parallelism = (*cost, 1)[:3]
    salt, digest = (base64.b64encode(secrets.token_bytes(n)).decode().rstrip("=") for n in (16, 32))
    return f"$argon2id$v=19$m={memory_cost},t={time_cost},p={parallelism}${salt}${digest}"


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def hash_token(token: str) -> str:
    """Tokens (session ids, later reset links) are stored hashed; a database copy
    does not give working cookies."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(value: str, secret_key: str) -> str:
    """For short secrets (recovery codes): a stolen database alone can't brute-force them."""
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()


def mask_email(address: str) -> str:
    """b•••@bogorkota.go.id: enough for the owner to recognise, not to learn."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else ""


def mask_phone(number: str) -> str:
    """0812•••••890"""
    return number[:4] + "•" * max(len(number) - 7, 3) + number[-3:] if len(number) >= 8 else ""


def masked_nik(last4: str) -> str:
    return "•" * 12 + last4 if last4 else "—"


def new_link_secret() -> str:
    return secrets.token_urlsafe(32)


def verification_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


# --------------------------------------------------------------------------- TOTP

TOTP_PERIOD = 30


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def group_secret(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def totp_uri(secret: str, account_name: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=issuer)


def qr_svg(data: str) -> str:
    return segno.make(data, error="m").svg_inline(scale=4, border=4, dark="#000",
                                                  title="Kode QR autentikator")


def normalize_otp(raw: str) -> str:
    return re.sub(r"\s", "", raw or "")


def totp_match_step(secret: str, code: str, at: datetime, steps_back: int = 1):
    """The time step (counter) at which `code` is valid, looking at the current step
    and `steps_back` earlier ones; None when it matches none."""
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = int(at.replace(tzinfo=UTC).timestamp()) // TOTP_PERIOD
    for step in range(current, current - steps_back - 1, -1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def totp_skew_minutes(secret: str, code: str, at: datetime, window_minutes: int = 10,
                      steps_back: int = 1):
    """For the error message only, never to accept a code: how many minutes the phone's
    clock seems ahead (+) or behind (-), when `code` belongs to this secret at another
    time step within `window_minutes`; None when it does not. The steps that
    totp_match_step accepts are skipped, so a diagnosed code is always a wrong one."""
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = int(at.replace(tzinfo=UTC).timestamp()) // TOTP_PERIOD
    for distance in range(1, window_minutes * 60 // TOTP_PERIOD + 1):  # nearest first
        for delta in (distance, -distance):
            if -steps_back <= delta <= 0:
                continue
            if hmac.compare_digest(totp.generate_otp(current + delta), code):
                minutes = abs(delta) * TOTP_PERIOD / 60
                return int(minutes + 0.5) * (1 if delta > 0 else -1)  # half a minute counts as one
    return None


def clock_skew_message(minutes: int) -> str:
    direction = "lebih cepat" if minutes > 0 else "lebih lambat"
    return (f"Kode OTP tidak cocok dengan waktu sekarang: jam di ponsel Anda tampaknya sekitar "
            f"{abs(minutes)} menit {direction} dari waktu server. Nyalakan waktu otomatis di ponsel "
            "(Setelan › Tanggal & waktu › Tanggal & waktu otomatis), lalu masukkan kode yang "
            "baru tampil.")


# --------------------------------------------------------------------------- encryption at rest


def _fernet(secret_key: str) -> Fernet:
    key = hashlib.sha256(b"portal-asn/totp/" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plaintext: str, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str, secret_key: str) -> str:
    try:
        return _fernet(secret_key).decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("secret cannot be decrypted with this SECRET_KEY") from exc


def safe_next_url(target: str | None) -> str | None:
    """Only a path on this site: never //host, \\host or a scheme."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return iri_to_uri(target)  # headers (Location, HX-Redirect) must be plain ASCII
