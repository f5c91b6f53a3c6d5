"""The baseline of bench/pages.py: a bare Flask page on the same waitress, with the
portal's waitress options (threads, port from ASN_PORT) and, like `python app.py`, its
threads on one CPU (serving.keep_on_one_cpu). Run by the benchmark."""

import os
import sys
from pathlib import Path

import waitress
from flask import Flask

sys.path.append(str(Path(__file__).resolve().parent.parent))  # the portal's serving.py

import serving  # noqa: E402

app = Flask(__name__)
PAGE = "<!doctype html><html lang=\"id\"><title>Bare</title><p>" + "Portal ASN Digital. " * 100 + "</p></html>"


@app.get("/")
def page():
    return PAGE


if __name__ == "__main__":
    serving.keep_on_one_cpu(os.environ.get("ASN_SERVER_CPU", "auto"))
    waitress.serve(app, host="127.0.0.1", port=int(os.environ["ASN_PORT"]), threads=8)
