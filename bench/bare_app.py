"""The baseline of bench/pages.py: a bare Flask page on the same waitress, with the
portal's waitress options (threads, port from ASN_PORT). Run by the benchmark."""

import os

import waitress
from flask import Flask

app = Flask(__name__)
PAGE = "<!doctype html><html lang=\"id\"><title>Bare</title><p>" + "Portal ASN Digital. " * 100 + "</p></html>"


@app.get("/")
def page():
    return PAGE


if __name__ == "__main__":
    waitress.serve(app, host="127.0.0.1", port=int(os.environ["ASN_PORT"]), threads=8)
