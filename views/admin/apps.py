"""Connected apps (single sign-on): registering them, their secrets, switching them off."""


from flask import (
    abort,
    current_app,
    flash,
    render_template,
    request,
)
from flask_login import current_user

import fields
import models
from security import now
from views import audit, go, respond
from views.admin import admin_only, bp


def _apps_page(status=200, errors=None, form=None):
    return respond("admin/apps.html", "console", status, clients=list(models.OidcClient.listing()),
                   errors=errors or {}, form=form or {}, issuer=current_app.config["BASE_URL"] or request.url_root)


@bp.get("/aplikasi")
@admin_only
def apps():
    return _apps_page()


@bp.post("/aplikasi")
@admin_only
def app_add():
    form = {"name": fields.squashed(request.form.get("name"), 100),
            "redirect_uris": request.form.get("redirect_uris", "")[:4000],
            "post_logout_redirect_uris": request.form.get("post_logout_redirect_uris", "")[:4000],
            "backchannel_logout_uri": request.form.get("backchannel_logout_uri", "").strip()[:500],
            "is_public": bool(request.form.get("is_public")),
            "is_pre_approved": bool(request.form.get("is_pre_approved"))}
    redirect_uris = form["redirect_uris"].split()
    post_logout_uris = form["post_logout_redirect_uris"].split()
    errors = {}
    if not form["name"]:
        errors["name"] = "Isi nama aplikasi, misalnya \"e-Kinerja\"."
    problems = models.OidcClient.uri_problems(redirect_uris, form["backchannel_logout_uri"], post_logout_uris)
    if problems:
        errors["redirect_uris"] = " ".join(problems)
    if errors:
        return _apps_page(422, errors, form)
    client, secret = models.OidcClient.register(
        form["name"], redirect_uris, is_public=form["is_public"], is_pre_approved=form["is_pre_approved"],
        backchannel_logout_uri=form["backchannel_logout_uri"], post_logout_redirect_uris=post_logout_uris)
    audit("oidc.client_added", actor=current_user,
          detail=f"{client.name} ({client.client_id}); " + ("publik" if client.is_public else "rahasia")
                 + ("; tanpa halaman izin" if client.is_pre_approved else ""))
    return render_template("admin/app_secret.html", client=client, secret=secret, is_new=True)


def _client_or_404(client_id):
    return models.OidcClient.get_or_none(models.OidcClient.id == client_id) or abort(404)


@bp.post("/aplikasi/<int:client_id>/rahasia")
@admin_only
def app_secret_rotate(client_id):
    client = _client_or_404(client_id)
    if client.is_public:
        abort(404)
    secret = client.rotate_secret()
    audit("oidc.client_secret_rotated", actor=current_user, detail=f"{client.name} ({client.client_id})")
    return render_template("admin/app_secret.html", client=client, secret=secret, is_new=False)


@bp.post("/aplikasi/<int:client_id>/status")
@admin_only
def app_toggle(client_id):
    client = _client_or_404(client_id)
    client.is_disabled = not client.is_disabled
    client.save()
    if client.is_disabled:
        models.OidcToken.update(revoked_at=now()).where((models.OidcToken.client == client.id)
                                                        & models.OidcToken.revoked_at.is_null()).execute()
    audit("oidc.client_disabled" if client.is_disabled else "oidc.client_enabled", actor=current_user,
          detail=f"{client.name} ({client.client_id})")
    flash(f"{client.name} dinonaktifkan: tidak dapat lagi memakai portal untuk masuk." if client.is_disabled
          else f"{client.name} diaktifkan kembali.", "success")
    return go("admin.apps")


