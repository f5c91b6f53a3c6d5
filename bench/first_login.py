"""The first sign-in on a poor 3G link, in real Chromium at 360 px with JavaScript on:
NIP + NIK, the code from the mailbox on record with a new password (one form; a page of
its own in older releases), the three MFA steps (shown without a request when the first
step's page carries them), the recovery codes, the dashboard ("Akun Anda siap" on top;
a page of its own in older releases). The link is Chromium's own network emulation
(DevTools `Network.emulateNetworkConditions`): 256 kbit/s down and up, 600 ms latency.
A step shown without a request counts as a page, with the (tiny) wait for it.

Each figure is the time one fresh employee waits for pages during the whole first
sign-in, from opening /login to the dashboard on screen (typing not counted): with a
cold cache (a new browser profile), and with a warm one (the same profile after someone
else's first sign-in: stylesheet and scripts cached). Beside each, in the same run, the
portal as it answered before, two round trips per step: a successful htmx POST answered
with HX-Redirect, and the browser then loading the page (a WSGI wrapper turns each
one-round-trip answer back into that).

Targets: ≤ 6 s with a cold cache, ≤ 4.5 s with a warm one.

The journey is driven by what each page shows, not by a list of URLs, so the same script
measures an older release too:

    .venv/bin/python bench/first_login.py                      # this checkout
    .venv/bin/python bench/first_login.py --source /tmp/old    # an unpacked older release
    .venv/bin/python bench/first_login.py --screenshots docs/screenshots
"""

import argparse
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyotp

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
LINK = {"offline": False, "latency": 600, "downloadThroughput": 256_000 / 8, "uploadThroughput": 256_000 / 8}
TARGETS = {"cold": 6.0, "warm": 4.5}
PASSWORD = "Kopi!Pagi2026"
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "id-ID",
         "timezone_id": "Asia/Jakarta",
         "user_agent": "Mozilla/5.0 (Linux; Android 13) Chrome/120.0 Mobile Safari/537.36"}


class TwoRoundTrips:
    """When `on`: a successful htmx POST gets what the portal answered before, an empty
    200 with HX-Redirect to the page (its cookies kept), so the browser loads it next."""

    def __init__(self, app):
        self.app = app
        self.on = False

    def __call__(self, environ, start_response):
        if not self.on or environ["REQUEST_METHOD"] != "POST":
            return self.app(environ, start_response)
        answer = {}
        body = self.app(environ, lambda status, headers, exc_info=None: answer.update(status=status, headers=headers))
        pushed = [value for name, value in answer["headers"] if name.lower() == "hx-push-url"]
        if not pushed:
            start_response(answer["status"], answer["headers"])
            return body
        getattr(body, "close", lambda: None)()
        kept = [(name, value) for name, value in answer["headers"]
                if not name.lower().startswith(("hx-", "content-"))]
        start_response(answer["status"], [*kept, ("HX-Redirect", pushed[0]), ("Content-Length", "0")])
        return [b""]


def sign_in_first_time(page, url, nip, nik, newest_code, arrived=lambda path: None):
    """Open /login and go through the first sign-in to the dashboard. Returns the paths of
    the pages passed and the seconds spent waiting for them: from a click (or opening
    /login) until the next page shows its heading and has loaded. Typing is not counted."""
    secret, paths, waited = None, [], 0.0

    def next_page(role, name):
        nonlocal waited
        before = page.evaluate("[location.href, document.querySelector('main h1').textContent]")
        began = time.perf_counter()
        page.get_by_role(role, name=name, exact=True).first.click()
        page.wait_for_function("([url, heading]) => location.href !== url && document.querySelector('main h1')"
                               " && document.querySelector('main h1').textContent !== heading", arg=before)
        page.wait_for_load_state("load")
        waited += time.perf_counter() - began

    began = time.perf_counter()
    page.goto(f"{url}/login")
    waited += time.perf_counter() - began
    page.fill("#nip", nip)
    page.fill("#password", nik)
    next_page("button", "Masuk")
    for _ in range(12):
        path = page.url.removeprefix(url)
        paths.append(path)
        arrived(path)
        if path == "/dashboard":
            return paths, waited
        if page.locator("#open-in-app").count():
            secret = pyotp.parse_uri(page.locator("#open-in-app").get_attribute("href")).secret
        if page.locator("#code").count():
            page.fill("#code", newest_code(nip))
            if page.locator("#new_password").count():  # the new password on the code's form
                page.fill("#new_password", PASSWORD)
                page.fill("#confirm_password", PASSWORD)
            next_page("button", "Lanjutkan")
        elif page.locator("#new_password").count():
            page.fill("#new_password", PASSWORD)
            page.fill("#confirm_password", PASSWORD)
            next_page("button", "Simpan kata sandi")
        elif page.locator("#app-installed").count():
            next_page("link", "Sudah terpasang, lanjutkan")
        elif page.locator("#account-added").count():
            next_page("link", "Akun sudah ada di aplikasi, lanjutkan")
        elif page.locator("#otp").count():
            if page.locator("#device_name").get_attribute("required") is not None:
                page.fill("#device_name", "Ponsel 1")
            page.fill("#otp", pyotp.TOTP(secret).now())
            next_page("button", "Aktifkan")
        elif page.locator("#recovery-codes").count():
            next_page("button", "Saya sudah menyimpan kode ini")
        else:
            next_page("link", "Ke beranda")
    raise RuntimeError(f"the first sign-in did not reach the dashboard: {paths}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default=str(ROOT), help="checkout of the portal to measure")
    parser.add_argument("--screenshots", help="folder for a 360 px screenshot of each MFA page and the dashboard")
    args = parser.parse_args()
    sys.path.insert(0, args.source)

    import waitress
    from PIL import Image
    from playwright.sync_api import sync_playwright
    from waitress import wasyncore

    import app as app_module
    import models

    sys.path.insert(1, str(Path(__file__).resolve().parent))
    from harness import Results

    folder = Path(tempfile.mkdtemp())
    app = app_module.create_app({"SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{folder}/portal.db",
                                 "RATELIMIT_ENABLED": False, "BASE_URL": "http://127.0.0.1",
                                 "ARGON2_COST": (1, 64)})
    portal = TwoRoundTrips(app)
    server = waitress.create_server(portal, host="127.0.0.1", port=0, threads=4)
    url = f"http://127.0.0.1:{server.effective_port}"
    app.config.update(BASE_URL=url, TRUSTED_HOSTS=[url.removeprefix("http://")])
    threading.Thread(target=server.run, daemon=True).start()

    sys.path.insert(0, str(ROOT))
    from tests.helpers import make_employee

    employees = iter(range(1, 10))

    def fresh_employee():
        n = next(employees)
        nip, nik = f"19900101202001100{n}", f"32730101019000{n:02d}"
        with models.db.connection_context():
            make_employee(nip=nip, nik=nik, email=f"pegawai{n}@example.go.id")
        return nip, nik

    def newest_code(nip):
        with models.db.connection_context():
            message = (models.Message.select().where((models.Message.channel == "email") & (models.Message.nip == nip))
                       .order_by(models.Message.id.desc()).first())
        return re.search(r"\b(\d{6})\b", message.body).group(1)

    figures = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])

        def new_phone():
            context = browser.new_context(**PHONE)
            context.set_default_timeout(60_000)
            return context, context.new_page()

        for answer in ("one", "two"):
            portal.on = answer == "two"
            context, page = new_phone()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", LINK)
            sizes = []
            page.on("requestfinished", lambda request, sizes=sizes: sizes.append(request.sizes()["responseBodySize"]))
            for cache in ("cold", "warm"):
                sizes.clear()
                context.clear_cookies()  # another employee on the same phone: only the cache is shared
                paths, waited = sign_in_first_time(page, url, *fresh_employee(), newest_code)
                # Every response of this journey counted here, not in the next one's bytes.
                page.wait_for_load_state("networkidle")
                figures[answer, cache] = (waited, len(paths) + 1, sum(size for size in sizes if size > 0))
            context.close()

        if args.screenshots:
            portal.on = False
            context, page = new_phone()

            def screenshot(path):
                if path.startswith("/mfa/") or path == "/dashboard":  # the dashboard: "Akun Anda siap"
                    shot = Path(args.screenshots) / (path.strip("/").replace("/", "-") + ".png")
                    page.screenshot(path=str(shot), full_page=True)
                    Image.open(shot).convert("RGB").quantize(32).save(shot, optimize=True)  # small files

            sign_in_first_time(page, url, *fresh_employee(), newest_code, arrived=screenshot)
            context.close()
        browser.close()
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))

    results = Results("First sign-in, /login to the dashboard, 256 kbit/s and 600 ms latency (Chromium emulation)")
    for cache, target in TARGETS.items():
        seconds, pages, size = figures["one", cache]
        before, _, before_size = figures["two", cache]
        results.add(f"{cache} cache ≤ {target} s", f"{seconds:.1f} s, {pages} pages, {size / 1024:.1f} KB",
                    f"two round trips per step: {before:.1f} s, {before_size / 1024:.1f} KB", seconds <= target)
    return results.report()


if __name__ == "__main__":
    sys.exit(main())
