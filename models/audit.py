"""The audit trail: every authentication decision, never a password, code or secret."""

from collections import namedtuple
from datetime import datetime

from peewee import (
    CharField,
    DateTimeField,
    ForeignKeyField,
)

from security import now

from .account import Account
from .base import BaseModel, count_prebuilt, run_prebuilt

Listed = namedtuple("Listed", "created_at event nip actor_nip ip detail")  # an event on the console's audit page


class AuditEvent(BaseModel):
    """Every authentication decision. Never holds a password, OTP or secret."""

    created_at = DateTimeField(default=now, index=True)
    event = CharField()
    nip = CharField(default="")
    account = ForeignKeyField(Account, null=True, backref="audit_events", on_delete="SET NULL")
    ip = CharField(default="")
    user_agent = CharField(default="")
    detail = CharField(default="")
    actor_nip = CharField(null=True)  # the helpdesk/admin operator, if any

    class Meta:
        # Each filter of the audit page walks one index newest first, whatever the table's size.
        indexes = ((("event", "created_at"), False), (("nip", "created_at"), False),
                   (("actor_nip", "created_at"), False))

    @classmethod
    def record(cls, event: str, *, nip="", account=None, ip="", user_agent="", detail="",
               actor_nip=None) -> None:
        # Its SQL is built once: every step of every sign-in writes one.
        run_prebuilt("AuditEvent.record", lambda: cls.insert(
            created_at=now(), event="", nip="", account=None, ip="", user_agent="", detail="", actor_nip=None),
            [now(), event, nip[:32], account.id if account is not None else None, ip[:64], user_agent[:255],
             detail[:255], actor_nip])

    SIGN_IN_EVENTS = ("login.ok", "login.failed", "login.locked", "login.inactive", "otp.failed",
                      "otp.replayed", "recovery_code.used", "recovery_code.failed", "account.locked",
                      "logout", "passkey.used", "passkey.failed", "passkey.cloned")

    @classmethod
    def for_nip(cls, nip: str):
        return cls.select().where(cls.nip == nip).order_by(cls.created_at.desc(), cls.id.desc())

    @classmethod
    def sign_ins(cls, account, limit=20):
        return (cls.select().where((cls.account == account) & cls.event.in_(cls.SIGN_IN_EVENTS))
                .order_by(cls.id.desc()).limit(limit))

    @classmethod
    def search(cls, *, nip="", event="", start=None, end=None):
        """Newest first. `nip` matches the employee concerned or the operator who acted;
        `start` and `end` are datetimes, `end` exclusive."""
        query = cls.select().order_by(cls.created_at.desc(), cls.id.desc())
        if nip:
            query = query.where((cls.nip == nip) | (cls.actor_nip == nip))
        if event:
            query = query.where(cls.event == event)
        if start:
            query = query.where(cls.created_at >= start)
        if end:
            query = query.where(cls.created_at < end)
        return query

    @classmethod
    def listing(cls, limit: int, offset: int, **filters) -> list[Listed]:
        """`search` for the console's audit page: `limit` events from `offset`, with only
        what the page shows. Its SQL is built once for each set of filters."""
        given, params = cls._filter_values(filters)
        columns = [getattr(cls, name) for name in Listed._fields]
        rows = run_prebuilt(f"audit events by {given}", lambda: cls._stand_in(given).select(*columns)
                            .limit(1).offset(0), [*params, limit, offset])
        to_time = cls.created_at.python_value
        return [Listed(to_time(created_at), *rest) for created_at, *rest in rows]

    @classmethod
    def listing_count(cls, cap: int, **filters) -> int:
        """How many events `search` finds, counting at most `cap`."""
        given, params = cls._filter_values(filters)
        return count_prebuilt(f"audit events by {given}", lambda: cls._stand_in(given).select(cls.id), params, cap)

    _STAND_INS = {"nip": "0", "event": "-", "start": datetime(2000, 1, 1), "end": datetime(2000, 1, 2)}

    @classmethod
    def _filter_values(cls, filters: dict) -> tuple[tuple, list]:
        """The filters of `search` that are set, and their values in the order its query takes them."""
        given = tuple(name for name in cls._STAND_INS if filters.get(name))
        params = []
        for name in given:
            value = filters[name]
            params += ([value, value] if name == "nip" else [value] if name == "event"
                       else [cls.created_at.db_value(value)])
        return given, params

    @classmethod
    def _stand_in(cls, given: tuple):
        """`search` with the filters `given`, each with a stand-in value."""
        return cls.search(**{name: cls._STAND_INS[name] for name in given})


# The words for each audit event, for the console and the employee's own security page.
# Every event the portal records has one (tests/test_audit_labels.py).
EVENT_LABELS = {
    "login.ok": "masuk berhasil", "login.password_ok": "kata sandi benar, menunggu OTP",
    "login.failed": "masuk gagal", "login.locked": "percobaan saat terkunci",
    "login.inactive": "ditolak: status tidak aktif", "account.locked": "akun terkunci",
    "account.unlocked": "kunci dibuka helpdesk", "otp.ok": "OTP benar", "otp.failed": "OTP salah",
    "otp.replayed": "OTP dipakai ulang", "password.changed": "kata sandi diganti",
    "password.reset": "kata sandi sementara diberikan", "mfa.enrolled": "MFA diaktifkan",
    "mfa.enroll_failed": "aktivasi MFA gagal", "mfa.reset": "MFA diatur ulang",
    "sessions.ended": "semua sesi diakhiri", "role.changed": "peran diubah",
    "employee.updated": "data pegawai diubah", "employees.imported": "impor data pegawai",
    "audit.exported": "log audit diunduh", "logout": "keluar",
    "registration.started": "pendaftaran dimulai", "registration.failed": "pendaftaran ditolak",
    "registration.verified": "kode pendaftaran benar", "registration.code_failed": "kode pendaftaran salah",
    "registration.code_resent": "kode pendaftaran dikirim ulang",
    "registration.password_set": "kata sandi pendaftaran dibuat", "registration.activated": "akun diaktifkan",
    "login.not_activated": "ditolak: belum aktivasi", "password.reset_requested": "minta tautan atur ulang kata sandi",
    "recovery_code.used": "kode pemulihan dipakai", "recovery_code.failed": "kode pemulihan salah",
    "recovery_code.regenerated": "kode pemulihan dibuat ulang", "mfa.added": "autentikator ditambah",
    "mfa.removed": "autentikator dihapus", "session.ended": "sesi diakhiri pegawai",
    "reauth.failed": "konfirmasi kata sandi gagal", "contact.changed": "kontak diganti",
    "document.uploaded": "dokumen diunggah", "document.deleted": "dokumen dihapus",
    "document.downloaded": "dokumen diunduh", "history.imported": "impor riwayat",
    "request.started": "pengajuan layanan dibuat", "request.submitted": "pengajuan layanan diajukan",
    "request.document_added": "dokumen pengajuan diunggah", "request.document_removed": "dokumen pengajuan dihapus",
    "request.assigned": "pengajuan diambil pemeriksa", "request.diverifikasi": "pengajuan diverifikasi",
    "request.perlu_perbaikan": "pengajuan dikembalikan untuk diperbaiki", "request.disetujui": "pengajuan disetujui",
    "request.ditolak": "pengajuan ditolak", "request.digest_sent": "ringkasan pengajuan mingguan dikirim",
    "leave.requested": "cuti diajukan", "leave.disetujui": "cuti disetujui", "leave.ditolak": "cuti ditolak",
    "first_login.no_contact": "masuk pertama kali: tidak ada kontak tercatat",
    "first_login.verified": "masuk pertama kali: kode benar",
    "first_login.code_failed": "masuk pertama kali: kode salah",
    "first_login.code_resent": "masuk pertama kali: kode dikirim ulang", "reauth.locked": "konfirmasi saat terkunci",
    "registration.queued": "pendaftaran menunggu verifikasi", "registration.approved": "pendaftaran disetujui",
    "registration.rejected": "pendaftaran ditolak helpdesk", "activation_letters.printed": "surat aktivasi dicetak",
    "contact.change_requested": "minta ganti kontak", "contact.code_failed": "kode ganti kontak salah",
    "recovery_code.regenerate_failed": "buat ulang kode pemulihan gagal",
    "login.cancelled": "proses masuk dibatalkan", "demo.reset": "data demo dikembalikan",
    "demo.scenario": "skenario pelatihan", "demo.mfa_reset": "MFA demo diatur ulang",
    "oidc.authorized": "masuk ke aplikasi lewat portal", "oidc.refused": "permintaan aplikasi ditolak",
    "oidc.consent_given": "izin aplikasi diberikan", "oidc.consent_refused": "izin aplikasi ditolak pegawai",
    "oidc.consent_revoked": "akses aplikasi dicabut pegawai", "oidc.token_refused": "token aplikasi ditolak",
    "oidc.logout": "keluar atas permintaan aplikasi", "oidc.client_added": "aplikasi didaftarkan",
    "oidc.client_secret_rotated": "rahasia aplikasi diganti", "oidc.client_disabled": "aplikasi dinonaktifkan",
    "oidc.client_enabled": "aplikasi diaktifkan kembali", "oidc.key_rotated": "kunci tanda tangan SSO diganti",
    "passkey.added": "passkey ditambah", "passkey.removed": "passkey dihapus", "passkey.used": "passkey dipakai",
    "passkey.failed": "passkey ditolak", "passkey.cloned": "passkey ditolak: penghitung mundur (mungkin disalin)",
}



def event_label(event: str) -> str:
    return EVENT_LABELS.get(event, event)
