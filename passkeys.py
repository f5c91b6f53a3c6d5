"""Passkey ceremonies (WebAuthn, with py_webauthn): the options the browser gets and the
check of what it answers. The portal's public address (ASN_BASE_URL) is the relying
party: its host name is the RP ID and its scheme://host[:port] the one origin accepted,
so a passkey answer made on a look-alike site is refused. Each challenge lives in the
session for a few minutes and is used once, so an answer cannot be replayed."""

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app, request, session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

import models
from security import now

CHALLENGE_MINUTES = 5
MAX_ANSWER = 16_000  # characters of the browser's JSON answer; real ones are under 2,000
BAD_INPUT = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


def relying_party() -> tuple[str, str]:
    """(RP ID, origin) from the portal's public address (the request's in demo mode
    without one)."""
    base = urlsplit(current_app.config["BASE_URL"] or request.host_url)
    return base.hostname, f"{base.scheme}://{base.netloc}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _remember(purpose: str, challenge: bytes) -> None:
    session["passkey"] = {"purpose": purpose, "challenge": _b64(challenge),
                          "until": (now() + timedelta(minutes=CHALLENGE_MINUTES)).isoformat()}


def _take_challenge(purpose: str) -> bytes | None:
    """The challenge issued for `purpose`, removed from the session whatever comes next."""
    stored = session.pop("passkey", None)
    if not stored or stored.get("purpose") != purpose or datetime.fromisoformat(stored["until"]) < now():
        return None
    return _unb64(stored["challenge"])


def _descriptor(passkey) -> PublicKeyCredentialDescriptor:
    known = {t.value for t in AuthenticatorTransport}
    return PublicKeyCredentialDescriptor(
        id=_unb64(passkey.credential_id),
        transports=[AuthenticatorTransport(t) for t in passkey.transports.split(",") if t in known] or None)


def registration_options(account) -> str:
    """Options (JSON) for navigator.credentials.create(): user verification required,
    a discoverable credential preferred (then the NIP need not be typed), no attestation,
    and not again on an authenticator that already holds one of the account's passkeys."""
    rp_id, _ = relying_party()
    employee = account.employee
    options = generate_registration_options(
        rp_id=rp_id, rp_name="Portal ASN Digital", user_name=employee.nip, user_display_name=employee.nama,
        user_id=account.subject_id().encode(), attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.PREFERRED,
                                                               user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[_descriptor(p) for p in models.Passkey.of(account)])
    _remember("register", options.challenge)
    return options_to_json(options)


def sign_in_options(account=None) -> str:
    """Options (JSON) for navigator.credentials.get(): for the second factor the pending
    account's passkeys; for a sign-in without NIP any passkey the phone holds for the portal."""
    rp_id, _ = relying_party()
    allowed = [_descriptor(p) for p in models.Passkey.of(account)] if account else []
    options = generate_authentication_options(rp_id=rp_id, allow_credentials=allowed,
                                              user_verification=UserVerificationRequirement.REQUIRED)
    _remember("second_factor" if account else "sign_in", options.challenge)
    return options_to_json(options)


@dataclass(frozen=True)
class NewPasskey:
    credential_id: str
    public_key: str
    sign_count: int
    transports: str


def verify_registration(answer: str) -> NewPasskey | None:
    """The browser's answer to registration_options, checked; None when it is not valid
    (wrong origin or challenge, no user verification, malformed, or too late)."""
    challenge = _take_challenge("register")
    if challenge is None or not answer or len(answer) > MAX_ANSWER:
        return None
    rp_id, origin = relying_party()
    try:
        verified = verify_registration_response(credential=answer, expected_challenge=challenge,
                                                expected_rp_id=rp_id, expected_origin=origin,
                                                require_user_verification=True)
        transports = json.loads(answer).get("response", {}).get("transports") or []
    except BAD_INPUT:
        return None
    known = {t.value for t in AuthenticatorTransport}
    return NewPasskey(credential_id=_b64(verified.credential_id), public_key=_b64(verified.credential_public_key),
                      sign_count=verified.sign_count,
                      transports=",".join(t for t in transports if isinstance(t, str) and t in known))


@dataclass(frozen=True)
class Assertion:
    """What a passkey answer turned out to be. `result`: "ok"; "expired" (no challenge
    waiting: too late, or the same answer sent again); "unknown" (no such passkey, or
    not the account's); "invalid" (wrong origin, signature or challenge, no user
    verification, malformed); "cloned" (the signature counter did not go up)."""

    result: str
    passkey: object = None

    @property
    def passed(self) -> bool:
        return self.result == "ok"


def verify_assertion(answer: str, account=None) -> Assertion:
    """The browser's answer to sign_in_options(account), checked, and its use recorded."""
    challenge = _take_challenge("second_factor" if account else "sign_in")
    if challenge is None:
        return Assertion("expired")
    if not answer or len(answer) > MAX_ANSWER:
        return Assertion("invalid")
    try:
        credential = parse_authentication_credential_json(answer)
    except BAD_INPUT:
        return Assertion("invalid")
    passkey = models.Passkey.by_credential_id(credential.id)
    if passkey is None or (account is not None and passkey.account_id != account.id):
        return Assertion("unknown")
    rp_id, origin = relying_party()
    try:
        # The counter is checked below, in one compare-and-set with the database.
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origin,
            credential_public_key=_unb64(passkey.public_key), credential_current_sign_count=0,
            require_user_verification=True)
    except BAD_INPUT:
        return Assertion("invalid", passkey)
    if not passkey.claim_use(verified.new_sign_count):
        return Assertion("cloned", passkey)
    return Assertion("ok", passkey)
