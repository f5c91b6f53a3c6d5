"""flask --app app purge: what is no longer needed goes, what is still live stays."""

from datetime import timedelta

import models
from tests.helpers import make_employee


def account_with_sessions(clock):
    employee = make_employee()
    account = models.Account.for_employee(employee)
    start = clock.now()
    ages = {"baru": (timedelta(minutes=5), timedelta(minutes=1)),
            "diam": (timedelta(hours=1), timedelta(minutes=31)),  # idle longer than 30 minutes
            "tua": (timedelta(hours=9), timedelta(minutes=1))}  # older than 8 hours, still active
    for name, (age, idle) in ages.items():
        models.SessionRecord.create(account=account, token_hash=name.ljust(64, "0"), created_at=start - age,
                                    last_seen_at=start - idle, verified_at=start - age)
    return employee, account


def test_purge_removes_only_what_has_expired(app, clock):
    start = clock.now()
    with models.db.connection_context():
        employee, account = account_with_sessions(clock)
        for name, used, expires in (("dipakai-kemarin", start - timedelta(days=2), start + timedelta(hours=1)),
                                    ("dipakai-tadi", start - timedelta(hours=1), start + timedelta(hours=1)),
                                    ("habis-lama", None, start - timedelta(days=2)),
                                    ("habis-tadi", None, start - timedelta(hours=2)),
                                    ("berlaku", None, start + timedelta(hours=1))):
            models.Token.create(employee=employee, purpose="reset", secret_hash=name.ljust(64, "0"),
                                created_at=start - timedelta(days=3), expires_at=expires, used_at=used)
        for status in ("sent", "pending", "failed", "outbox"):
            models.Message.create(recipient="a@b.go.id", subject=status, body=f"Kode 123456 ({status})",
                                  html="<p>Kode 123456</p>", status=status)
        for days in (731, 729, 1):
            models.AuditEvent.create(event="login.ok", nip=employee.nip, account=account, detail=str(days),
                                     created_at=start - timedelta(days=days))

    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "2 sesi kedaluwarsa, 2 token lama, 1 isi pesan terkirim, 1 catatan audit" in result.output

    with models.db.connection_context():
        assert [s.token_hash.rstrip("0") for s in models.SessionRecord.select()] == ["baru"]
        assert sorted(t.secret_hash.rstrip("0") for t in models.Token.select()) == [
            "berlaku", "dipakai-tadi", "habis-tadi"]
        messages = {m.status: m for m in models.Message.select()}
        assert len(messages) == 4 and messages["sent"].body == "" and messages["sent"].html == ""
        assert messages["sent"].subject == "sent" and messages["sent"].recipient == "a@b.go.id"
        assert all("123456" in m.body for status, m in messages.items() if status != "sent")
        assert sorted(e.detail for e in models.AuditEvent.select()) == ["1", "729"]


def test_audit_retention_follows_the_setting(make_app, clock):
    app = make_app(AUDIT_RETENTION_DAYS=30)
    with models.db.connection_context():
        for days in (31, 29):
            models.AuditEvent.create(event="login.ok", detail=str(days), created_at=clock.now() - timedelta(days=days))
    assert "1 catatan audit lebih dari 30 hari" in app.test_cli_runner().invoke(args=["purge"]).output
    with models.db.connection_context():
        assert [e.detail for e in models.AuditEvent.select()] == ["29"]


def test_purge_works_in_batches(app, clock):
    with models.db.connection_context():
        old = clock.now() - timedelta(days=800)
        models.AuditEvent.insert_many([{"event": "login.ok", "created_at": old}] * 25
                                      + [{"event": "login.ok", "created_at": clock.now()}] * 2).execute()
        models.Message.insert_many([{"recipient": "x", "body": "rahasia", "status": "sent"}] * 7).execute()
        statements = []
        real_execute = models.db.obj.execute_sql

        def counting(sql, params=None, *args, **kwargs):
            if sql.startswith(("DELETE", "UPDATE")):
                statements.append(sql.split()[0])
            return real_execute(sql, params, *args, **kwargs)

        models.db.obj.execute_sql = counting
        try:
            report = models.purge(idle=timedelta(minutes=30), lifetime=timedelta(hours=8), audit_days=730, batch=10)
        finally:
            del models.db.obj.execute_sql
        assert report.audit_events == 25 and report.mail_bodies == 7
        assert statements.count("DELETE") == 3 and statements.count("UPDATE") == 1
        assert models.AuditEvent.select().count() == 2
        assert models.Message.select().where(models.Message.body == "").count() == 7


def test_purge_forgets_unknown_nip_counters_a_day_later_unless_locked(app, clock):
    start = clock.now()
    with models.db.connection_context():
        day_old, hour_old, locked = start - timedelta(days=2), start - timedelta(hours=1), start + timedelta(hours=1)
        for nip, created, locked_until in (("199202022020122001", day_old, None),
                                           ("199202022020122002", day_old, locked),
                                           ("199202022020122003", hour_old, None)):
            models.UnknownNip.create(nip=nip, created_at=created, locked_until=locked_until, failed_count=3)
        assert models.purge(timedelta(minutes=30), timedelta(hours=8), 730).unknown_nips == 1
        assert sorted(u.nip[-1] for u in models.UnknownNip.select()) == ["2", "3"]
