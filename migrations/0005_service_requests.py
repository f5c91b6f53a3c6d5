"""Pengajuan layanan: one table of requests for every kind, their timeline and documents.

- new tables servicerequest, requeststep, requestdocument;
- every leave request moves into servicerequest as kind "cuti", with its id (the links in
  old notifications keep working), jenis, dates, reason, status and decision, and gets a
  timeline: filed at its creation, decided at its decision; then leaverequest is dropped;
- employee gets the columns an employee keeps up to date through "pemutakhiran data":
  gelar_depan, gelar_belakang, tempat_lahir, tanggal_lahir, alamat, pendidikan, keluarga;
  and an index on unit_kerja (the request queue filtered by unit)."""

import json

from peewee import CharField, DateField, DateTimeField, ForeignKeyField, Model, PostgresqlDatabase, TextField

BATCH = 2000


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("employee", "gelar_depan", CharField(null=True)),
        migrator.add_column("employee", "gelar_belakang", CharField(null=True)),
        migrator.add_column("employee", "tempat_lahir", CharField(null=True)),
        migrator.add_column("employee", "tanggal_lahir", DateField(null=True)),
        migrator.add_column("employee", "alamat", TextField(null=True)),
        migrator.add_column("employee", "pendidikan", CharField(null=True)),
        migrator.add_column("employee", "keluarga", TextField(null=True)),
        migrator.add_index("employee", ("unit_kerja",), False),
    )
    ServiceRequest, RequestStep, RequestDocument = _frozen_models(db)
    db.create_tables([ServiceRequest, RequestStep, RequestDocument])
    if db.table_exists("leaverequest"):
        _move_leave_requests(db, ServiceRequest, RequestStep)
        db.execute_sql('DROP TABLE "leaverequest"')


def _move_leave_requests(db, ServiceRequest, RequestStep):
    last_id = 0
    nip_of = dict(db.execute_sql('SELECT id, nip FROM "employee"').fetchall())
    while True:
        rows = db.execute_sql(
            'SELECT id, employee_id, jenis, start, "end", reason, status, decision_note, decided_by, created_at, '
            'decided_at FROM "leaverequest" WHERE id > %s ORDER BY id LIMIT %s'.replace("%s", db.param),
            (last_id, BATCH)).fetchall()
        if not rows:
            break
        requests, steps = [], []
        for (row_id, employee_id, jenis, start, end, reason, status, note, decided_by, created_at,
             decided_at) in rows:
            requests.append({"id": row_id, "employee": employee_id, "kind": "cuti", "subkind": jenis,
                             "status": status, "start": start, "end": end,
                             "data": json.dumps({"reason": reason}, ensure_ascii=False, sort_keys=True),
                             "note": note, "created_at": created_at, "submitted_at": created_at,
                             "decided_at": decided_at, "decided_by": decided_by})
            steps.append({"request": row_id, "from_status": "", "to_status": "diajukan",
                          "actor_nip": nip_of.get(employee_id, ""), "note": "", "created_at": created_at})
            if status in ("disetujui", "ditolak"):
                steps.append({"request": row_id, "from_status": "diajukan", "to_status": status,
                              "actor_nip": decided_by, "note": note, "created_at": decided_at or created_at})
        ServiceRequest.insert_many(requests).execute()
        RequestStep.insert_many(steps).execute()
        last_id = rows[-1][0]
    if isinstance(db, PostgresqlDatabase):  # ids were given: the sequence goes on after them
        db.execute_sql("SELECT setval(pg_get_serial_sequence('servicerequest', 'id'), "
                       "COALESCE((SELECT MAX(id) FROM servicerequest), 0) + 1, false)")


def _frozen_models(db):
    class Base(Model):
        class Meta:
            database = db

    class Employee(Base):
        class Meta:
            table_name = "employee"

    class Document(Base):
        class Meta:
            table_name = "document"

    class ServiceRequest(Base):
        employee = ForeignKeyField(Employee, on_delete="CASCADE")
        kind = CharField(max_length=32)
        subkind = CharField(max_length=32, default="")
        status = CharField(max_length=16, default="draf")
        start = DateField(null=True)
        end = DateField(null=True)
        data = TextField(default="{}")
        note = TextField(default="")
        created_at = DateTimeField()
        submitted_at = DateTimeField(null=True)
        decided_at = DateTimeField(null=True)
        assigned_to = CharField(default="")
        verified_by = CharField(default="")
        decided_by = CharField(default="")

        class Meta:
            table_name = "servicerequest"
            indexes = ((("kind", "status", "submitted_at"), False), (("employee", "kind", "status"), False))

    class RequestStep(Base):
        request = ForeignKeyField(ServiceRequest, on_delete="CASCADE")
        from_status = CharField(max_length=16, default="")
        to_status = CharField(max_length=16)
        actor_nip = CharField(default="")
        note = TextField(default="")
        created_at = DateTimeField()

        class Meta:
            table_name = "requeststep"

    class RequestDocument(Base):
        request = ForeignKeyField(ServiceRequest, on_delete="CASCADE")
        requirement = CharField(max_length=32)
        document = ForeignKeyField(Document, on_delete="CASCADE")

        class Meta:
            table_name = "requestdocument"
            indexes = ((("request", "requirement"), False),)

    return ServiceRequest, RequestStep, RequestDocument
