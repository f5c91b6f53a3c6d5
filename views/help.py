"""Help pages (Bantuan)."""

from flask import Blueprint, current_app

from views import respond

bp = Blueprint("help", __name__)


@bp.get("/autentikator-hilang")
def lost_authenticator():
    return respond("help/lost_authenticator.html", "content",
                   contact=current_app.config["HELPDESK_CONTACT"])
