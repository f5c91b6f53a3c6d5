"""How the portal meets the outside: the reverse proxy it trusts, the access log with a
request id, logging with timestamps, and waitress's options for `python app.py`."""

import logging
import re
import secrets
import time

from flask import g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from security import now

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
    # The format names no thread or process: not looking them up halves the cost of the
    # access log's record on every request.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


def waitress_options(config) -> dict:
    """waitress 3 drops X-Forwarded-* unless told which proxy sends them."""
    options = {"host": config["HOST"], "port": int(config["PORT"]), "threads": 8, "ident": "portal-asn",
               "clear_untrusted_proxy_headers": True}
    if config["TRUSTED_PROXY"]:
        options.update(trusted_proxy=config["TRUSTED_PROXY"],
                       trusted_proxy_count=config["TRUSTED_PROXY_COUNT"],
                       trusted_proxy_headers=PROXY_HEADERS)
    return options


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
