"""Single sign-on: the OpenID Connect endpoints (discovery, keys, authorization with the
consent page, token, userinfo, revocation, end session). The protocol itself is
Authlib's (oidc.py); here are the decisions: who must sign in again, what the employee
agreed to, and what the audit log records."""

from datetime import UTC

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

import models
import oidc
import security
from security import now
from views import audit
from views.signin import sign_out

bp = Blueprint("oidc", __name__)

AUTH_AFTER = "auth_after"  # added to the request sent through the login: "signed in since"


@bp.record_once
def _machine_endpoints_without_csrf(state):
    # Apps call these with their own credentials (client secret, PKCE, bearer token),
    # never with a portal form.
    for view in (token, userinfo, revoke):
        state.app.extensions["csrf"].exempt(view)


# --------------------------------------------------------------------------- discovery and keys


@bp.get("/.well-known/openid-configuration")
def discovery():
    base = oidc.issuer()
    return jsonify({
        "issuer": base,
        "authorization_endpoint": base + url_for("oidc.authorize"),
        "token_endpoint": base + url_for("oidc.token"),
        "userinfo_endpoint": base + url_for("oidc.userinfo"),
        "jwks_uri": base + url_for("oidc.jwks"),
        "revocation_endpoint": base + url_for("oidc.revoke"),
        "end_session_endpoint": base + url_for("oidc.end_session"),
        "scopes_supported": list(models.OIDC_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [oidc.ALGORITHM],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "name",
                             "email", "email_verified", "phone_number", "phone_number_verified", "nip",
                             "jenis_asn", "status", "instansi", "unit_kerja", "jabatan", "pangkat", "golongan"],
        "acr_values_supported": [oidc.ACR],
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "ui_locales_supported": ["id"],
    })


@bp.get("/oidc/jwks")
def jwks():
    return jsonify(oidc.public_jwks())


# --------------------------------------------------------------------------- authorization


def _refuse(error: OAuth2Error, oauth_request=None, account=None):
    """An error the app may hear about (its redirect URI is proven) goes back to it; any
    other is shown here, and nobody is sent anywhere."""
    client_id = request.values.get("client_id", "")[:64]
    audit("oidc.refused", account=account, detail=f"{client_id}: {error.error} {error.description or ''}"[:255])
    if error.redirect_uri:
        return _to_app(oidc.server().handle_error_response(oauth_request, error))
    return render_template("oidc/refused.html", error=error.error), 400


def _to_app(response):
    """A redirect to an app. Inside a chain that began with one of the portal's own forms
    (the sign-in, the consent), a page that moves on by itself instead: browsers apply the
    form's Content-Security-Policy (form-action 'self') to every redirect of the chain."""
    if response.status_code == 302 and (request.method == "POST"
                                        or request.headers.get("Sec-Fetch-Site") == "same-origin"):
        return render_template("oidc/continue.html", url=response.headers["Location"])
    return response


def _signed_in_since(record):
    return int(record.created_at.replace(tzinfo=UTC).timestamp())


def _needs_fresh_login(account, prompts) -> bool:
    """prompt=login and max_age ask for a sign-in newer than the one this browser has,
    unless the request has just been through one (auth_after)."""
    auth_time = _signed_in_since(account.current_session)
    after = request.args.get(AUTH_AFTER, type=int)
    if after is not None and auth_time >= after:
        return False
    if "login" in prompts:
        return True
    max_age = request.args.get("max_age", type=int)
    return max_age is not None and int(now().replace(tzinfo=UTC).timestamp()) - auth_time > max_age


def _to_login(fresh: bool):
    args = request.args.to_dict(flat=False)
    if fresh:
        args[AUTH_AFTER] = [str(int(now().replace(tzinfo=UTC).timestamp()))]
    hint = security.normalize_nip(request.args.get("login_hint", "")[:64])  # the app may name the NIP
    return redirect(url_for("auth.login", next=url_for("oidc.authorize", **args),
                            nip=hint if len(hint) == 18 and hint.isdigit() else None))


def _validated_grant(account):
    try:
        return oidc.server().get_consent_grant(end_user=account)
    except ValueError as error:  # authlib will not quote a control character in an error's description
        raise InvalidRequestError() from error


@bp.get("/oidc/authorize")
def authorize():
    account = current_user._get_current_object() if current_user.is_authenticated else None
    try:
        grant = _validated_grant(account)
    except OAuth2Error as error:
        return _refuse(error, account=account)
    client = grant.client
    prompts = set(request.args.get("prompt", "").split())
    if account is None or _needs_fresh_login(account, prompts):
        if "none" in prompts:
            return _refuse(LoginRequiredError(redirect_uri=grant.redirect_uri, state=grant.request.payload.state),
                           grant.request, account)
        return _to_login(fresh=account is not None)
    if not account.employee.is_active:
        return _refuse(OAuth2Error(error="access_denied", description="inactive employee",
                                   redirect_uri=grant.redirect_uri, state=grant.request.payload.state),
                       grant.request, account)
    scope = grant.request.scope
    if client.is_pre_approved or ("consent" not in prompts and models.OidcConsent.covers(account, client, scope)):
        return _issue(grant, account)
    if "none" in prompts:
        return _refuse(ConsentRequiredError(redirect_uri=grant.redirect_uri, state=grant.request.payload.state),
                       grant.request, account)
    return _consent_page(client, scope)


def _consent_page(client, scope, status=200):
    fields = [(name, value) for name, values in request.values.lists() for value in values
              if name not in ("csrf_token", "keputusan")]
    response = current_app.make_response((render_template(
        "oidc/consent.html", client=client, labels=[models.SCOPE_LABELS[s] for s in models.scope_list(scope)],
        fields=fields), status))
    return response


@bp.post("/oidc/authorize")
def authorize_post():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"), code=303)
    account = current_user._get_current_object()
    try:
        grant = _validated_grant(account)
    except OAuth2Error as error:
        return _refuse(error, account=account)
    client = grant.client
    decision = request.form.get("keputusan")
    if decision == "izinkan" and account.employee.is_active:
        models.OidcConsent.grant(account, client, grant.request.scope)
        audit("oidc.consent_given", account=account, detail=f"{client.name}: {grant.request.scope}")
        return _issue(grant, account)
    if decision == "tolak":
        audit("oidc.consent_refused", account=account, detail=client.name)
        return _to_app(oidc.server().create_authorization_response(grant=grant, grant_user=None))
    return _consent_page(client, grant.request.scope, 422)


def _issue(grant, account):
    client = grant.client
    if client.is_pre_approved:
        models.OidcConsent.grant(account, client, grant.request.scope)
    else:
        models.OidcConsent.update(last_used_at=now()).where((models.OidcConsent.account == account.id)
                                                            & (models.OidcConsent.client == client.id)).execute()
    audit("oidc.authorized", account=account, detail=f"{client.name}: {grant.request.scope}")
    return _to_app(oidc.server().create_authorization_response(grant=grant, grant_user=account))


# --------------------------------------------------------------------------- machine endpoints


@bp.post("/oidc/token")
def token():
    response = oidc.server().create_token_response()
    if response.status_code != 200:
        refused = g.get("oidc_code_refused")
        payload = response.get_json(silent=True) or {}
        client_id = request.authorization.username if request.authorization else request.form.get("client_id", "")
        audit("oidc.token_refused", detail=f"{client_id[:64]}: {payload.get('error', '')}"
                                           + (f" (kode {refused})" if refused else ""))
    return response


@bp.route("/oidc/userinfo", methods=["GET", "POST"])
def userinfo():
    return oidc.server().create_endpoint_response("userinfo")


@bp.post("/oidc/revoke")
def revoke():
    return oidc.server().create_endpoint_response("revocation")


# --------------------------------------------------------------------------- end session (RP-Initiated Logout)


@bp.get("/oidc/logout")
def end_session():
    try:
        logout = oidc.server().validate_endpoint_request("end_session")
    except OAuth2Error:
        return render_template("oidc/refused.html", error="invalid_request"), 400
    if not current_user.is_authenticated:
        return _after_logout(logout)
    hinted = (logout.id_token_claims or {}).get("sub")
    if logout.needs_confirmation or hinted != current_user.subject_id():
        return render_template("oidc/logout_confirm.html", client=logout.client,
                               fields=[(k, v) for k, v in request.args.items(multi=True)])
    audit("oidc.logout", account=current_user, detail=logout.client.name if logout.client else "")
    sign_out()
    return _after_logout(logout)


@bp.post("/oidc/logout")
def end_session_post():
    try:
        logout = oidc.server().validate_endpoint_request("end_session")
    except OAuth2Error:
        return render_template("oidc/refused.html", error="invalid_request"), 400
    if current_user.is_authenticated:
        audit("oidc.logout", account=current_user, detail=logout.client.name if logout.client else "")
        sign_out()
    return _after_logout(logout)


def _after_logout(logout):
    response = oidc.server().create_endpoint_response("end_session", logout)
    if response is not None:
        return _to_app(response)
    return render_template("oidc/logged_out.html", client=logout.client)
