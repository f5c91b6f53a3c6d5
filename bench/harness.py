"""What the load benchmarks share: a portal (or any WSGI app) served by waitress in its own
process, a small HTTP load generator, the memory of a process, and the result table.

The machine running a benchmark is often shared, so a target is judged against a
baseline measured in the same run (a bare Flask page on the same waitress, argon2 alone,
a plain pass over the CSV) rather than against a fixed number of requests per second."""

import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SECRET_KEY = "bench-secret-key"  # noqa: S105 - a throwaway database in a temporary folder
BASE_ENV = {"ASN_SECRET_KEY": SECRET_KEY, "ASN_HOST": "127.0.0.1", "ASN_RATELIMIT_ENABLED": "false",
            "ASN_WTF_CSRF_ENABLED": "false"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`python app.py` (or another command) on a free loopback port, stopped on exit."""

    def __init__(self, command, env=None):
        self.port = free_port()
        full_env = {**os.environ, **BASE_ENV, "ASN_PORT": str(self.port),
                    "ASN_BASE_URL": f"http://127.0.0.1:{self.port}", **(env or {})}
        self.process = subprocess.Popen([PYTHON, *command], cwd=ROOT, env=full_env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{command} stopped with status {self.process.returncode}") from None
                time.sleep(0.1)
        raise RuntimeError(f"{command} did not start")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(10)

    def memory_mb(self, field="VmRSS") -> float:
        """VmRSS (now) or VmHWM (the peak so far) of the server process, in MB."""
        return process_memory_mb(self.process.pid, field)


def process_memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def children_peak_mb() -> float:
    """The largest peak RSS of the child processes waited for so far."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def request_bytes(method: str, path: str, body: bytes = b"", headers=None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Accept-Encoding: gzip",
             "User-Agent: Mozilla/5.0 (Linux; Android 10) bench"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if method == "POST":
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _read_response(sock, buffer: bytes):
    """(status, rest of the buffer) after one whole response; keep-alive connections."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buffer += chunk
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(buffer) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buffer += chunk
    return status, buffer[length:]


def load(port: int, make_request, users: int, seconds: float, expect=(200,)):
    """`users` connections, each sending make_request(user, n) one after another for
    `seconds`. Returns (requests per second, sorted latencies in seconds)."""
    latencies, errors = [], []
    deadline = time.perf_counter() + seconds
    start = threading.Barrier(users + 1)

    def user(index):
        sock = socket.create_connection(("127.0.0.1", port))
        buffer, n, mine = b"", 0, []
        start.wait()
        try:
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                sock.sendall(make_request(index, n))
                status, buffer = _read_response(sock, buffer)
                mine.append(time.perf_counter() - began)
                if status not in expect:
                    errors.append(status)
                n += 1
        finally:
            sock.close()
            latencies.extend(mine)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"unexpected status {sorted(set(errors))} ({len(errors)} times)")
    return len(latencies) / elapsed, sorted(latencies)


def percentile(sorted_values, fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


class Results:
    """The table every benchmark prints: target, measured, baseline, PASS/FAIL."""

    def __init__(self, title: str):
        self.title = title
        self.rows = []

    def add(self, target: str, measured: str, baseline: str, passed: bool) -> None:
        self.rows.append((target, measured, baseline, "PASS" if passed else "FAIL"))
        print(f"  {target}: {measured} [{baseline}] {'PASS' if passed else 'FAIL'}", flush=True)

    def report(self) -> int:
        widths = [max(len(row[i]) for row in [("target", "measured", "baseline (same run)", "")] + self.rows)
                  for i in range(4)]
        print(f"\n{self.title}")
        for row in [("target", "measured", "baseline (same run)", "")] + self.rows:
            print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        failed = sum(row[3] == "FAIL" for row in self.rows)
        print(f"  {len(self.rows) - failed} PASS, {failed} FAIL")
        return 1 if failed else 0
