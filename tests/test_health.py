"""views/health.py: /healthz for load balancers and /metrics for Prometheus."""

import peewee
import pytest

import models
from tests.helpers import NIP, PASSWORD, code, first_login, login


def test_healthz_ok_without_login_or_rate_limit(make_app):
    client = make_app(RATELIMIT_ENABLED=True).test_client()
    for _ in range(3):
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json == {"status": "ok", "database": "ok", "tables": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_503_when_a_table_is_missing(app):
    with models.db.connection_context():
        models.db.execute_sql("DROP TABLE message")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["tables"] == "missing: message"


def test_healthz_503_when_the_database_is_unreachable(app, monkeypatch):
    def refuse(*args, **kwargs):
        raise peewee.OperationalError("connection refused")

    monkeypatch.setattr(models.db.obj, "connect", refuse)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["database"] == "unreachable"


def test_metrics_off_by_default(client):
    assert client.get("/metrics").status_code == 404


def _value(text, name):
    return int(next(line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(name + " ")
                    or line.startswith(name + "{")))


def test_metrics_count_from_the_audit_table_and_the_outbox(make_app, employee, clock):
    app = make_app(METRICS_ENABLED=True, MAX_FAILED_LOGINS=2)
    client = app.test_client()
    secret = first_login(client)
    client.post("/logout")
    clock.advance(seconds=30)
    login(client, NIP, "salah")
    login(client, NIP, "salah")  # locks
    with models.db.connection_context():
        models.Account.for_employee(models.Employee.by_nip(NIP)).unlock()
        models.Message.create(recipient="x@example.go.id", body="-", status="pending")
    login(client, NIP, PASSWORD)
    client.post("/login/otp", data={"otp": "000000" if code(secret) != "000000" else "111111"})
    text = app.test_client().get("/metrics").get_data(as_text=True)  # another client, same numbers
    assert "# TYPE portal_logins_ok_total counter" in text
    assert _value(text, "portal_logins_ok_total") == 1
    assert _value(text, "portal_logins_failed_total") == 2
    assert _value(text, "portal_account_locks_total") == 1
    assert _value(text, "portal_otp_failures_total") == 1
    assert 'portal_mail_queue_messages{status="pending"} 1' in text


@pytest.mark.parametrize("header, status", [(None, 401), ("Bearer salah", 401), ("Bearer rahasia-metrik", 200)])
def test_metrics_token(make_app, header, status):
    client = make_app(METRICS_ENABLED=True, METRICS_TOKEN="rahasia-metrik").test_client()
    headers = {"Authorization": header} if header else {}
    assert client.get("/metrics", headers=headers).status_code == status
