"""Password sign-ins at 08:00: throughput, latency and memory of the password step.

Builds a temporary SQLite database with 64 employees whose accounts have a password
hashed at the default argon2id cost (ASN_ARGON2_COST, OWASP's m=19456 KiB, t=2, p=1),
starts the portal with waitress (`python app.py`, rate limits and CSRF off, as a load
test needs), and posts NIP + password to /login from 16, then 32, keep-alive
connections, each account used by one connection at a time. Baseline, measured in the
same run: argon2 verifying the same hash in as many threads as the machine has cores,
with nothing else around it.

Targets: peak RSS of the server ≤ 150 MB after 32 concurrent sign-ins; ≥ 20 password
sign-ins per second per core; p99 < 1 s with 16 users; the portal's password step at
≥ 0.85 of argon2's own verify throughput.

    .venv/bin/python bench/login.py
"""

import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402

import app as app_module  # noqa: E402
import models  # noqa: E402
import security  # noqa: E402

ACCOUNTS = 64
PASSWORD = "Bench!Masuk2026"  # noqa: S105 - a throwaway database
CORES = os.cpu_count() or 2
SECONDS = 5
ROUNDS = 3


def nip(i: int) -> str:
    return f"19800101200501{1 + i % 2}{i + 1:03d}"


def build_database(folder: Path) -> str:
    url = f"sqlite:///{folder / 'portal.db'}"
    app_module.create_app({"DATABASE_URL": url, "SECRET_KEY": harness.SECRET_KEY, "BASE_URL": "http://127.0.0.1"})
    hashed = security.hash_password(PASSWORD)
    with models.db.connection_context():
        for i in range(ACCOUNTS):
            employee = models.Employee.create(nip=nip(i), nik=f"32730101018{i:05d}", nama=f"Pegawai {i}",
                                              jenis_asn="PNS", email=f"p{i}@contoh.go.id")
            models.Account.create(employee=employee, password_hash=hashed, must_change_password=False)
    models.db.close()
    return url


def raw_verify_rate(seconds: float) -> float:
    """argon2id verifications per second, one thread per core, at the default cost."""
    hashed = security.hash_password(PASSWORD)
    hasher = security._hasher(*security.DEFAULT_ARGON2_COST)
    counts = [0] * CORES
    deadline = time.perf_counter() + seconds

    def work(index):
        while time.perf_counter() < deadline:
            hasher.verify(hashed, PASSWORD)
            counts[index] += 1

    began = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(CORES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


def sign_in(users: int):
    """make_request for harness.load: each connection cycles through its own accounts."""
    def make(user, n):
        accounts = range(user, ACCOUNTS, users) or [user % ACCOUNTS]
        i = list(accounts)[n % len(accounts)]
        body = urlencode({"nip": nip(i), "password": PASSWORD}).encode()
        return harness.request_bytes("POST", "/login", body)
    return make


def main() -> int:
    results = harness.Results(f"Password sign-ins (argon2id {security.DEFAULT_ARGON2_COST}, {CORES} cores)")
    rounds = []
    with tempfile.TemporaryDirectory() as folder:
        url = build_database(Path(folder))
        with harness.Server(["app.py"], {"ASN_DATABASE_URL": url}) as server:
            harness.load(server.port, sign_in(4), 4, 1, expect=(303,))  # warm up
            idle = server.memory_mb()
            # Other processes share the machine: argon2 alone and the portal are measured
            # turn about, and the median round is reported.
            for _ in range(ROUNDS):
                raw = raw_verify_rate(SECONDS)
                rate, latencies = harness.load(server.port, sign_in(16), 16, SECONDS, expect=(303,))
                rounds.append((rate / raw, rate, raw, latencies))
            harness.load(server.port, sign_in(32), 32, SECONDS, expect=(303,))
            peak = server.memory_mb("VmHWM")
    ratio, rate16, raw, latencies16 = sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]  # the median round
    results.add("peak RSS, 32 concurrent sign-ins ≤ 150 MB", f"{peak:.0f} MB", f"idle server {idle:.0f} MB",
                peak <= 150)
    results.add("password sign-ins per second per core ≥ 20", f"{rate16 / CORES:.1f}",
                f"argon2 alone {raw / CORES:.1f} verify/s per core", rate16 / CORES >= 20)
    p99, median = harness.percentile(latencies16, 0.99), harness.percentile(latencies16, 0.5)
    results.add("p99 with 16 users < 1 s", f"{p99 * 1000:.0f} ms",
                f"median {median * 1000:.0f} ms, {len(latencies16)} sign-ins", p99 < 1)
    results.add("password step ÷ argon2 verify ≥ 0.85", f"{ratio:.2f} ({rate16:.1f}/s)",
                f"argon2 alone {raw:.1f}/s; rounds {', '.join(f'{r[0]:.2f}' for r in rounds)}", ratio >= 0.85)
    return results.report()


if __name__ == "__main__":
    sys.exit(main())
