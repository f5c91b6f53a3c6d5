"""serving.py: the trusted reverse proxy (a real waitress server, and the middleware for
gunicorn), the access log with its request id, and logging with timestamps."""

import http.client
import logging
import os
from urllib.parse import urlsplit

import pytest
from flask import request

import models
import serving
from tests.helpers import NIP, login
from tests.live import ThreadedServer

FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
             "X-Forwarded-Host": "asn.instansi.go.id"}


def _probe(app):
    """A route that shows what the application sees of the client. The forwarded host and
    the direct address are both trusted hosts here."""
    app.config["TRUSTED_HOSTS"] = ["asn.instansi.go.id", "127.0.0.1", "localhost"]
    app.add_url_rule("/_probe", "probe", lambda: f"{request.remote_addr} {request.scheme} {request.host}")
    return app


@pytest.fixture
def serve():
    """Runs an app under a real waitress server on 127.0.0.1 with the options of
    `python app.py`; returns a function that sends one request and gives the response."""
    servers = []

    def start(app):
        server = ThreadedServer(app, "serving-test", **{**serving.waitress_options(app.config), "threads": 2}).start()
        servers.append(server)
        port = urlsplit(server.url).port

        def send(method, path, headers=None, body=None):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            response.text = response.read().decode()
            connection.close()
            return response
        return send

    yield start
    for server in servers:
        server.stop()


def test_waitress_takes_client_ip_scheme_and_host_from_the_trusted_proxy(make_app, serve):
    send = serve(_probe(make_app(TRUSTED_PROXY="127.0.0.1", WTF_CSRF_ENABLED=True)))
    assert send("GET", "/_probe", FORWARDED).text == "203.0.113.7 https asn.instansi.go.id"
    cookie = send("GET", "/login", FORWARDED).getheader("Set-Cookie")
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_waitress_ignores_forwarded_headers_from_any_other_address(make_app, serve):
    send = serve(_probe(make_app(TRUSTED_PROXY="10.1.2.3", WTF_CSRF_ENABLED=True)))
    assert send("GET", "/_probe", FORWARDED).text.startswith("127.0.0.1 http 127.0.0.1:")
    assert "Secure" not in send("GET", "/login", FORWARDED).getheader("Set-Cookie")


def test_waitress_without_a_trusted_proxy_ignores_forwarded_headers(make_app, serve):
    send = serve(_probe(make_app()))
    assert send("GET", "/_probe", FORWARDED).text.startswith("127.0.0.1 http 127.0.0.1:")


def test_audit_log_records_the_client_behind_the_proxy(make_app, serve, employee):
    send = serve(make_app(TRUSTED_PROXY="*", BASE_URL="https://asn.instansi.go.id"))
    body = f"nip={NIP}&password=salah"
    send("POST", "/login", {**FORWARDED, "Content-Type": "application/x-www-form-urlencoded"}, body)
    with models.db.connection_context():
        assert [e.ip for e in models.AuditEvent.for_nip(NIP)] == ["203.0.113.7"]


def test_proxy_count_takes_the_address_that_many_hops_back(make_app, serve):
    send = serve(_probe(make_app(TRUSTED_PROXY="127.0.0.1", TRUSTED_PROXY_COUNT=2)))
    headers = {**FORWARDED, "X-Forwarded-For": "198.51.100.9, 203.0.113.7"}
    assert send("GET", "/_probe", headers).text.startswith("198.51.100.9 ")


@pytest.mark.parametrize("remote_addr, seen", [("10.0.0.2", "203.0.113.7 https asn.instansi.go.id"),
                                               ("10.0.0.66", "10.0.0.66 http localhost")])
def test_middleware_for_gunicorn_trusts_only_the_proxy_address(make_app, remote_addr, seen):
    client = _probe(make_app(TRUSTED_PROXY="10.0.0.2")).test_client()
    response = client.get("/_probe", headers=FORWARDED, environ_base={"REMOTE_ADDR": remote_addr})
    assert response.get_data(as_text=True) == seen


def test_old_proxy_fix_setting_still_trusts_the_proxy(make_app):
    app = _probe(make_app(PROXY_FIX=True))
    assert app.config["TRUSTED_PROXY"] == "*"
    response = app.test_client().get("/_probe", headers=FORWARDED)
    assert response.get_data(as_text=True) == "203.0.113.7 https asn.instansi.go.id"


# --------------------------------------------------------------------------- access log


def test_one_access_log_line_per_request_with_request_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="portal.access"):
        response = client.get("/login?next=/dashboard/")
    [record] = [r for r in caplog.records if r.name == "portal.access"]
    line = record.getMessage()
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 16 and line.endswith(f" id={request_id}")
    timestamp, ip, method, path, status, duration = line.split()[:6]
    assert timestamp[:4].isdigit() and timestamp[10] == "T" and timestamp.endswith("Z")
    assert (ip, method, path, status) == ("127.0.0.1", "GET", "/login", "200")
    assert duration.endswith("ms") and float(duration[:-2]) >= 0
    assert "next" not in line


def test_request_id_from_the_proxy_is_kept_when_well_formed(client):
    assert client.get("/login", headers={"X-Request-ID": "abc123def456"}).headers["X-Request-ID"] == "abc123def456"
    forged = client.get("/login", headers={"X-Request-ID": "<script> id=1"}).headers["X-Request-ID"]
    assert forged != "<script> id=1" and len(forged) == 16


@pytest.mark.parametrize("path", ["/reset/SeCrEt-LiNk-VaLuE-123", "/aktivasi/SeCrEt-LiNk-VaLuE-123"])
def test_secret_links_are_masked_in_the_access_log(client, caplog, path):
    with caplog.at_level(logging.INFO, logger="portal.access"):
        client.get(path)
    lines = [r.getMessage() for r in caplog.records]
    assert any(f" {path.rsplit('/', 1)[0]}/*** " in line for line in lines)
    assert not any("SeCrEt" in line for line in lines)


def test_passwords_never_reach_any_log(client, employee, caplog):
    with caplog.at_level(logging.DEBUG):
        login(client, password="Rahasia!Sekali99")
    assert caplog.records and not any("Rahasia" in r.getMessage() for r in caplog.records)


def test_configured_logging_has_iso_timestamps(capsys):
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        serving.configure_logging()
        logging.getLogger("portal.access").info("baris uji")
    finally:
        root.handlers[:], root.level = handlers, level
    line = capsys.readouterr().err.strip()
    assert line.endswith("INFO portal.access: baris uji")
    assert line[4] == "-" and line[10] == "T" and line[19:24] == "+0000"


CPU_SCRIPT = """
import json, os, sys, threading
import serving, security
pinned = serving.keep_on_one_cpu(sys.argv[1] if not sys.argv[1].isdigit() else int(sys.argv[1]))
seen = {}
started = threading.Thread(target=lambda: seen.update(server_thread=sorted(os.sched_getaffinity(0))))
started.start(); started.join()
seen["hashing"] = sorted(security._hashing.submit(os.sched_getaffinity, 0).result())
assert security.verify_password(security.hash_password("Rahasia!2027"), "Rahasia!2027")
print(json.dumps({"pinned": pinned, "main": sorted(os.sched_getaffinity(0)), **seen}))
"""


def _cpus_after(setting):
    import json
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run([sys.executable, "-c", CPU_SCRIPT, str(setting)], capture_output=True, text=True,
                            cwd=Path(serving.__file__).parent, timeout=120, check=True)
    return json.loads(result.stdout)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to choose")
def test_server_threads_stay_on_one_cpu_and_hashing_keeps_every_cpu():
    every = sorted(os.sched_getaffinity(0))
    auto = _cpus_after("auto")
    assert auto == {"pinned": every[-1], "main": [every[-1]], "server_thread": [every[-1]], "hashing": every}
    chosen = _cpus_after(every[0])
    assert chosen == {"pinned": every[0], "main": [every[0]], "server_thread": [every[0]], "hashing": every}
    assert _cpus_after("off") == {"pinned": None, "main": every, "server_thread": every, "hashing": every}
