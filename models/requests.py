"""Pengajuan layanan: one request model for every kind (cuti, kenaikan pangkat, mutasi,
pemutakhiran data), its timeline of steps and the documents filed with it. What each
kind asks for and what its approval does lives in models/kinds.py."""

import json

from peewee import (
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    TextField,
)

from security import now

from .base import BaseModel, db
from .employee import Document, Employee
from .outbox import Notification

STATUS_LABELS = {
    "draf": "Draf",
    "diajukan": "Menunggu verifikasi",
    "diverifikasi": "Diverifikasi, menunggu persetujuan",
    "perlu_perbaikan": "Perlu perbaikan",
    "disetujui": "Disetujui",
    "ditolak": "Ditolak",
}
# Which status may follow which; every move is one of these.
MOVES = {
    "draf": ("diajukan",),
    "diajukan": ("diverifikasi", "perlu_perbaikan", "disetujui", "ditolak"),
    "diverifikasi": ("perlu_perbaikan", "disetujui", "ditolak"),
    "perlu_perbaikan": ("diajukan",),
    "disetujui": (),
    "ditolak": (),
}
WAITING = ("diajukan", "diverifikasi")  # on the reviewers' side
OPEN = ("draf", "diajukan", "diverifikasi", "perlu_perbaikan")
STEP_WORDS = {
    "diajukan": "diajukan", "diverifikasi": "diverifikasi", "perlu_perbaikan": "dikembalikan untuk diperbaiki",
    "disetujui": "disetujui", "ditolak": "ditolak",
}


class ServiceRequest(BaseModel):
    """A pengajuan. `data` holds the fields its kind asks for (JSON); `start`/`end` the
    period of a leave; `note` the last reviewer's note. Staff are kept by NIP, as the
    audit log keeps them."""

    employee = ForeignKeyField(Employee, backref="service_requests", on_delete="CASCADE")
    kind = CharField(max_length=32)
    subkind = CharField(max_length=32, default="")
    status = CharField(max_length=16, default="draf")
    start = DateField(null=True)
    end = DateField(null=True)
    data = TextField(default="{}")
    note = TextField(default="")
    created_at = DateTimeField(default=now)
    submitted_at = DateTimeField(null=True)  # the last time it was (re)submitted: the queue's order
    decided_at = DateTimeField(null=True)
    assigned_to = CharField(default="")
    verified_by = CharField(default="")
    decided_by = CharField(default="")

    class Meta:
        indexes = (
            (("kind", "status", "submitted_at"), False),  # the console's queue, oldest first
            (("employee", "kind", "status"), False),  # an employee's own requests and leave rules
        )

    STATUS_LABELS = STATUS_LABELS

    @property
    def values(self) -> dict:
        return json.loads(self.data or "{}")

    @values.setter
    def values(self, values: dict) -> None:
        self.data = self.encode(values)

    @staticmethod
    def encode(values: dict) -> str:
        return json.dumps(values, ensure_ascii=False, sort_keys=True)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def kind_label(self) -> str:
        from .kinds import kind_label

        return kind_label(self.kind)

    @property
    def is_editable(self) -> bool:
        """The employee may still change it: a draft, or sent back for corrections."""
        return self.status in ("draf", "perlu_perbaikan")

    @classmethod
    def of(cls, employee, kind=None):
        query = cls.select().where(cls.employee == employee)
        if kind:
            query = query.where(cls.kind == kind)
        return query.order_by(cls.id.desc())

    @classmethod
    def owned(cls, request_id: int, employee):
        """The request if it is `employee`'s; None otherwise (never another's)."""
        return cls.get_or_none((cls.id == request_id) & (cls.employee == employee))

    @classmethod
    def queue(cls, kind: str, statuses, unit: str = "", submitted_before=None):
        """Waiting requests of one kind, oldest first, with their employee (one query)."""
        query = (cls.select(cls, Employee).join(Employee)
                 .where((cls.kind == kind) & cls.status.in_(statuses)))
        if unit:
            query = query.where(Employee.unit_kerja == unit)
        if submitted_before:
            query = query.where(cls.submitted_at <= submitted_before)
        return query.order_by(cls.submitted_at, cls.id)

    def days_waiting(self, today) -> int:
        return (today - self.submitted_at.date()).days if self.submitted_at else 0

    def move(self, to_status: str, actor_nip: str, note: str = "", *, changes=None):
        """Moves the request from its current status to `to_status` in one transaction:
        the status is compared and set in one UPDATE (two reviewers pressing at once: one
        wins), the step is written and the employee gets a notification. `changes` are
        more columns to set in the same UPDATE. Returns the RequestStep, or None when the
        request was no longer in the status this copy saw."""
        if to_status not in MOVES[self.status]:
            return None
        moment = now()
        values = {"status": to_status, **(changes or {})}
        if to_status == "diajukan":
            values["submitted_at"] = moment
        if to_status in ("disetujui", "ditolak"):
            values.update(decided_at=moment, decided_by=actor_nip)
        if to_status == "diverifikasi":
            values["verified_by"] = actor_nip
        if to_status != "diajukan":
            values["note"] = note
        with db.atomic():
            moved = (ServiceRequest.update(values)
                     .where((ServiceRequest.id == self.id) & (ServiceRequest.status == self.status)).execute())
            if not moved:
                return None
            step = RequestStep.create(request=self.id, from_status=self.status, to_status=to_status,
                                      actor_nip=actor_nip, note=note, created_at=moment)
            for name, value in values.items():
                setattr(self, name, value)
            if actor_nip != self.employee.nip:
                Notification.create(employee=self.employee_id, title=self.step_title(step),
                                    body=f"Catatan: {note}" if note else "", link=self.employee_link)
        return step

    @property
    def employee_link(self) -> str:
        return f"/dashboard/cuti/{self.id}" if self.kind == "cuti" else f"/layanan/{self.id}"

    def step_title(self, step) -> str:
        return f"Pengajuan {self.kind_label.lower()} {STEP_WORDS[step.to_status]}"

    def timeline(self):
        return RequestStep.select().where(RequestStep.request == self.id).order_by(RequestStep.id)

    def documents(self):
        """{requirement key: [RequestDocument with its Document's listing columns]}."""
        rows = (RequestDocument.select(RequestDocument, Document.id, Document.jenis, Document.filename,
                                       Document.size, Document.uploaded_at)
                .join(Document).where(RequestDocument.request == self.id).order_by(RequestDocument.id))
        found = {}
        for row in rows:
            found.setdefault(row.requirement, []).append(row)
        return found

    @classmethod
    def waiting_since(cls, before):
        """Requests waiting on someone (the reviewers or the employee) since before `before`."""
        return (cls.select(cls, Employee).join(Employee)
                .where(cls.status.in_(("diajukan", "diverifikasi", "perlu_perbaikan"))
                       & (cls.submitted_at <= before))
                .order_by(cls.employee, cls.submitted_at))


class RequestStep(BaseModel):
    """One move on the timeline: who (NIP), when, from which status to which, and the note."""

    request = ForeignKeyField(ServiceRequest, backref="steps", on_delete="CASCADE")
    from_status = CharField(max_length=16, default="")
    to_status = CharField(max_length=16)
    actor_nip = CharField(default="")
    note = TextField(default="")
    created_at = DateTimeField(default=now)

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.to_status]


class RequestDocument(BaseModel):
    """A document filed for one checklist item of a request. The PDF itself is an
    employee's Document (listed on the Dokumen page), kept after the decision."""

    request = ForeignKeyField(ServiceRequest, backref="document_links", on_delete="CASCADE")
    requirement = CharField(max_length=32)
    document = ForeignKeyField(Document, backref="request_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("request", "requirement"), False),)

    @classmethod
    def with_content(cls, request_id: int):
        """Every document of a request with its PDF, in the order they were filed."""
        return (cls.select(cls, Document).join(Document).where(cls.request == request_id).order_by(cls.id))

    @classmethod
    def for_reviewer(cls, request_id: int, document_id: int):
        """The Document if it was filed with that request; None otherwise."""
        row = (cls.select(cls, Document).join(Document)
               .where((cls.request == request_id) & (cls.document == document_id)).first())
        return row.document if row else None
