"""Fixtures for the real-Chromium tests: the app served by waitress in a background
thread on a fresh database per test (CSRF protection stays on), one headless
Debian Chromium per module and a new browser context per test."""

import os
import threading
from pathlib import Path

import pytest
import waitress
from waitress import wasyncore

import app as app_module
import models
from security import clock as the_clock
from tests.databases import database_url

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BROWSER_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "browser-test-secret-key",
    "ARGON2_COST": (1, 64),
    "RATELIMIT_ENABLED": False,
    "BASE_URL": "http://127.0.0.1",  # replaced by the server's own address once it has a port
    # WTF_CSRF_ENABLED is left at its default (on): the real forms carry the token.
}


class LiveServer:
    """The portal on 127.0.0.1 at a free port, served by waitress from a thread."""

    def __init__(self, database: Path, **config):
        self.app = app_module.create_app({**BROWSER_CONFIG, "DATABASE_URL": database_url(database),
                                          "OIDC_KEY_FILE": str(database.parent / "oidc_keys.json"), **config})
        self.server = waitress.create_server(self.app, host="127.0.0.1", port=0, threads=4,
                                             ident="portal-asn-test")
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        # Mailed links and the trusted host follow the address the server got.
        self.app.config.update(BASE_URL=self.url, TRUSTED_HOSTS=[self.url.removeprefix("http://")])
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)
        self.thread.start()

    def stop(self):
        # Closing every socket from inside the server's own loop (a trigger thunk) makes
        # the loop's map empty, so run() returns at once instead of at its next timeout.
        self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
        self.thread.join(timeout=10)
        self.server.task_dispatcher.shutdown(timeout=5)
        if not models.db.is_closed():
            models.db.close()
        assert not self.thread.is_alive(), "the live server thread did not stop"
        assert not self.server.task_dispatcher.threads, "waitress worker threads still running"

    def employee(self, **overrides) -> models.Employee:
        from tests.helpers import make_employee

        with models.db.connection_context():
            return make_employee(**overrides)


@pytest.fixture
def live_server(tmp_path):
    server = LiveServer(tmp_path / "portal.db")
    yield server
    server.stop()


@pytest.fixture
def clock():
    """The server's clock (the live server runs in this process). Always unfrozen after."""
    yield the_clock
    the_clock.unfreeze()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture(params=[True, False], ids=["js-on", "js-off"])
def java_script_enabled(request):
    return request.param


@pytest.fixture
def page(browser, live_server, java_script_enabled):
    """A new page in its own context (own cookies) with the base URL of this test's
    server. Depends on live_server so that it closes before the server stops."""
    context = browser.new_context(base_url=live_server.url, java_script_enabled=java_script_enabled,
                                  locale="id-ID", timezone_id="Asia/Jakarta",
                                  viewport={"width": 800, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
