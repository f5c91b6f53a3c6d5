"""The first sign-in without a password: activation letters and registrations waiting for
the helpdesk's identity check."""

import re
import secrets
from datetime import timedelta

from peewee import (
    JOIN,
    CharField,
    DateTimeField,
    ForeignKeyField,
)

import security
from security import now

from .account import Account
from .base import BaseModel, db
from .employee import Employee

ACTIVATION_LETTER_DAYS = 30
LETTER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L


def normalize_letter_code(typed: str) -> str:
    return re.sub(r"[\s\-]", "", typed or "").upper()


class ActivationLetter(BaseModel):
    """A printed letter with a single-use activation code that replaces the NIK at the
    first sign-in (for offices whose data has no e-mail). Only a keyed hash is stored."""

    employee = ForeignKeyField(Employee, backref="activation_letters", on_delete="CASCADE")
    code_hash = CharField(max_length=64)
    created_at = DateTimeField(default=now)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)

    @classmethod
    def issue(cls, employee: Employee, settings) -> str:
        """A new code for `employee` (earlier unused ones stop working); returns it."""
        raw = "".join(secrets.choice(LETTER_ALPHABET) for _ in range(12))
        with db.atomic():
            cls.update(used_at=now()).where((cls.employee == employee.id) & cls.used_at.is_null()).execute()
            cls.create(employee=employee, code_hash=security.keyed_hash(raw, settings.secret_key),
                       expires_at=now() + timedelta(days=ACTIVATION_LETTER_DAYS))
        return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"

    @classmethod
    def use(cls, employee: Employee, typed: str, settings) -> bool:
        code = normalize_letter_code(typed)
        if len(code) != 12:
            return False
        return bool(cls.update(used_at=now()).where(
            (cls.employee == employee.id) & (cls.code_hash == security.keyed_hash(code, settings.secret_key))
            & cls.used_at.is_null() & (cls.expires_at > now())).execute())

    @staticmethod
    def recipients(unit: str = ""):
        """Active employees who have no password yet, by unit and name; `unit` filters."""
        query = (Employee.select().join(Account, JOIN.LEFT_OUTER, on=(Account.employee == Employee.id))
                 .where((Employee.status == "aktif") & Account.password_hash.is_null())
                 .order_by(Employee.unit_kerja, Employee.nama, Employee.nip))
        return query.where(Employee.unit_kerja == unit) if unit else query


class RegistrationRequest(BaseModel):
    """A registration for an employee with no e-mail or phone on record: it waits until
    the helpdesk has checked the person's identity (Verifikasi pendaftaran); only then is
    the contact stored and the activation link sent."""

    STATUS_LABELS = {"menunggu": "Menunggu verifikasi", "disetujui": "Disetujui", "ditolak": "Ditolak"}

    employee = ForeignKeyField(Employee, backref="registration_requests", on_delete="CASCADE")
    email = CharField()
    telepon = CharField(default="")
    status = CharField(default="menunggu", index=True)
    created_at = DateTimeField(default=now)
    decided_at = DateTimeField(null=True)
    decided_by = CharField(default="")  # the operator's NIP
    note = CharField(default="")

    @classmethod
    def waiting(cls):
        return (cls.select(cls, Employee).join(Employee).where(cls.status == "menunggu")
                .order_by(cls.created_at, cls.id))

    @classmethod
    def submit(cls, employee: Employee, email: str, telepon: str) -> "RegistrationRequest":
        """One waiting request per employee: a new one replaces what was typed before."""
        with db.atomic():
            cls.delete().where((cls.employee == employee.id) & (cls.status == "menunggu")).execute()
            return cls.create(employee=employee, email=email, telepon=telepon)

    def decide(self, status: str, operator_nip: str, note: str) -> bool:
        """Compare-and-set, so two operators never both decide it."""
        return bool(RegistrationRequest.update(status=status, decided_at=now(), decided_by=operator_nip,
                                               note=note[:255]).where(
            (RegistrationRequest.id == self.id) & (RegistrationRequest.status == "menunggu")).execute())






