"""Employees: the list and search, one employee's page, contact data and roles."""


from flask import (
    flash,
    redirect,
    request,
    url_for,
)
from flask_login import current_user

import fields
import models
from views import audit, go, pager, respond
from views.admin import _employee_or_404, _may_change, _target, admin_only, bp
from views.admin.helpdesk import ACTIONS, action_needed

EMPLOYEES_PER_PAGE = 20


@bp.get("/")
def index():
    return redirect(url_for("admin.employees"))


@bp.get("/pegawai")
def employees():
    q = request.args.get("q", "")[:100]
    shown = pager(lambda cap: models.Employee.search_count(q, cap), EMPLOYEES_PER_PAGE)
    return respond("admin/employees.html", "results", q=q, pager=shown,
                   employees=models.Employee.search(q, EMPLOYEES_PER_PAGE, shown.offset))


def employee_page(employee, status=200, errors=None, form=None, doc_form=None):
    account = models.Account.get_or_none(models.Account.employee == employee)
    return respond(
        "admin/employee.html", "console", status, employee=employee, account=account,
        authenticators=list(account.confirmed_authenticators()) if account else [],
        passkeys=list(models.Passkey.of(account)) if account else [],
        sessions=list(account.active_sessions()) if account else [],
        events=list(models.AuditEvent.for_nip(employee.nip).limit(20)),
        documents=list(models.Document.listing(employee)),
        actions=[(slug, spec) for slug, spec in ACTIONS.items() if action_needed(slug, account)],
        may_change=_may_change(employee, account), statuses=models.STATUSES, roles=models.ROLES,
        errors=errors or {}, form=form or {}, doc_form=doc_form or {}, labels=models.EVENT_LABELS)


@bp.get("/pegawai/<nip>")
def employee(nip):
    return employee_page(_employee_or_404(nip))


def _employee_edit(form) -> tuple[dict, dict]:
    """The contact data and status an admin may change: (values, errors by field)."""
    errors = {}
    values = {"email": fields.check(errors, "email", fields.email, form.get("email"), required=False),
              "telepon": fields.check(errors, "telepon", fields.phone, form.get("telepon"), required=False),
              "status": (form.get("status") or "").strip().lower()}
    if values["status"] not in models.STATUSES:
        errors["status"] = "Pilih salah satu status: " + ", ".join(models.STATUSES) + "."
    for name in ("email", "telepon"):
        if values[name] is None:  # shown again as typed, next to its message
            values[name] = fields.squashed(form.get(name), 254)
    return values, errors


@bp.post("/pegawai/<nip>/data")
@admin_only
def employee_data_post(nip):
    employee, account = _target(nip)
    values, errors = _employee_edit(request.form)
    if errors:
        return employee_page(employee, 422, errors, values)
    changed = [name for name, value in values.items() if getattr(employee, name) != value]
    if not changed:
        flash("Tidak ada perubahan.", "info")
        return go("admin.employee", nip=employee.nip)
    detail = "diubah: " + ", ".join(changed)
    if "status" in changed:
        detail += f"; status {employee.status} → {values['status']}"
    employee.update_data(values)
    if account and not employee.is_active:
        account.end_sessions()  # a deactivated employee is signed out everywhere
    audit("employee.updated", account=account, nip=employee.nip, actor=current_user, detail=detail)
    flash("Data pegawai tersimpan.", "success")
    return go("admin.employee", nip=employee.nip)


@bp.post("/pegawai/<nip>/peran")
@admin_only
def role_post(nip):
    employee, account = _target(nip)
    role = request.form.get("role", "")
    if role not in models.ROLES:
        return employee_page(employee, 422, {"role": "Pilih peran: pegawai, helpdesk, atau admin."})
    account = account or models.Account.for_employee(employee)
    if role != account.role:
        audit("role.changed", account=account, actor=current_user, detail=f"{account.role} → {role}")
        account.set_role(role)
        flash(f"Peran {employee.nama} sekarang {role}.", "success")
    return go("admin.employee", nip=employee.nip)


