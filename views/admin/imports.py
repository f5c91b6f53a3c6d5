"""CSV upload of employees and of their career history."""


from flask import (
    current_app,
    request,
)
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

import models
from views import audit, respond
from views.admin import admin_only, bp

UPLOAD_ERRORS_SHOWN = 200

UPLOAD_ROW_BYTES = 300  # a row with long names, units and positions; most are shorter


def upload_limit_text() -> str:
    """"64 MB (sekitar 220.000 baris)": what ASN_MAX_UPLOAD_LENGTH really allows."""
    limit = current_app.config["MAX_UPLOAD_LENGTH"]
    rows = limit // UPLOAD_ROW_BYTES // 1000 * 1000
    return f"{limit // 2**20} MB (sekitar {rows:,} baris)".replace(",", ".")


def _upload_page(status=200, errors=None, report=None):
    return respond("admin/upload.html", "console", status, errors=errors or {}, report=report,
                   shown=UPLOAD_ERRORS_SHOWN, header=",".join(models.CSV_HEADER), limit=upload_limit_text())


@bp.get("/pegawai/unggah")
@admin_only
def upload():
    return _upload_page()


def read_upload(limit: int):
    """The uploaded file `berkas`, read under `limit` bytes instead of the site-wide
    limit. The global CSRF check would read the body under that smaller limit before the
    view runs, so upload views are exempt from it (see below) and check CSRF here, after
    the role check and the raised limit. Raises RequestEntityTooLarge."""
    request.max_content_length = limit
    if current_app.config["WTF_CSRF_ENABLED"]:
        current_app.extensions["csrf"].protect()
    return request.files.get("berkas")


@bp.post("/pegawai/unggah")
@admin_only
def upload_post():
    try:
        upload = read_upload(current_app.config["MAX_UPLOAD_LENGTH"])
    except RequestEntityTooLarge:
        return _upload_page(413, {"berkas": (
            f"Berkas terlalu besar. Batasnya {upload_limit_text()}. Bagi "
            "berkas menjadi beberapa bagian, lalu unggah satu per satu.")})
    return _import(upload, models.import_employees, "employees.imported", _upload_page)


def _import(upload, importer, event: str, page):
    """Run `importer` on an uploaded CSV, audit it, and show `page` with the report."""
    if upload is None or not upload.filename:
        return page(422, {"berkas": "Pilih berkas CSV yang akan diunggah."})
    report = importer(upload.stream)
    audit(event, actor=current_user, detail=f"{upload.filename[:80]}: {report.created} baru, "
                                            f"{report.updated} diperbarui, {report.rejected} baris ditolak")
    return page(422 if report.rejected and not report.imported else 200, report=report)


def _history_page(status=200, errors=None, report=None):
    return respond("admin/upload_history.html", "console", status, errors=errors or {}, report=report,
                   shown=UPLOAD_ERRORS_SHOWN, header=",".join(models.HISTORY_HEADER))


@bp.get("/riwayat/unggah")
@admin_only
def history_upload():
    return _history_page()


@bp.post("/riwayat/unggah")
@admin_only
def history_upload_post():
    return _import(request.files.get("berkas"), models.import_history, "history.imported", _history_page)


bp.record_once(lambda state: state.app.extensions["csrf"].exempt(upload_post))
