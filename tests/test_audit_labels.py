"""Every audit event the portal can write has an Indonesian label for the console and the
security page: the event names are read from the code itself, so a new one without a
label fails here."""

import ast
from pathlib import Path

from models import EVENT_LABELS
from views.admin.helpdesk import ACTIONS

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*ROOT.glob("*.py"), *(ROOT / "views").rglob("*.py"), *(ROOT / "models").glob("*.py")]
# Events whose name is built from a value: every value they can take.
BUILT = {"leave.": ["leave.disetujui", "leave.ditolak"],
         "registration.": ["registration.approved", "registration.rejected"],
         "request.": ["request.diverifikasi", "request.perlu_perbaikan", "request.disetujui", "request.ditolak"]}


def _is_audit_call(node: ast.Call) -> bool:
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "audit") or (
        isinstance(func, ast.Attribute) and func.attr == "record"
        and isinstance(func.value, ast.Attribute) and func.value.attr == "AuditEvent")


def emitted_events() -> set:
    events = {action.event for action in ACTIONS.values()}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not (isinstance(node, ast.Call) and _is_audit_call(node) and node.args):
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                events.add(first.value)
            elif isinstance(first, ast.JoinedStr):
                prefix = first.values[0].value if isinstance(first.values[0], ast.Constant) else ""
                assert prefix in BUILT, f"{path.name}:{node.lineno}: say which events f\"{prefix}…\" makes"
                events.update(BUILT[prefix])
    return events


def test_the_scan_finds_the_events_of_every_part():
    events = emitted_events()
    for expected in ("login.ok", "account.locked", "first_login.verified", "registration.approved",
                     "oidc.authorized", "mfa.reset", "leave.disetujui"):
        assert expected in events


def test_every_audit_event_has_an_indonesian_label():
    missing = sorted(emitted_events() - set(EVENT_LABELS))
    assert not missing, f"add these to models.EVENT_LABELS: {missing}"
