"""Leave requests (cuti) and the working days they take."""

from datetime import date, timedelta

from peewee import (
    CharField,
    DateTimeField,
)

from security import now

from .base import db
from .employee import Employee
from .requests import RequestStep, ServiceRequest

LEAVE_TYPES = {
    "tahunan": "Cuti tahunan",
    "sakit": "Cuti sakit",
    "besar": "Cuti besar",
    "melahirkan": "Cuti melahirkan",
    "alasan_penting": "Cuti karena alasan penting",
}
ANNUAL_LEAVE_DAYS = 12


def working_days(start: date, end: date) -> int:
    """Monday to Friday between start and end inclusive (national holidays not known here)."""
    days = (end - start).days + 1
    return sum(1 for i in range(days) if (start + timedelta(days=i)).weekday() < 5)


class LeaveRequest(ServiceRequest):
    """Pengajuan cuti: the service requests of kind "cuti", filed straight to the
    reviewers (no draft, no documents). `jenis` is the request's subkind, the period its
    start and end."""

    kind = CharField(max_length=32, default="cuti")
    status = CharField(max_length=16, default="diajukan")
    submitted_at = DateTimeField(null=True, default=now)

    class Meta:
        table_name = "servicerequest"

    STATUS_LABELS = {"diajukan": "Menunggu persetujuan", "disetujui": "Disetujui", "ditolak": "Ditolak"}

    @classmethod
    def select(cls, *fields):
        return super().select(*fields).where(cls.kind == "cuti")

    @property
    def jenis(self) -> str:
        return self.subkind

    @jenis.setter
    def jenis(self, value: str) -> None:
        self.subkind = value

    @property
    def reason(self) -> str:
        return self.values.get("reason", "")

    @reason.setter
    def reason(self, value: str) -> None:
        self.values = {**self.values, "reason": value}

    @property
    def decision_note(self) -> str:
        return self.note

    @property
    def days(self) -> int:
        return working_days(self.start, self.end)

    @classmethod
    def file(cls, employee, jenis: str, start, end, reason: str):
        """A new request, straight to the reviewers, with the first step of its timeline."""
        with db.atomic():
            item = cls.create(employee=employee, jenis=jenis, start=start, end=end, reason=reason)
            RequestStep.create(request=item.id, to_status="diajukan", actor_nip=employee.nip,
                               created_at=item.submitted_at)
        return item

    @classmethod
    def of(cls, employee):
        return cls.select().where(cls.employee == employee).order_by(cls.start.desc(), cls.id.desc())

    @classmethod
    def owned(cls, request_id: int, employee):
        return cls.get_or_none((cls.id == request_id) & (cls.employee == employee))

    @classmethod
    def with_status(cls, status: str):
        return cls.select(cls, Employee).join(Employee).where(cls.status == status).order_by(cls.start, cls.id)

    def clashes_with_approved(self) -> bool:
        return LeaveRequest.select().where(
            (LeaveRequest.employee == self.employee_id) & (LeaveRequest.status == "disetujui")
            & (LeaveRequest.id != self.id) & (LeaveRequest.start <= self.end) & (LeaveRequest.end >= self.start)
        ).exists()

    def decide(self, status: str, note: str, admin_nip: str):
        """The step written, or None when someone else decided first."""
        return self.move(status, admin_nip, note)

    @classmethod
    def annual_days_used(cls, employee, year: int) -> int:
        """Working days of annual leave approved or waiting, in `year`."""
        requests = cls.select().where((cls.employee == employee) & (cls.subkind == "tahunan")
                                      & (cls.status != "ditolak")
                                      & (cls.start <= date(year, 12, 31)) & (cls.end >= date(year, 1, 1)))
        return sum(r.days for r in requests)

    @classmethod
    def validate(cls, employee, jenis: str, start, end, reason: str) -> dict:
        """Errors by field name, in Bahasa Indonesia; empty when the request is acceptable."""
        errors = {}
        if jenis not in LEAVE_TYPES:
            errors["jenis"] = "Pilih jenis cuti."
        if start is None:
            errors["start"] = "Isi tanggal mulai (format TTTT-BB-HH)."
        if end is None:
            errors["end"] = "Isi tanggal selesai (format TTTT-BB-HH)."
        if not reason.strip():
            errors["reason"] = "Tuliskan alasan cuti."
        elif len(reason) > 500:
            errors["reason"] = "Alasan paling banyak 500 karakter."
        if errors:
            return errors
        if end < start:
            errors["end"] = "Tanggal selesai tidak boleh sebelum tanggal mulai."
            return errors
        if working_days(start, end) == 0:
            errors["end"] = "Rentang tanggal ini tidak memuat hari kerja (Senin–Jumat)."
            return errors
        clash = cls.select().where((cls.employee == employee) & (cls.status == "disetujui")
                                   & (cls.start <= end) & (cls.end >= start)).first()
        if clash:
            errors["start"] = (f"Bertabrakan dengan cuti yang sudah disetujui "
                               f"({clash.start:%d-%m-%Y} s.d. {clash.end:%d-%m-%Y}).")
            return errors
        if jenis == "tahunan":
            if start.year != end.year:
                errors["end"] = ("Cuti tahunan diajukan per tahun: pisahkan pengajuan yang "
                                 "melewati 31 Desember.")
                return errors
            used = cls.annual_days_used(employee, start.year)
            asked = working_days(start, end)
            if used + asked > ANNUAL_LEAVE_DAYS:
                errors["end"] = (f"Melebihi jatah cuti tahunan {ANNUAL_LEAVE_DAYS} hari kerja: sudah "
                                 f"terpakai atau diajukan {used} hari, pengajuan ini {asked} hari, sisa "
                                 f"{max(ANNUAL_LEAVE_DAYS - used, 0)} hari.")
        return errors
