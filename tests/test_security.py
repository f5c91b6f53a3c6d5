"""Pure rules: NIP parsing, the password policy, hashing, TOTP window and replay."""

import os
import threading
import time
from datetime import UTC, date, datetime

import pyotp
import pytest

import security

# --------------------------------------------------------------------------- NIP


@pytest.mark.parametrize("typed", [
    "199001012020011001",
    "19900101 202001 1 001",
    "19900101.202001.1.001",
    "19900101-202001-1-001",
    " 1990 0101 2020 0110 01 ",
])
def test_nip_normalised_before_checking(typed):
    assert security.parse_nip(typed).value == "199001012020011001"


def test_pns_nip_structure():
    nip = security.parse_nip("198507152010012002")
    assert nip.jenis_asn == "PNS"
    assert nip.birth_date == date(1985, 7, 15)


def test_pppk_nip_structure():
    nip = security.parse_nip("199505102023212004")
    assert nip.jenis_asn == "PPPK"
    assert nip.birth_date == date(1995, 5, 10)


@pytest.mark.parametrize("typed, hint", [
    ("", "wajib diisi"),
    ("19900101202001100", "17 digit"),
    ("1990010120200110011", "19 digit"),
    ("19900101202001100A", "hanya berisi angka"),
    ("１９９００１０１２０２００１１００１", "hanya berisi angka"),  # full-width digits
    ("199013012020011001", "tanggal lahir"),   # month 13
    ("199002302020011001", "tanggal lahir"),   # 30 February
    ("199001012020131001", "tahun dan bulan pengangkatan"),  # month 13, not PPPK
    ("199001012020001001", "tahun dan bulan pengangkatan"),  # month 00
    ("199001011995011001", "tidak masuk akal"),  # appointed at five
    ("199001012020013001", "jenis kelamin"),
    ("199001012020011000", "nomor urut"),
    ("199001012023213001", "jenis kelamin"),    # PPPK with gender 3
])
def test_malformed_nip_gets_precise_hint(typed, hint):
    with pytest.raises(security.NipError) as exc:
        security.parse_nip(typed)
    assert hint in str(exc.value)


def test_length_hint_names_eighteen_digits():
    with pytest.raises(security.NipError, match="NIP terdiri dari 18 digit angka"):
        security.parse_nip("12345")


@pytest.mark.parametrize("nik, ok", [
    ("3273010101900001", True), ("327301010190000", False), ("32730101019000011", False),
    ("3273O10101900001", False), ("0073010101900001", False)])
def test_nik(nik, ok):
    assert security.is_valid_nik(nik) is ok


# --------------------------------------------------------------------------- password policy

PERSONAL = dict(nip="199001012020011001", contains_nik=lambda digits: "3273010101900001" in digits,
                birth_date=date(1990, 1, 1))


def test_good_password_has_no_problems():
    assert security.password_problems("Kopi!Pagi2026", "Kopi!Pagi2026", **PERSONAL) == []


@pytest.mark.parametrize("password, problem", [
    ("Ab1!xyz", "Minimal 8 karakter"),
    ("kopi!pagi2026", "huruf besar"),
    ("KOPI!PAGI2026", "huruf kecil"),
    ("Kopi!PagiSore", "angka"),
    ("KopiPagi2026", "simbol"),
    ("Password1!", "terlalu umum"),
    ("P@ssw0rd", "terlalu umum"),
    ("Dragon2024#", "terlalu umum"),
    ("Bismillah1!", "terlalu umum"),
    ("Xx!199001012020011001", "NIP"),
    ("Nip!19900101x", "NIP"),
    ("Ktp!3273010101900001", "NIK"),
    ("Lahir!01011990", "tanggal lahir"),
    ("Lahir!010190x", "tanggal lahir"),
])
def test_each_rule(password, problem):
    problems = security.password_problems(password, password, **PERSONAL)
    assert any(problem in p for p in problems), problems


def test_confirmation_must_match():
    assert security.password_problems("Kopi!Pagi2026", "Kopi!Pagi2025") == [
        "Konfirmasi kata sandi tidak sama."]


def test_every_unmet_rule_is_listed():
    problems = security.password_problems("abc", "abd")
    assert len(problems) == 5  # length, upper, digit, symbol, confirmation


def test_blocklist_has_ten_thousand_common_passwords():
    words = security.common_passwords()
    assert len(words) >= 10_000
    assert {"123456", "password", "qwerty", "iloveyou", "bismillah"} <= words


def test_argon2id_hash_and_verify():
    hashed = security.hash_password("Kopi!Pagi2026", (1, 64))
    assert hashed.startswith("$argon2id$")
    assert security.verify_password(hashed, "Kopi!Pagi2026", (1, 64))
    assert not security.verify_password(hashed, "kopi!pagi2026", (1, 64))
    assert not security.verify_password(None, "anything", (1, 64))
    assert not security.verify_password("not-a-hash", "anything", (1, 64))


def test_default_cost_is_owasp_argon2id():
    hashed = security.hash_password("Kopi!Pagi2026")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_rehash_needed_only_for_other_parameters():
    current = security.hash_password("Kopi!Pagi2026", (1, 64, 1))
    assert not security.needs_rehash(current, (1, 64, 1))
    assert security.needs_rehash(current, (2, 64, 1))
    assert security.needs_rehash(security.hash_password("Kopi!Pagi2026", (1, 64, 2)), (1, 64, 1))
    assert security.needs_rehash("not-a-hash", (1, 64, 1))


def test_dummy_hash_has_the_configured_parameters_and_matches_nothing():
    dummy = security._dummy_hash((2, 128, 1))
    assert dummy.startswith("$argon2id$v=19$m=128,t=2,p=1$")
    assert not security.needs_rehash(dummy, (2, 128, 1))
    assert not security.verify_password(None, "", (2, 128, 1))


class CountingHasher:
    """Stands in for argon2's PasswordHasher: counts hashes, and how many run at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = self.most_at_once = self.calls = 0

    def _work(self):
        with self.lock:
            self.calls += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1

    def hash(self, password):
        self._work()
        return "$argon2id$fake"

    def verify(self, stored, password):
        self._work()
        return True


def test_hashes_at_once_are_bounded_by_the_core_count(monkeypatch):
    hasher = CountingHasher()
    monkeypatch.setattr(security, "_hasher", lambda *cost: hasher)
    threads = [threading.Thread(target=security.verify_password if i % 2 else security.hash_password,
                                args=("$argon2id$x", "pw") if i % 2 else ("pw",))
               for i in range(4 * security.HASHES_AT_ONCE + 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert hasher.calls == len(threads)
    assert hasher.most_at_once == security.HASHES_AT_ONCE == (os.cpu_count() or 2)


def test_unknown_account_costs_exactly_one_hash(monkeypatch):
    hasher = CountingHasher()
    monkeypatch.setattr(security, "_hasher", lambda *cost: hasher)
    security.verify_password(None, "Kopi!Pagi2026", (3, 4096, 1))  # a cost never used before
    assert hasher.calls == 1


# --------------------------------------------------------------------------- TOTP

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
AT = datetime(2026, 11, 23, 2, 0, 15)  # naive UTC, 15 s into a step


def _code(at, offset=0):
    return pyotp.TOTP(SECRET).at(at.replace(tzinfo=UTC).timestamp() + offset)


def test_current_step_accepted():
    step = security.totp_match_step(SECRET, _code(AT), AT)
    assert step == int(AT.replace(tzinfo=UTC).timestamp()) // 30


def test_one_step_back_accepted():
    assert security.totp_match_step(SECRET, _code(AT, -30), AT) is not None


@pytest.mark.parametrize("offset", [-60, 30, 90])
def test_other_steps_refused(offset):
    assert security.totp_match_step(SECRET, _code(AT, offset), AT) is None


@pytest.mark.parametrize("junk", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_malformed_codes_refused(junk):
    assert security.totp_match_step(SECRET, junk, AT) is None


def test_provisioning_uri_is_standard():
    uri = security.totp_uri(SECRET, "199001012020011001", "Portal ASN Digital")
    assert uri.startswith("otpauth://totp/Portal%20ASN%20Digital:199001012020011001?")
    parsed = pyotp.parse_uri(uri)
    assert parsed.secret == SECRET and parsed.digits == 6 and parsed.interval == 30
    assert parsed.issuer == "Portal ASN Digital"


def test_secret_grouped_for_typing():
    assert security.group_secret("ABCDEFGHIJKL") == "ABCD EFGH IJKL"


def test_qr_is_inline_svg():
    svg = security.qr_svg("otpauth://totp/x?secret=" + SECRET)
    assert svg.startswith("<svg") and "<title>" in svg


def test_secret_encryption_round_trip():
    token = security.encrypt(SECRET, "key-one")
    assert SECRET not in token
    assert security.decrypt(token, "key-one") == SECRET
    with pytest.raises(ValueError):
        security.decrypt(token, "key-two")


@pytest.mark.parametrize("target, safe", [
    ("/dashboard", "/dashboard"), ("//evil.example", None), ("/\\evil.example", None),
    ("https://evil.example/", None), ("dashboard", None), ("/a\\b", None), (None, None)])
def test_next_url_never_leaves_the_site(target, safe):
    assert security.safe_next_url(target) == safe


def test_clock_freeze_and_advance():
    clock = security.Clock()
    clock.freeze(datetime(2026, 1, 31, 20, 0))
    clock.advance(minutes=15)
    assert clock.now() == datetime(2026, 1, 31, 20, 15)
    assert clock.today("Asia/Jakarta") == date(2026, 2, 1)  # 03:15 WIB
    assert clock.today("Asia/Makassar") == date(2026, 2, 1) and clock.now().date() == date(2026, 1, 31)


# --------------------------------------------------------------------------- clock-skew diagnosis


@pytest.mark.parametrize("phone_offset, minutes", [
    (180, 3), (-300, -5), (60, 1), (-60, -1), (30, 1), (600, 10), (-600, -10), (-210, -4)])
def test_skew_diagnosed_for_codes_from_other_times(phone_offset, minutes):
    code = _code(AT, phone_offset)
    assert security.totp_skew_minutes(SECRET, code, AT) == minutes
    assert security.totp_match_step(SECRET, code, AT) is None  # diagnosed, never accepted


@pytest.mark.parametrize("phone_offset", [0, -30])
def test_accepted_steps_are_not_diagnosed(phone_offset):
    code = _code(AT, phone_offset)
    assert security.totp_match_step(SECRET, code, AT) is not None
    assert security.totp_skew_minutes(SECRET, code, AT) is None


@pytest.mark.parametrize("phone_offset", [630, -630, 3600])
def test_no_skew_beyond_the_window(phone_offset):
    assert security.totp_skew_minutes(SECRET, _code(AT, phone_offset), AT) is None


def test_no_skew_for_a_code_of_another_secret_or_junk():
    other = pyotp.TOTP("KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU").at(AT.replace(tzinfo=UTC).timestamp() + 180)
    assert other not in {_code(AT, s * 30) for s in range(-20, 21)}  # no chance collision
    assert security.totp_skew_minutes(SECRET, other, AT) is None
    for junk in ("", "12345", "abcdef", "１２３４５６"):
        assert security.totp_skew_minutes(SECRET, junk, AT) is None


def test_skew_window_is_configurable():
    assert security.totp_skew_minutes(SECRET, _code(AT, 300), AT, window_minutes=4) is None
    assert security.totp_skew_minutes(SECRET, _code(AT, 300), AT, window_minutes=5) == 5


@pytest.mark.parametrize("minutes, words", [(3, "3 menit lebih cepat"), (-5, "5 menit lebih lambat")])
def test_skew_message(minutes, words):
    message = security.clock_skew_message(minutes)
    assert words in message and "otomatis" in message
