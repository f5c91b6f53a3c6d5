"""Per-IP limits shared by several processes through Redis, and in-memory limits when
Redis is unreachable."""

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import TEST_CONFIG
from tests.databases import database_url
from tests.helpers import NIP

ROOT = Path(__file__).resolve().parent.parent
SERVE = ("import json, os, sys, waitress, app; "
         "waitress.serve(app.create_app(json.loads(os.environ['PORTAL_TEST_CONFIG'])), "
         "host='127.0.0.1', port=int(sys.argv[1]), threads=2)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url():
    """bin/test's throwaway Redis, else one started here when redis-server exists."""
    if os.environ.get("ASN_TEST_REDIS_URL"):
        yield os.environ["ASN_TEST_REDIS_URL"]
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (bin/test installs Debian's redis-server)")
    port = free_port()
    server = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=10)


def post_login(port: int) -> int:
    body = urllib.parse.urlencode({"nip": NIP, "password": "salah-sekali"}).encode()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", data=body, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def start_portal(config: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], cwd=ROOT,
                               env={**os.environ, "PORTAL_TEST_CONFIG": json.dumps(config)})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1).close()
            return process, port
        except OSError:
            assert process.poll() is None, "the portal process stopped"
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the portal did not start")


def test_two_processes_share_the_per_ip_login_limit_through_redis(tmp_path, redis_url):
    config = {**TEST_CONFIG, "DATABASE_URL": database_url(tmp_path / "portal.db"), "RATELIMIT_ENABLED": True,
              "RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex,
              "LOGIN_RATE_LIMIT": "3/minute", "BASE_URL": "http://127.0.0.1"}
    first, first_port = start_portal(config)
    try:
        second, second_port = start_portal(config)
        try:
            # Two attempts at each process: alone, neither reaches 3; together they pass it.
            statuses = [post_login(port) for port in (first_port, second_port, first_port, second_port)]
        finally:
            second.terminate()
            second.wait(timeout=10)
    finally:
        first.terminate()
        first.wait(timeout=10)
    assert statuses == [422, 422, 422, 429]


def test_redis_down_falls_back_to_in_memory_limits(make_app, caplog):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",
                   LOGIN_RATE_LIMIT="2/minute")
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="flask-limiter"):
        statuses = [client.post("/login", data={"nip": NIP, "password": "salah-sekali"}).status_code
                    for _ in range(3)]
    assert statuses == [422, 422, 429]
    assert "falling back to in-memory storage" in caplog.text
