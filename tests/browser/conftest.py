"""Fixtures for the real-Chromium tests: the portal served on a real port on a fresh
database per test (CSRF protection stays on; see tests/live.py), one headless Debian
Chromium per module and a new browser context per test."""

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from security import clock as the_clock
from tests import mailserver
from tests.live import live_portal

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def live_server(tmp_path):
    with live_portal(tmp_path / "portal.db") as server:
        yield server


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


@pytest.fixture
def smtp():
    """A real SMTP server on a free loopback port; stopped after the live server."""
    controller, inbox = mailserver.start()
    try:
        yield SimpleNamespace(port=controller.port, inbox=inbox)
    finally:
        controller.stop()
