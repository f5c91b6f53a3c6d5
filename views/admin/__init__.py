"""Helpdesk and admin console: employees (search, CSV upload, contact data, roles), the
helpdesk actions on an account, each after the operator records how the caller's
identity was checked, the audit log, and the queue of outgoing messages. Every route needs
a fully signed-in helpdesk or admin; the routes marked admin_only need an admin."""

from functools import wraps

from flask import Blueprint, abort, current_app
from flask_login import current_user

import models
import security
from views import rendered_once

bp = Blueprint("admin", __name__)

STAFF_ROLES = ("helpdesk", "admin")


@bp.before_request
def require_staff():
    """Runs before every route of this blueprint, so a new route is never left open."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if current_user.role not in STAFF_ROLES or not current_user.is_active:
        abort(403)
    return None


def admin_only(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)
    return wrapped


@bp.context_processor
def console_menu():
    """The console's links depend only on the operator's role: each set is rendered once.
    Error pages of the blueprint are rendered for anonymous visitors too."""
    if not current_user.is_authenticated:
        return {}
    role = current_user.role
    may_review_requests = bool(requests.reviewable_kinds(role))
    return {"console_menu": rendered_once(("console menu", role, may_review_requests), "admin/_menu.html",
                                          role=role, may_review_requests=may_review_requests)}


@bp.app_template_filter("masked_nik")
def masked_nik(last4: str) -> str:
    """The last four digits: enough to compare with the caller's KTP. The other twelve
    are the region and the birth date, which the NIP already shows, so showing them would
    give the whole NIK away."""
    return security.masked_nik(last4)


def _employee_or_404(nip: str) -> models.Employee:
    employee = models.Employee.by_nip(nip)
    if employee is None:
        abort(404)
    return employee


def _may_change(employee, account) -> bool:
    """Nobody changes their own account here, and the helpdesk only ordinary
    employees' (otherwise a helpdesk could reset an admin's password and MFA)."""
    if employee.id == current_user.employee_id:
        return False
    return current_user.role == "admin" or account is None or account.role == "pegawai"


def _target(nip: str):
    employee = _employee_or_404(nip)
    account = models.Account.get_or_none(models.Account.employee == employee)
    if not _may_change(employee, account):
        abort(403)
    return employee, account


# The routes, by subject; each module adds its own to `bp`.
from views.admin import (  # noqa: E402
    apps,
    audit_log,
    documents,
    employees,
    helpdesk,
    imports,
    leave,
    outbox,
    registrations,
    requests,
)

__all__ = ["apps", "audit_log", "documents", "employees", "helpdesk", "imports", "leave", "outbox",
           "registrations",
           "requests"]
