"""The outgoing-message queue (models.Message, mail.deliver_due): a message cut off
mid-send is sent again, and admins see what waits or failed in the console."""

import pytest

import mail
import models
from tests import mailserver


@pytest.fixture
def smtp():
    controller, inbox = mailserver.start()
    yield controller, inbox
    controller.stop()


def _queued(**fields):
    with models.db.connection_context():
        return models.Message.create(**{"recipient": "budi@example.go.id", "subject": "Uji",
                                        "body": "Isi rahasia 123", **fields})


def test_message_left_sending_by_a_dead_process_is_sent_again(make_app, smtp, clock):
    controller, inbox = smtp
    app = make_app(MAIL_URL=f"smtp://127.0.0.1:{controller.port}")
    message = _queued()
    with models.db.connection_context():
        assert message.claim()  # the process that claimed it dies before sending
    clock.advance(minutes=4)
    assert mail.deliver_due(app) == 0  # it may still be on its way
    clock.advance(minutes=2)
    assert mail.deliver_due(app) == 1
    assert mailserver.text_of(inbox.wait_for("budi@example.go.id")).strip() == "Isi rahasia 123"
    with models.db.connection_context():
        assert models.Message.get_by_id(message.id).status == "sent"


def test_a_message_being_sent_is_not_claimed_twice(app, clock):
    message = _queued()
    with models.db.connection_context():
        assert message.claim()
        assert not models.Message.get_by_id(message.id).claim()
        assert list(models.Message.due()) == []


def test_send_mail_command_retries_what_is_due(make_app, smtp, clock):
    controller, inbox = smtp
    app = make_app(MAIL_URL=f"smtp://127.0.0.1:{controller.port}")
    _queued()
    result = app.test_cli_runner().invoke(args=["send-mail"])
    assert result.exit_code == 0 and "1 pesan terkirim" in result.output


def test_outbox_page_lists_waiting_and_failed_messages_without_bodies(as_role, clock):
    admin_client = as_role("admin")
    _queued(status="pending", subject="Kode verifikasi", body="Kode Anda 482913")
    _queued(status="failed", attempts=8, last_error="SMTPRecipientsRefused: 550 no such user",
            subject="Buat kata sandi baru", body="https://portal.test/reset/RahasiaTautan")
    _queued(status="sent", subject="Sudah terkirim")
    waiting = admin_client.get("/admin/pesan").get_data(as_text=True)
    assert "Kode verifikasi" in waiting and "Sudah terkirim" not in waiting and "1 pesan" in waiting
    failed = admin_client.get("/admin/pesan?status=gagal").get_data(as_text=True)
    assert "Buat kata sandi baru" in failed and "550 no such user" in failed and "<td>8</td>" in failed
    for page in (waiting, failed, admin_client.get("/admin/pesan?status=tanpa-server").get_data(as_text=True)):
        assert "482913" not in page and "RahasiaTautan" not in page and "Isi rahasia" not in page
    assert 'href="/admin/pesan"' in admin_client.get("/admin/pegawai").get_data(as_text=True)


def test_outbox_page_is_paginated(as_role, clock):
    admin_client = as_role("admin")
    with models.db.connection_context():
        models.Message.insert_many([{"recipient": f"p{i}@example.go.id", "subject": f"Pesan {i:03}", "body": "-",
                                     "status": "pending"} for i in range(60)]).execute()
    first = admin_client.get("/admin/pesan").get_data(as_text=True)
    second = admin_client.get("/admin/pesan?page=2").get_data(as_text=True)
    assert "Pesan 000" in first and "Pesan 059" not in first and "Halaman 1 dari 2" in first
    assert "Pesan 059" in second and "Pesan 000" not in second
    assert admin_client.get("/admin/pesan?page=x&status=<b>").status_code == 200


def test_outbox_page_is_for_admins_only(as_role):
    client = as_role("helpdesk")
    assert client.get("/admin/pesan").status_code == 403
    assert 'href="/admin/pesan"' not in client.get("/admin/pegawai").get_data(as_text=True)
