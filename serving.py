"""How the portal meets the outside: the reverse proxy it trusts, the access log with a
request id, logging with timestamps, and waitress's options for `python app.py`."""

import logging
import os
import re
import secrets
import time

from flask import g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from security import CPUS_GIVEN, now  # CPUS_GIVEN: read once at start, shared with the hashing threads

access_log = logging.getLogger("portal.access")

PROXY_HEADERS = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{8,64}")
# URL arguments that are secrets (reset and activation links): never written to a log.
SECRET_ARGUMENTS = ("secret", "token")


def configure_logging(level=logging.INFO) -> None:
    """Every line with an ISO 8601 UTC timestamp, for `python app.py` and journald alike."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                  datefmt="%Y-%m-%dT%H:%M:%S%z")
    formatter.converter = time.gmtime
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The format names no thread, process or source line: not looking them up halves the
    # cost of the access log's record on every request (the logging HOWTO's "Optimization").
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None


def waitress_options(config) -> dict:
    """waitress 3 drops X-Forwarded-* unless told which proxy sends them."""
    options = {"host": config["HOST"], "port": int(config["PORT"]), "threads": 8, "ident": "portal-asn",
               "clear_untrusted_proxy_headers": True}
    if config["TRUSTED_PROXY"]:
        options.update(trusted_proxy=config["TRUSTED_PROXY"],
                       trusted_proxy_count=config["TRUSTED_PROXY_COUNT"],
                       trusted_proxy_headers=PROXY_HEADERS)
    return options


def keep_on_one_cpu(setting) -> int | None:
    """Python runs one thread at a time (its global lock). When the server's threads take
    turns on two cores, each turn finds the other core's caches cold: on a 2-core server a
    page took 1.3 to 1.6 times the server CPU time it takes with all of them on one core.
    So `python app.py` keeps the calling thread, and the threads it starts after
    (waitress's), on one CPU: `ASN_SERVER_CPU` names it, or `auto` takes the last one this
    process may use when it may use two or more; `off` leaves the choice to the kernel.
    Password hashing, which runs outside Python's lock, has threads of its own that keep
    every CPU (security.py). Returns the CPU, or None when left alone."""
    if setting == "off" or len(CPUS_GIVEN) < 2:
        return None
    cpu = CPUS_GIVEN[-1] if setting == "auto" else int(setting)
    os.sched_setaffinity(0, {cpu})
    return cpu


class TrustedProxyFix:
    """X-Forwarded-For/Proto/Host taken only from the trusted proxy's address, for servers
    without their own setting (gunicorn); from anyone else they are dropped. Under
    waitress, which applied them already, this changes nothing."""

    def __init__(self, app, trusted_proxy: str, count: int):
        self.app = app
        self.trusted_proxy = trusted_proxy
        self.fixed = ProxyFix(app, x_for=count, x_proto=count, x_host=count)

    def __call__(self, environ, start_response):
        if self.trusted_proxy in ("*", environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        for header in PROXY_HEADERS:
            environ.pop("HTTP_" + header.upper().replace("-", "_"), None)
        return self.app(environ, start_response)


def init_access_log(app) -> None:
    app.before_request(_start_request)
    app.after_request(_log_request)


def _start_request():
    g.started = time.perf_counter()
    offered = request.headers.get("X-Request-ID", "")
    g.request_id = offered if REQUEST_ID_RE.fullmatch(offered) else secrets.token_hex(8)


def logged_path() -> str:
    """The path without its query string, secret URL arguments masked."""
    path = request.path
    for name in SECRET_ARGUMENTS:
        value = (request.view_args or {}).get(name)
        if value:
            path = path.replace(str(value), "***")
    return path


def _log_request(response):
    request_id = g.get("request_id") or secrets.token_hex(8)
    response.headers["X-Request-ID"] = request_id
    duration_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    access_log.info("%s %s %s %s %d %.1fms id=%s",
                    now().isoformat(timespec="milliseconds") + "Z",
                    request.remote_addr or "-", request.method, logged_path(), response.status_code,
                    duration_ms, request_id)
    return response
