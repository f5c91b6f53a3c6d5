"""The audit log: filters, pages and the CSV export."""

import csv
import io
from datetime import date, datetime, time, timedelta

from flask import (
    Response,
    current_app,
    request,
)
from flask_login import current_user
from markupsafe import Markup

import models
import security
from security import now
from views import audit, localtime, pager, rendered_once, respond
from views.admin import (
    admin_only,
    bp,
)

EVENTS_PER_PAGE = 25  # a screenful; the filters and the CSV export are for more

# The filter's choices: every event the portal records has a label. Not read from the
# table, which would mean a pass over every event at each view.
EVENT_NAMES = sorted(models.EVENT_LABELS)


def _audit_filters():
    """(the form as typed, AuditEvent.search arguments, errors by field)."""
    form = {name: request.args.get(name, "").strip()[:40] for name in ("nip", "event", "dari", "sampai")}
    filters, errors = {"event": form["event"]}, {}
    if form["nip"]:
        filters["nip"] = security.normalize_nip(form["nip"])
        if not filters["nip"].isdigit():
            errors["nip"] = "NIP hanya berisi angka."
    for name, key, days in (("dari", "start", 0), ("sampai", "end", 1)):
        if not form[name]:
            continue
        try:
            day = date.fromisoformat(form[name])
            filters[key] = security.utc_from_local(datetime.combine(day + timedelta(days=days), time()),
                                                   current_app.config["TIMEZONE"])
        except (ValueError, OverflowError):  # OverflowError: year 1 or 9999
            errors[name] = "Tanggal dengan format TTTT-BB-HH, misalnya 2026-11-23."
    if filters.get("start") and filters.get("end") and filters["start"] >= filters["end"]:
        errors["sampai"] = "Tanggal akhir tidak boleh sebelum tanggal awal."
    return form, filters, errors


def _event_options(selected: str) -> Markup:
    """The filter's <option>s are the same on every view but for the one selected: each
    set is rendered once (escaping every label cost more than the page's rows)."""
    return rendered_once(("event options", selected), "admin/_event_options.html",
                         event_names=EVENT_NAMES, labels=models.EVENT_LABELS, selected=selected)


@bp.get("/audit")
@admin_only
def audit_log():
    form, filters, errors = _audit_filters()
    if errors:
        shown, events = pager(lambda cap: 0, EVENTS_PER_PAGE), []
    else:
        shown = pager(lambda cap: models.AuditEvent.listing_count(cap, **filters), EVENTS_PER_PAGE)
        events = models.AuditEvent.listing(EVENTS_PER_PAGE, shown.offset, **filters)
    return respond("admin/audit.html", "console", 422 if errors else 200, form=form, errors=errors,
                   rows=_rows(events), pager=shown,
                   event_options=_event_options(form["event"] if form["event"] in models.EVENT_LABELS else ""),
                   query_args={k: v for k, v in form.items() if v})


def _rows(events) -> list[tuple]:
    """(time as shown, label, event) for each event of the page. Sign-ins write several
    events within seconds, so the log comes in bursts: each minute shown is formatted once."""
    times, rows = {}, []
    for event in events:
        minute = event.created_at.replace(second=0, microsecond=0)  # the page shows minutes
        if minute not in times:
            times[minute] = localtime(minute)
        rows.append((times[minute], models.EVENT_LABELS.get(event.event, event.event), event))
    return rows


@bp.get("/audit.csv")
@admin_only
def audit_export():
    form, filters, errors = _audit_filters()
    if errors:
        return audit_log()
    audit("audit.exported", actor=current_user,
          detail="; ".join(f"{k}={v}" for k, v in form.items() if v) or "semua")
    filename = f"log-audit-{localtime(now(), '%Y%m%d-%H%M')}.csv"
    return Response(_csv_lines(models.AuditEvent.search(**filters), current_app.config["TIMEZONE"]),
                    mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _csv_lines(query, zone: str):
    """Streamed: the log can be long. The request's connection is closed by the time the
    server reads this, so the generator opens its own."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # so spreadsheet programs read UTF-8
    writer.writerow(["waktu", "peristiwa", "nip", "petugas", "ip", "user_agent", "keterangan"])
    with models.db.connection_context():
        for count, event in enumerate(query.iterator(), 1):
            writer.writerow([security.local(event.created_at, zone).strftime("%Y-%m-%d %H:%M:%S %Z"),
                             _cell(event.event), _cell(event.nip), _cell(event.actor_nip or ""), _cell(event.ip),
                             _cell(event.user_agent), _cell(event.detail)])
            if count % 1000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


def _cell(text: str) -> str:
    """User agents and reasons come from outside: a leading = + - @ would make a
    spreadsheet run them as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r", ";") else text
