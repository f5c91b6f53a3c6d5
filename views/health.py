"""For machines: /healthz for load balancers and service monitors, /metrics in Prometheus
text format (only with ASN_METRICS_ENABLED). Counters come from the audit table and the
outbox, so every worker process reports the same numbers."""

from flask import Blueprint, abort, current_app, jsonify, request

import models
import security
from views import limiter

bp = Blueprint("health", __name__)

# metric name → (help text, audit events counted)
AUDIT_COUNTERS = {
    "portal_logins_ok_total": ("Completed sign-ins.", ("login.ok",)),
    "portal_logins_failed_total": ("Wrong passwords at sign-in.", ("login.failed",)),
    "portal_account_locks_total": ("Accounts locked after repeated failures.", ("account.locked",)),
    "portal_otp_failures_total": ("Wrong or replayed OTP codes.", ("otp.failed", "otp.replayed")),
}


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """200 when the database answers and has its tables, else 503; never cached."""
    checks = {"database": "ok", "tables": "ok"}
    try:
        models.db.connect(reuse_if_open=True)
        missing = [m._meta.table_name for m in models.ALL_MODELS if not models.db.table_exists(m._meta.table_name)]
    except Exception as exc:  # noqa: BLE001 - any database failure means "unhealthy"
        current_app.logger.warning("health check: database unreachable: %s", exc)
        checks = {"database": "unreachable", "tables": "unknown"}
    else:
        if missing:
            checks["tables"] = "missing: " + ", ".join(missing)
    healthy = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if healthy else "error", **checks), 200 if healthy else 503


@bp.get("/metrics")
@limiter.exempt
def metrics():
    cfg = current_app.config
    if not cfg["METRICS_ENABLED"]:
        abort(404)
    if cfg["METRICS_TOKEN"]:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not security.constant_time_equals(offered, cfg["METRICS_TOKEN"]):
            return "", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'}
    lines = []
    for name, (description, events) in AUDIT_COUNTERS.items():
        count = models.AuditEvent.select().where(models.AuditEvent.event.in_(events)).count()
        lines += [f"# HELP {name} {description}", f"# TYPE {name} counter", f"{name} {count}"]
    lines += ["# HELP portal_mail_queue_messages Messages waiting to be sent, by status.",
              "# TYPE portal_mail_queue_messages gauge"]
    for status in ("pending", "sending", "failed"):
        count = models.Message.select().where(models.Message.status == status).count()
        lines.append(f'portal_mail_queue_messages{{status="{status}"}} {count}')
    return "\n".join(lines) + "\n", 200, {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
