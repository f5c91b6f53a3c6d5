"""Bytes a cold-cache browser downloads for the login page, and for one htmx partial.

Starts the app with waitress on a free loopback port (temporary SQLite database),
fetches /login with `Accept-Encoding: gzip, deflate, br`, then every stylesheet and
script the page references, and adds up what came over the wire: the (compressed)
bodies, and the bodies plus the response headers. Then posts the login form with a bad
NIP as htmx does (HX-Request: true) and measures the fragment that comes back.

Measured twice: demo mode on (the login page shows the table of demo accounts) and off.
Exits with status 1 when a figure is over its budget.

    .venv/bin/python bench/page_size.py
"""

import gzip
import http.cookiejar
import logging
import secrets
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import zlib
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import waitress.server  # noqa: E402
from waitress import wasyncore  # noqa: E402

import app as app_module  # noqa: E402
import models  # noqa: E402

logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" on a busy machine

PAGE_BUDGET = 30 * 1024  # login page, cold cache, compressed, htmx and CSS included
PARTIAL_BUDGET = 5 * 1024  # one htmx response fragment
BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0 Mobile Safari/537.36",
    "Accept-Encoding": "gzip, deflate, br",
    "Accept-Language": "id-ID,id;q=0.9,en;q=0.5",
}


class Assets(HTMLParser):
    """The stylesheets and scripts a browser would fetch, and the form's CSRF token."""

    def __init__(self):
        super().__init__()
        self.urls = []
        self.csrf_token = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and "stylesheet" in (attrs.get("rel") or "").lower().split() and attrs.get("href"):
            self.urls.append(attrs["href"])
        elif tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        elif tag == "input" and attrs.get("name") == "csrf_token" and self.csrf_token is None:
            self.csrf_token = attrs.get("value")


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Fetched:
    def __init__(self, name, response, body):
        self.name = name
        self.status = response.status
        self.headers = response.headers
        self.body = body
        self.encoding = response.headers.get("Content-Encoding") or "-"
        # Roughly what HTTP/1.1 sends: status line, "Name: value" lines, blank line.
        lines = [f"HTTP/1.1 {response.status} {response.reason}"]
        lines += [f"{name}: {value}" for name, value in response.headers.items()]
        self.header_bytes = sum(len(line.encode("latin-1")) + 2 for line in lines) + 2

    @property
    def total(self):
        return len(self.body) + self.header_bytes


class Browser:
    """A fresh, cookie-keeping client that neither caches nor decompresses."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirects)

    def fetch(self, url, data=None, headers=None, name=None):
        url = urllib.parse.urljoin(self.base, url)
        if not url.startswith(self.base):
            raise ValueError(f"not on the server under test: {url}")
        headers = {**BROWSER_HEADERS, **(headers or {})}
        request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 (checked above)
        try:
            response = self.opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:  # a 4xx is an answer too
            response = error
        with response:
            body = response.read()
        return Fetched(name or urllib.parse.urlsplit(url).path, response, body)


def serve(config):
    """The app under waitress on a free loopback port, its I/O loop in a background
    thread that can be stopped."""
    application = app_module.create_app(config)
    server = waitress.server.create_server(application, host="127.0.0.1", port=0, threads=4,
                                           ident="portal-asn-bench")
    address = f"127.0.0.1:{server.effective_port}"
    application.config.update(BASE_URL=f"http://{address}", TRUSTED_HOSTS=[address])
    stopping = threading.Event()

    def loop():
        while not stopping.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, count=1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return server, (thread, stopping), f"http://127.0.0.1:{server.effective_port}/"


def stop(server, loop):
    """Let the worker threads finish, stop the I/O loop, then close every socket."""
    thread, stopping = loop
    server.task_dispatcher.shutdown()
    stopping.set()
    thread.join(timeout=5)
    for dispatcher in list(server._map.values()):
        dispatcher.close()


def measure(demo: bool, folder: Path):
    config = {"DATABASE_URL": f"sqlite:///{folder / ('demo' if demo else 'plain')}.db", "DEMO": demo,
              "SECRET_KEY": secrets.token_hex(32), "BASE_URL": "http://127.0.0.1"}
    server, loop, base = serve(config)
    try:
        browser = Browser(base)
        page = browser.fetch("/login", headers={"Accept": "text/html,*/*;q=0.8"}, name="/login (HTML)")
        html = _decoded(page)
        page.shows_demo_table = 'id="demo-akun"' in html
        assets = Assets()
        assets.feed(html)
        resources = [page] + [browser.fetch(url, headers={"Accept": "*/*"}) for url in assets.urls]
        # Browsers ask for this by themselves; reported, not counted against the budget.
        favicon = browser.fetch("/favicon.ico", headers={"Accept": "image/*"},
                                name="/favicon.ico (not counted)")

        form = urllib.parse.urlencode({"csrf_token": assets.csrf_token or "", "nip": "12345",
                                       "password": "salah"}).encode()
        partial = browser.fetch("/login", data=form, name="POST /login, htmx, bad NIP", headers={
            "HX-Request": "true", "HX-Target": "login-form", "HX-Current-URL": base + "login",
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*"})
    finally:
        stop(server, loop)
        if not models.db.is_closed():
            models.db.close()
    return resources, favicon, partial


def _decoded(fetched):
    if fetched.encoding == "gzip":
        return gzip.decompress(fetched.body).decode()
    if fetched.encoding == "deflate":
        return zlib.decompress(fetched.body).decode()
    if fetched.encoding != "-":
        raise SystemExit(f"cannot read a {fetched.encoding} body with the standard library")
    return fetched.body.decode()


def row(name, status, encoding, body, headers, total):
    return f"{name:<52} {status:>6} {encoding:>9} {body:>9} {headers:>8} {total:>9}"


def report(title, resources, favicon, partial) -> bool:
    table = "yes" if resources[0].shows_demo_table else "no"
    print(f"\n== {title} (demo accounts table on the page: {table})")
    print(row("resource", "status", "encoding", "body B", "hdr B", "wire B"))
    print("-" * 98)
    for r in resources:
        print(row(_short(r.name), r.status, r.encoding, len(r.body), r.header_bytes, r.total))
    body = sum(len(r.body) for r in resources)
    headers = sum(r.header_bytes for r in resources)
    print("-" * 98)
    print(row(f"total ({len(resources)} requests)", "", "", body, headers, body + headers))
    page_ok = body + headers <= PAGE_BUDGET and all(r.status == 200 for r in resources)
    print(f"login page, cold cache: {body:,} B body only, {body + headers:,} B with headers; "
          f"budget {PAGE_BUDGET:,} B (with headers) -> {'OK' if page_ok else 'OVER BUDGET'}"
          f" ({(body + headers) / PAGE_BUDGET:.0%})")
    print(row(favicon.name, favicon.status, favicon.encoding, len(favicon.body), favicon.header_bytes,
              favicon.total))

    print(row(_short(partial.name), partial.status, partial.encoding, len(partial.body),
              partial.header_bytes, partial.total))
    partial_ok = partial.total <= PARTIAL_BUDGET and 400 <= partial.status < 500
    print(f"htmx partial: {len(partial.body):,} B body only, {partial.total:,} B with headers; "
          f"budget {PARTIAL_BUDGET:,} B (with headers) -> {'OK' if partial_ok else 'OVER BUDGET'}"
          f" ({partial.total / PARTIAL_BUDGET:.0%})")
    if partial.status != 422:
        print(f"  note: expected a 422 for a bad NIP, got {partial.status}")
    return page_ok and partial_ok


def _short(name):
    path = name.split("?")[0]
    return path if len(path) <= 52 else "..." + path[-49:]


def main() -> int:
    ok = True
    with tempfile.TemporaryDirectory(prefix="page-size-") as folder:
        for demo in (True, False):
            resources, favicon, partial = measure(demo, Path(folder))
            ok &= report(f"demo mode {'ON' if demo else 'OFF'}", resources, favicon, partial)
    print("\nAll within budget." if ok else "\nOVER BUDGET (see above).")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
