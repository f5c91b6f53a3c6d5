"""Peewee models and the domain rules that belong to them, one module per subject:
base (the database), employee (master data, history, documents), importer (CSV),
leave, requests (pengajuan layanan of every kind, their timeline and documents), kinds
(what each kind asks for and does), outbox (notifications and mail), account (password,
lockout, second factors), passkey (WebAuthn credentials), sessions (sign-in tokens,
sessions, known browsers), registration (activation letters and requests waiting for the
helpdesk), oidc (single sign-on), audit, storage (schema, backup, retention). Everything
the rest of the portal uses is named here."""

from .account import ROLES, TEMPORARY_PASSWORD_HOURS, Account, Authenticator, KeyCheck, RecoveryCode, SecondFactor
from .audit import EVENT_LABELS, AuditEvent, event_label
from .base import BaseModel, db, keyed_hash, open_database, use_secret_key
from .employee import STATUSES, Document, Employee, PositionHistory, RankHistory, is_pdf, nik_hash
from .importer import CSV_HEADER, HISTORY_HEADER, import_employees, import_history
from .kinds import GOLONGAN, KINDS, enabled_kinds, kind_label, next_golongan
from .leave import ANNUAL_LEAVE_DAYS, LEAVE_TYPES, LeaveRequest, working_days
from .oidc import (
    OIDC_SCOPES,
    SCOPE_LABELS,
    OidcClient,
    OidcCode,
    OidcConsent,
    OidcSignIn,
    OidcToken,
    client_secret_hash,
    scope_list,
)
from .outbox import Message, Notification
from .passkey import Passkey
from .registration import ACTIVATION_LETTER_DAYS, ActivationLetter, RegistrationRequest
from .requests import STATUS_LABELS, RequestDocument, RequestStep, ServiceRequest
from .sessions import SessionRecord, Token, TrustedDevice, UnknownNip
from .storage import ALL_MODELS, BackupError, backup, create_tables, is_empty, prepare_schema, purge, restore

__all__ = [
    "BaseModel", "db", "keyed_hash", "open_database", "use_secret_key", "Document", "Employee",
    "PositionHistory", "RankHistory", "STATUSES", "is_pdf", "nik_hash", "CSV_HEADER", "HISTORY_HEADER",
    "import_employees", "import_history", "ANNUAL_LEAVE_DAYS", "LEAVE_TYPES", "LeaveRequest", "working_days",
    "GOLONGAN", "KINDS", "enabled_kinds", "kind_label", "next_golongan", "STATUS_LABELS", "RequestDocument",
    "RequestStep", "ServiceRequest", "Message",
    "Notification", "Account", "Authenticator", "KeyCheck", "ROLES", "RecoveryCode", "SecondFactor",
    "TEMPORARY_PASSWORD_HOURS", "SessionRecord", "Token", "TrustedDevice", "UnknownNip",
    "Passkey", "ACTIVATION_LETTER_DAYS", "ActivationLetter", "RegistrationRequest", "OIDC_SCOPES", "OidcClient",
    "OidcCode", "OidcConsent", "OidcSignIn", "OidcToken", "SCOPE_LABELS", "client_secret_hash", "scope_list",
    "AuditEvent", "EVENT_LABELS", "event_label", "ALL_MODELS", "BackupError", "backup", "create_tables", "is_empty",
    "prepare_schema", "purge", "restore",
]
