"""The portal with two more routes that answer bench/bare_app.py's page: one for anyone
and one behind the sign-in check. bench/pages.py measures them to show what the portal's
request pipeline costs on its own (session cookie, the session record and account read,
security headers, gzip, access log) before a page renders anything. Started by the
benchmark, like `python app.py`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the portal's modules first

import waitress  # noqa: E402
from bare_app import PAGE  # noqa: E402
from flask_login import login_required  # noqa: E402

import app as app_module  # noqa: E402
import serving  # noqa: E402


def main():
    serving.configure_logging()
    portal = app_module.create_app()
    portal.add_url_rule("/bench/floor", "bench_floor", lambda: PAGE)
    portal.add_url_rule("/bench/floor-signed-in", "bench_floor_signed_in", login_required(lambda: PAGE))
    serving.keep_on_one_cpu(portal.config["SERVER_CPU"])
    waitress.serve(portal, **serving.waitress_options(portal.config))


if __name__ == "__main__":
    main()
