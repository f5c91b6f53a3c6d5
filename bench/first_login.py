"""The first sign-in on a 360 px phone in real Chromium (JavaScript on, cold cache):
how many pages the employee goes through from /login to the dashboard, and how many
bytes come over the wire (compressed bodies of every request, pages and partials,
stylesheet and scripts). With --screenshots DIR, a small 360 px screenshot of each step
of setting up verifikasi dua langkah (MFA).

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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default=str(ROOT), help="checkout of the portal to measure")
    parser.add_argument("--screenshots", help="folder for a 360 px screenshot of each page")
    args = parser.parse_args()
    sys.path.insert(0, args.source)

    import pyotp
    import waitress
    from PIL import Image
    from playwright.sync_api import sync_playwright
    from waitress import wasyncore

    import app as app_module
    import models

    folder = Path(tempfile.mkdtemp())
    app = app_module.create_app({"SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{folder}/portal.db",
                                 "RATELIMIT_ENABLED": False, "BASE_URL": "http://127.0.0.1",
                                 "ARGON2_COST": (1, 64)})
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    url = f"http://127.0.0.1:{server.effective_port}"
    app.config.update(BASE_URL=url, TRUSTED_HOSTS=[url.removeprefix("http://")])
    threading.Thread(target=server.run, daemon=True).start()
    nip, nik, password = "199001012020011001", "3273010101900001", "Kopi!Pagi2026"
    with models.db.connection_context():
        sys.path.insert(0, str(ROOT))
        from tests.helpers import make_employee

        make_employee()

    def newest_code():
        with models.db.connection_context():
            message = (models.Message.select().where(models.Message.channel == "email")
                       .order_by(models.Message.id.desc()).first())
        return re.search(r"\b(\d{6})\b", message.body).group(1)

    pages, total, secret = [], 0, None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                      locale="id-ID", timezone_id="Asia/Jakarta",
                                      user_agent="Mozilla/5.0 (Linux; Android 13) Chrome/120.0 Mobile Safari/537.36")
        page = context.new_page()
        sizes = []
        page.on("requestfinished", lambda request: sizes.append(request.sizes()["responseBodySize"]))
        page.goto(f"{url}/login")

        def arrived():
            path = page.url.removeprefix(url)
            pages.append(path)
            if args.screenshots and path.startswith("/mfa/"):
                shot = Path(args.screenshots) / (path.strip("/").replace("/", "-") + ".png")
                page.screenshot(path=str(shot), full_page=True)
                Image.open(shot).convert("RGB").quantize(32).save(shot, optimize=True)  # small files

        def click(role, name):
            with page.expect_navigation():
                page.get_by_role(role, name=name, exact=True).first.click()

        arrived()
        page.fill("#nip", nip)
        page.fill("#password", nik)
        click("button", "Masuk")
        for _ in range(12):
            page.wait_for_load_state("networkidle")
            arrived()
            if page.url.endswith("/dashboard"):
                break
            if page.locator("#open-in-app").count():
                secret = pyotp.parse_uri(page.locator("#open-in-app").get_attribute("href")).secret
            if page.locator("#code").count():
                page.fill("#code", newest_code())
                click("button", "Lanjutkan")
            elif page.locator("#new_password").count():
                page.fill("#new_password", password)
                page.fill("#confirm_password", password)
                click("button", "Simpan kata sandi")
            elif page.locator("#app-installed").count():
                click("link", "Sudah terpasang, lanjutkan")
            elif page.locator("#account-added").count():
                click("link", "Akun sudah ada di aplikasi, lanjutkan")
            elif page.locator("#otp").count():
                if page.locator("#device_name").get_attribute("required") is not None:
                    page.fill("#device_name", "Ponsel 1")
                page.fill("#otp", pyotp.TOTP(secret).now())
                click("button", "Aktifkan")
            elif page.locator("#recovery-codes").count():
                click("button", "Saya sudah menyimpan kode ini")
            else:
                click("link", "Ke beranda")
        total = sum(size for size in sizes if size > 0)
        browser.close()
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    print(f"{len(pages)} halaman, {total} byte ({total / 1024:.1f} KB) terkirim:")
    print("  " + " → ".join(pages))


if __name__ == "__main__":
    main()
