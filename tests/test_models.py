"""Domain rules on the models: CSV import, masa kerja, lockout, TOTP replay."""

import io
from datetime import UTC, date, timedelta

import pyotp
import pytest

import models
import security
from settings import Settings
from tests.helpers import HEADER, NIP, ROW_AYU, ROW_BUDI, csv_bytes, make_employee

# The settings the model methods take: the defaults (5 tries, 15 minutes) and a test key.
KEY = Settings("k")


def test_import_creates_employees(db):
    report = models.import_employees(csv_bytes(ROW_BUDI, ROW_AYU))
    assert (report.created, report.updated, report.errors) == (2, 0, [])
    budi = models.Employee.by_nip("199001012020011001")
    assert budi.nama == "Budi Santoso" and budi.telepon == "081234567890"
    assert budi.tmt_cpns == date(2020, 1, 1)
    assert models.Employee.by_nip("199505102023212004").tmt_pangkat is None


def test_reimport_updates_by_nip(db):
    models.import_employees(csv_bytes(ROW_BUDI))
    report = models.import_employees(csv_bytes(ROW_BUDI.replace("Penata Muda,III/a", "Penata,III/c")))
    assert (report.created, report.updated) == (0, 1)
    assert models.Employee.select().count() == 1
    assert models.Employee.by_nip("199001012020011001").golongan == "III/c"


class Pipe(io.RawIOBase):
    """A stream read once, front to back, like standard input."""

    def __init__(self, data: bytes):
        self.source = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = self.source.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)


def test_import_reads_a_stream_that_cannot_rewind(db):
    report = models.import_employees(io.BufferedReader(Pipe(csv_bytes(ROW_BUDI, ROW_AYU))))
    assert (report.created, report.rejected) == (2, 0)
    assert models.Employee.by_nip("199001012020011001").nama_cari == "budi santoso"


def test_only_the_first_errors_are_kept_all_are_counted(db, monkeypatch):
    monkeypatch.setattr(models.importer, "ERRORS_KEPT", 3)
    report = models.import_employees(csv_bytes(*[ROW_AYU.replace("5171015005950004", "123")] * 5, ROW_BUDI))
    assert (report.created, report.rejected) == (1, 5)
    assert [line for line, _ in report.errors] == [2, 3, 4]


def test_bad_rows_reported_with_line_and_reason_good_rows_kept(db):
    report = models.import_employees(csv_bytes(
        ROW_BUDI,
        ROW_AYU.replace("199505102023212004", "19950510202321200"),     # line 3: 17 digits
        ROW_AYU.replace("5171015005950004", "51710150059500"),          # line 4: short NIK
        ROW_AYU.replace(",PPPK,", ",PNS,"),                             # line 5: jenis vs NIP
        ROW_AYU.replace("2023-03-01", "01/03/2023"),                    # line 6: date format
        ROW_AYU.replace(",aktif,", ",cuti panjang,"),                   # line 7: status
        ROW_BUDI.replace("Budi Santoso", "Budi Lain"),                  # line 8: duplicate NIP
    ))
    assert report.created == 1
    lines = dict(report.errors)
    assert set(lines) == {3, 4, 5, 6, 7, 8}
    assert "18 digit" in lines[3]
    assert "NIK" in lines[4]
    assert "tidak cocok dengan NIP" in lines[5]
    assert "TTTT-BB-HH" in lines[6]
    assert "status" in lines[7]
    assert "baris 2" in lines[8]
    assert models.Employee.by_nip("199001012020011001").nama == "Budi Santoso"


@pytest.mark.parametrize("data, reason", [
    (b"", "kosong"),
    (b"nip,nama\n1,2\n", "header tidak lengkap"),
    ("nip,nik\nSitì\n".encode("latin-1"), "UTF-8"),
])
def test_unusable_file_changes_nothing(db, data, reason):
    report = models.import_employees(data)
    assert report.imported == 0 and reason in report.errors[0][1]
    assert models.Employee.select().count() == 0


def test_header_with_bom_and_capitals_accepted(db):
    report = models.import_employees(b"\xef\xbb\xbf" + csv_bytes(ROW_BUDI, header=HEADER.upper()))
    assert report.created == 1 and not report.errors


@pytest.mark.parametrize("tmt, today, expected", [
    (date(2020, 1, 1), date(2026, 11, 23), (6, 10)),
    (date(2020, 1, 31), date(2020, 2, 29), (0, 1)),   # month end in a leap year
    (date(2020, 1, 31), date(2020, 2, 28), (0, 0)),   # not yet the month end
    (date(2019, 3, 31), date(2019, 4, 30), (0, 1)),
    (date(2020, 2, 29), date(2021, 2, 28), (1, 0)),   # leap-day TMT
    (date(2020, 3, 15), date(2021, 3, 14), (0, 11)),
    (date(2020, 3, 15), date(2020, 3, 15), (0, 0)),
])
def test_masa_kerja(tmt, today, expected):
    assert models.Employee(tmt_cpns=tmt).masa_kerja(today) == expected


def test_masa_kerja_without_or_future_tmt():
    assert models.Employee(tmt_cpns=None).masa_kerja(date(2026, 1, 1)) is None
    assert models.Employee(tmt_cpns=date(2027, 1, 1)).masa_kerja(date(2026, 1, 1)) is None


def fail(counter) -> bool:
    """One wrong password: the check is taken, then failed. True when it locked."""
    assert counter.take_attempt(KEY)
    return counter.fail_attempt(KEY)


def test_lockout_after_five_failures_and_expiry(db, clock):
    account = models.Account.for_employee(make_employee())
    assert [fail(account) for _ in range(5)] == [False] * 4 + [True]
    assert account.lock_minutes_left() == 15
    assert not account.take_attempt(KEY)  # nothing is checked while locked
    clock.advance(minutes=14, seconds=1)
    assert account.lock_minutes_left() == 1
    clock.advance(minutes=1)
    assert account.lock_minutes_left() == 0
    # The state is in the database, not in this object.
    assert models.Account.get_by_id(account.id).failed_count == 0


def test_each_lock_lasts_twice_as_long_up_to_a_day(db, clock):
    account = models.Account.for_employee(make_employee())
    periods = []
    for _ in range(9):
        while not fail(account):
            pass
        periods.append(account.lock_minutes_left())
        clock.advance(minutes=periods[-1])
    assert periods == [15, 30, 60, 120, 240, 480, 960, 1440, 1440]
    account.register_success()  # a completed sign-in starts again from 15 minutes
    while not fail(account):
        pass
    assert account.lock_minutes_left() == 15


def test_passed_check_is_no_failure_and_clears_nothing(db):
    account = models.Account.for_employee(make_employee())
    for _ in range(3):
        fail(account)
    assert account.take_attempt(KEY)
    account.give_back_attempt()
    assert models.Account.get_by_id(account.id).failed_count == 3


def test_success_resets_counter(db):
    account = models.Account.for_employee(make_employee())
    for _ in range(4):
        fail(account)
    account.register_success()
    assert not fail(account)
    assert models.Account.get_by_id(account.id).failed_count == 1


def test_pending_authenticator_keeps_its_secret(db):
    account = models.Account.for_employee(make_employee())
    first = models.Authenticator.pending_for(account, KEY)
    again = models.Authenticator.pending_for(account, KEY)
    assert first.id == again.id and first.secret(KEY) == again.secret(KEY)
    assert first.secret(KEY) not in first.secret_encrypted


def test_code_used_once(db, clock):
    account = models.Account.for_employee(make_employee())
    authenticator = models.Authenticator.pending_for(account, KEY)
    code = pyotp.TOTP(authenticator.secret(KEY)).at(clock.now().replace(tzinfo=UTC))
    assert authenticator.use_code(code, KEY) == "ok"
    assert authenticator.use_code(code, KEY) == "replayed"
    clock.advance(seconds=30)  # still inside the one-step-back window, still refused
    assert authenticator.use_code(code, KEY) == "replayed"
    assert authenticator.use_code("000000" if code != "000000" else "111111", KEY) == "wrong"


def test_session_record_idle_and_lifetime(db, clock):
    account = models.Account.for_employee(make_employee())
    record = models.SessionRecord.start(account, "127.0.0.1", "test")
    idle, life = timedelta(minutes=30), timedelta(hours=8)
    assert models.SessionRecord.resume(record.token, idle, life)[0].id == record.id
    assert record.token_hash != record.token
    clock.advance(minutes=31)
    assert models.SessionRecord.resume(record.token, idle, life) == (None, "idle")
    assert not models.SessionRecord.select().exists()
    assert models.SessionRecord.resume(record.token, idle, life) == (None, None)


def test_session_record_absolute_lifetime(db, clock):
    account = models.Account.for_employee(make_employee())
    record = models.SessionRecord.start(account, "127.0.0.1", "test")
    idle, life = timedelta(minutes=30), timedelta(hours=8)
    for _ in range(19):  # active all day, never idle: 7 h 55 min
        clock.advance(minutes=25)
        assert models.SessionRecord.resume(record.token, idle, life)[0] is not None
    clock.advance(minutes=25)  # 8 h 20 min after sign-in
    assert models.SessionRecord.resume(record.token, idle, life) == (None, "lifetime")


def test_audit_event_by_nip(db):
    models.AuditEvent.record("login.failed", nip=NIP, detail="kata sandi salah")
    assert [e.event for e in models.AuditEvent.for_nip(NIP)] == ["login.failed"]


def test_optional_contract_end_column(db):
    with_column = (HEADER + ",akhir_kontrak\n" + ROW_AYU + ",2028-02-29\n").encode()
    assert models.import_employees(with_column).created == 1
    assert models.Employee.by_nip("199505102023212004").akhir_kontrak == date(2028, 2, 29)
    # A later file without the column leaves the contract end as it is.
    assert models.import_employees(csv_bytes(ROW_AYU.replace("Ayu Lestari", "Ayu L."))).updated == 1
    ayu = models.Employee.by_nip("199505102023212004")
    assert ayu.nama == "Ayu L." and ayu.akhir_kontrak == date(2028, 2, 29)
    bad = (HEADER + ",akhir_kontrak\n" + ROW_AYU + ",29-02-2028\n").encode()
    assert "akhir_kontrak" in models.import_employees(bad).errors[0][1]


def test_second_factor_outcomes(db, clock):
    account = models.Account.for_employee(make_employee())
    secret = security.new_totp_secret()
    models.Authenticator.create(account=account, name="Ponsel", confirmed_at=clock.now(),
                                secret_encrypted=security.encrypt(secret, KEY.secret_key))
    codes = models.RecoveryCode.generate(account, KEY)
    at = clock.now().replace(tzinfo=UTC).timestamp()
    right = pyotp.TOTP(secret).at(at)
    assert account.check_second_factor(right, KEY) == models.SecondFactor("otp", "ok")
    assert account.check_second_factor(right, KEY) == models.SecondFactor("otp", "replayed")
    skewed = account.check_second_factor(pyotp.TOTP(secret).at(at + 300), KEY)
    assert (skewed.kind, skewed.result, skewed.skew) == ("otp", "wrong", 5)
    assert account.check_second_factor(codes[0], KEY) == models.SecondFactor("recovery_code", "ok")
    assert account.check_second_factor(codes[0], KEY).result == "wrong"  # once only
    assert account.check_second_factor("12", KEY).kind == "malformed"


def test_account_signing_in_loads_the_employee_and_makes_a_missing_account(db):
    assert models.Account.signing_in("199202022020011002") is None  # not in the data
    employee = make_employee()
    first = models.Account.signing_in(NIP)  # the employee had no account yet
    assert first.employee.nama == employee.nama and first.employee.tanggal_lahir == employee.tanggal_lahir
    assert models.Account.select().count() == 1
    again = models.Account.signing_in(NIP)
    assert again.id == first.id and again.employee.id == employee.id
    assert again.password_hash is None and again.must_change_password and again.created_at == first.created_at
    assert not again.is_dirty() and not again.employee.is_dirty()


def test_rows_read_in_one_query_hold_what_the_query_builder_would(db):
    """The session, account and employee read together for every signed-in page (some
    values converted, text and integers taken as they come) equal the same rows read
    through peewee's own get(): same values, same Python types."""
    employee = make_employee()
    account = models.Account.signing_in(NIP)
    account.save()
    record = models.SessionRecord.start(account, ip="10.0.0.9", user_agent="uji")
    resumed, _ = models.SessionRecord.resume(record.token, idle=timedelta(hours=1), lifetime=timedelta(hours=8))
    pairs = [(resumed, models.SessionRecord.get_by_id(record.id)),
             (resumed.account, models.Account.get_by_id(account.id)),
             (resumed.account.employee, models.Employee.get_by_id(employee.id))]
    for loaded, expected in pairs:
        for name in type(expected)._meta.fields:
            value, wanted = loaded.__data__.get(name), expected.__data__.get(name)
            assert (value, type(value)) == (wanted, type(wanted)), f"{type(expected).__name__}.{name}"
