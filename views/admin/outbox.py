"""The queue of outgoing messages."""


from flask import (
    request,
)

import models
from views import paginate, respond
from views.admin import admin_only, bp

# What the outbox page lists under each tab: never the messages already sent.
MESSAGE_TABS = {"antre": ("Dalam antrean", ("pending", "sending")),
                "gagal": ("Gagal", ("failed",)),
                "tanpa-server": ("Tidak dikirim (tanpa server surel/SMS)", ("outbox",))}
MESSAGES_PER_PAGE = 50


@bp.get("/pesan")
@admin_only
def messages():
    tab = request.args.get("status", "antre")
    if tab not in MESSAGE_TABS:
        tab = "antre"
    page, pager = paginate(models.Message.with_status(MESSAGE_TABS[tab][1]), MESSAGES_PER_PAGE)
    return respond("admin/messages.html", "console", messages=list(page), pager=pager, tabs=MESSAGE_TABS,
                   shown_tab=tab, max_attempts=models.Message.MAX_ATTEMPTS)


