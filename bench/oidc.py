"""Single sign-on costs, beside the portal's own sign-in, in one run on a temporary SQLite
database through Flask's test client (server time only, no network):

- the portal's own sign-in: password (argon2id at the production cost) and OTP;
- code-to-token exchanges per second: POST /oidc/token with client_secret_basic, each on
  a fresh code (the RS256 ID token signed each time);
- the extra time of one app sign-in for an employee already signed in to the portal:
  GET /oidc/authorize (one redirect back with a code) plus the app's token exchange.

    .venv/bin/python bench/oidc.py
"""

import base64
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import app as app_module  # noqa: E402
import models  # noqa: E402
from security import clock  # noqa: E402
from tests.helpers import NIP, PASSWORD, code, first_login, make_employee  # noqa: E402
from tests.oidc_helpers import REDIRECT_URI, authorize_url  # noqa: E402

SIGN_INS = 10
EXCHANGES = 300


def main():
    logging.disable(logging.WARNING)
    folder = Path(tempfile.mkdtemp(prefix="bench-oidc-"))
    app = app_module.create_app({"SECRET_KEY": "bench", "BASE_URL": "http://localhost", "RATELIMIT_ENABLED": False,
                                 "WTF_CSRF_ENABLED": False, "DATABASE_URL": f"sqlite:///{folder / 'portal.db'}",
                                 "OIDC_KEY_FILE": str(folder / "oidc_keys.json")})
    with models.db.connection_context():
        make_employee()
        client_row, secret = models.OidcClient.register("Bench", [REDIRECT_URI], is_pre_approved=True)
    basic = "Basic " + base64.b64encode(f"{client_row.client_id}:{secret}".encode()).decode()
    browser = app.test_client()
    totp = first_login(browser)
    browser.post("/logout")

    portal = []
    clock.freeze(clock.now())  # each sign-in on the next TOTP step (a used code can't be reused)
    for _ in range(SIGN_INS):
        clock.advance(seconds=30)
        started = time.perf_counter()
        browser.post("/login", data={"nip": NIP, "password": PASSWORD})
        answer = browser.post("/login/otp", data={"otp": code(totp)})
        portal.append(time.perf_counter() - started)
        assert answer.status_code == 303, answer.status_code
        browser.post("/logout")
    clock.advance(seconds=30)
    browser.post("/login", data={"nip": NIP, "password": PASSWORD})
    browser.post("/login/otp", data={"otp": code(totp)})

    def new_code():
        answer = browser.get(authorize_url(client_row.client_id))
        assert answer.status_code == 302 and answer.location.startswith(REDIRECT_URI), answer.status_code
        return parse_qs(urlparse(answer.location).query)["code"][0]

    def exchange(code_value):
        form = {"grant_type": "authorization_code", "code": code_value, "redirect_uri": REDIRECT_URI}
        answer = browser.post("/oidc/token", headers={"Authorization": basic}, data=form)
        assert answer.status_code == 200, answer.get_data(as_text=True)

    codes = [new_code() for _ in range(EXCHANGES)]
    started = time.perf_counter()
    for code_value in codes:
        exchange(code_value)
    per_second = EXCHANGES / (time.perf_counter() - started)

    app_sign_in = []
    for _ in range(100):
        started = time.perf_counter()
        exchange(new_code())
        app_sign_in.append(time.perf_counter() - started)

    print(f"Portal sign-in (password + OTP), median of {SIGN_INS}: {statistics.median(portal) * 1000:.1f} ms")
    print(f"Code-to-token exchanges: {per_second:.0f} per second (one process, {EXCHANGES} exchanges)")
    print(f"App sign-in for a signed-in employee (authorize + token), median of 100: "
          f"{statistics.median(app_sign_in) * 1000:.1f} ms, p95 "
          f"{sorted(app_sign_in)[94] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
