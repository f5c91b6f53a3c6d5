"""Servers on a real port of 127.0.0.1, run by waitress from a thread of the test process
(so the test's frozen clock and database are the server's): the portal for Chromium and
for requests the portal makes to itself, and small apps the portal talks to."""

import contextlib
import threading
from pathlib import Path

import waitress
from waitress import wasyncore

import app as app_module
import models
from tests.databases import database_url

LIVE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "live-test-secret-key",
    "ARGON2_COST": (1, 64),
    "RATELIMIT_ENABLED": False,
    "BASE_URL": "http://127.0.0.1",  # until the server has its port
    # WTF_CSRF_ENABLED is left at its default (on): the real forms carry the token.
}


class ThreadedServer:
    """A WSGI app under waitress (with the given waitress `options`) at a free port. The
    port is taken at once (`url` is known before start()); stop() ends the loop and every
    worker thread."""

    def __init__(self, wsgi, name: str, **options):
        self.server = waitress.create_server(wsgi, **{"ident": name, "threads": 4, **options,
                                                      "host": "127.0.0.1", "port": 0})
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        if self.thread.is_alive():
            # Closing every socket from inside the server's own loop (a trigger thunk) leaves
            # the loop's map empty, so run() returns at once instead of at its next timeout.
            with contextlib.suppress(OSError):  # a closed trigger: the loop is ending on its own
                self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
            self.thread.join(timeout=10)
        else:
            self.server.close()
        self.server.task_dispatcher.shutdown(timeout=5)
        assert not self.thread.is_alive(), f"{self.thread.name} did not stop"
        assert not self.server.task_dispatcher.threads, f"{self.thread.name}: worker threads still running"


class LiveServer:
    """The portal on a database of its own, in demo mode or not, its mail sent to an SMTP
    server on `smtp_port` when given. Made before it serves, so that a test can prepare
    data through `app` first; start() points BASE_URL and TRUSTED_HOSTS at its address."""

    def __init__(self, database: Path, *, demo: bool = False, smtp_port: int | None = None, **config):
        mail = {"MAIL_URL": f"smtp://127.0.0.1:{smtp_port}"} if smtp_port else {}
        self.app = app_module.create_app({**LIVE_CONFIG, "DEMO": demo, **mail, **config,
                                          "DATABASE_URL": database_url(database),
                                          "OIDC_KEY_FILE": str(database.parent / f"{database.stem}-oidc-keys.json")})
        self.http = ThreadedServer(self.app, name="portal-asn-test")
        self.url = self.http.url

    def start(self):
        self.app.config.update(BASE_URL=self.url, TRUSTED_HOSTS=[self.url.removeprefix("http://")])
        self.http.start()
        return self

    def stop(self):
        self.http.stop()
        if not models.db.is_closed():
            models.db.close()

    def employee(self, **overrides) -> models.Employee:
        from tests.helpers import make_employee

        with models.db.connection_context():
            return make_employee(**overrides)


@contextlib.contextmanager
def live_portal(database: Path, **options):
    """The portal serving (LiveServer's options) until the block ends."""
    server = LiveServer(database, **options).start()
    try:
        yield server
    finally:
        server.stop()
