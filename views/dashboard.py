"""The signed-in employee's own data."""

from flask import Blueprint
from flask_login import current_user, login_required

import models
from security import clock
from views import respond

bp = Blueprint("dashboard", __name__)


@bp.get("/dashboard")
@login_required
def index():
    employee = current_user.employee
    return respond("dashboard/index.html", "content", employee=employee,
                   masa_kerja=employee.masa_kerja(clock.today()),
                   recovery_codes_left=models.RecoveryCode.remaining(current_user))
