"""fields.py: the rules for typed values, one message each, used by every form and the importer."""

from datetime import date

import pytest

import fields


@pytest.mark.parametrize("typed, cleaned", [(" Budi@Contoh.GO.id ", "budi@contoh.go.id"), ("a@b.co", "a@b.co")])
def test_email_is_trimmed_and_lowered(typed, cleaned):
    assert fields.email(typed) == cleaned


@pytest.mark.parametrize("typed", ["bukan-email", "a@b", "a b@c.id", "", "x" * 250 + "@a.id"])
def test_bad_email_has_one_message(typed):
    with pytest.raises(fields.FieldError, match="Alamat email tidak valid, contoh: nama@instansi.go.id."):
        fields.email(typed)


def test_optional_fields_may_be_empty():
    assert fields.email("  ", required=False) == "" and fields.phone("", required=False) == ""


@pytest.mark.parametrize("typed, cleaned", [("0812-3456-7890", "081234567890"),
                                            ("+62 812 3456 7890", "+6281234567890")])
def test_phone_is_typed_as_people_do(typed, cleaned):
    assert fields.phone(typed) == cleaned


@pytest.mark.parametrize("typed", ["12345", "021-555-1234", "08123", "0812345678901234567"])
def test_bad_phone_has_one_message(typed):
    with pytest.raises(fields.FieldError, match="Nomor ponsel tidak valid"):
        fields.phone(typed)


def test_device_name_is_squashed_optional_and_bounded():
    assert fields.device_name("  Ponsel\n\tkantor  ") == "Ponsel kantor"
    assert fields.device_name("") == ""
    with pytest.raises(fields.FieldError, match="paling banyak 40 karakter"):
        fields.device_name("x" * 41)


def test_iso_date():
    assert fields.iso_date(" 2026-02-28 ", "tmt", required=True) == date(2026, 2, 28)
    assert fields.iso_date("", "tmt", required=False) is None
    with pytest.raises(fields.FieldError, match="tmt wajib diisi"):
        fields.iso_date("", "tmt", required=True)
    with pytest.raises(fields.FieldError, match="bukan tanggal dengan format TTTT-BB-HH"):
        fields.iso_date("2026-02-30", "tmt", required=True)


def test_check_collects_the_message_by_field():
    errors = {}
    assert fields.check(errors, "telepon", fields.phone, "123") is None
    assert errors == {"telepon": "Nomor ponsel tidak valid, contoh: 081234567890."}
