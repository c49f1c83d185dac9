"""`nurture bench web`: the public pages under gunicorn, measured at a fixed offered rate.

Serves `wsgi:app` with `gunicorn -w 2` on a scratch SQLite database (`nurture init`, the
trial journey published), then offers the landing page (GET) at 200 requests a second and
the trial sign-up (POST) at 50 a second, about 10 seconds each. The load is open-loop:
request i is due at start + i / rate whatever the server is doing, and its latency counts
from that due time, so a server that falls behind shows it in the tail instead of slowing
the client down (no coordinated omission).

Sign-ups need a session and its CSRF token: each simulated visitor fetches the form once
before the measurement. `NURTURE_SIGNUP_RATE_LIMIT` is raised for the bench, as every
request comes from one address.
"""

from __future__ import annotations

import http.client
import math
import os
import queue
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from nurture.config import PROJECT_ROOT

LANDING = "/l/trial"
PAGE_RATE, SIGNUP_RATE, SECONDS = 200, 50, 10.0
TARGET_PAGE_P99_MS = 50
CLIENTS = 64  # concurrent connections at most: far above what the rates need when healthy
WORKERS = 2
USER_AGENT = "nurture-bench-web/1"


class Client:
    """One visitor: an HTTP connection (reopened when the server closes it) and a cookie."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.cookie = ""
        self.csrf = ""

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"User-Agent": USER_AGENT}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            self.conn.close()  # a fresh connection next time
            raise
        for header in response.msg.get_all("Set-Cookie") or []:
            if header.startswith("session="):
                self.cookie = header.split(";", 1)[0]
        return response.status, text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(var_dir: Path, port: int) -> dict[str, str]:
    return {**os.environ, "NURTURE_VAR_DIR": str(var_dir),
           "DATABASE_URL": f"sqlite:///{var_dir / 'nurture.db'}", "REDIS_URL": "",
           "SMTP_URL": "", "SECRET_KEY": secrets.token_urlsafe(32),
           "BASE_URL": f"http://127.0.0.1:{port}",
           "NURTURE_SIGNUP_RATE_LIMIT": "1000000 per second"}


def _nurture(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "nurture.app.cli", *args], env=env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"`nurture {' '.join(args)}` failed:\n{done.stderr[-2000:]}")


def _gunicorn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
               "wsgi:app"]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=out,
                                  stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn stopped before serving:\n" + log.read_text()[-2000:])
        try:
            if Client(port).request("GET", LANDING)[0] == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not serve the landing page within 30 seconds.")


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def open_loop(rate: float, seconds: float, clients: list[Client],
              call: Callable[[Client, int], bool]) -> dict[str, Any]:
    """Offer `call` at `rate` per second for `seconds`; latency counts from each due time."""
    total = int(rate * seconds)
    latency: list[float] = [0.0] * total
    good = [False] * total
    idle: queue.Queue[Client] = queue.Queue()
    for client in clients:
        idle.put(client)

    def one(index: int, due: float) -> None:
        client = idle.get()  # waiting for a free connection is part of the latency
        try:
            good[index] = call(client, index)
        except (OSError, http.client.HTTPException):
            good[index] = False
        finally:
            idle.put(client)
            latency[index] = time.perf_counter() - due

    start = time.perf_counter() + 0.1
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        for index in range(total):
            due = start + index / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(one, index, due)
    elapsed = time.perf_counter() - start
    ordered = sorted(latency)
    ok = sum(good)
    return {"offered_per_second": rate, "seconds": round(elapsed, 2), "requests": total,
            "ok": ok, "errors": total - ok, "achieved_per_second": round(ok / elapsed, 1),
            "p50_ms": round(_percentile(ordered, 0.50) * 1000, 1),
            "p99_ms": round(_percentile(ordered, 0.99) * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


def _visitor(port: int) -> Client:
    client = Client(port)
    status, page = client.request("GET", LANDING)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if status != 200 or not match:
        raise RuntimeError(f"The sign-up form did not load (HTTP {status}).")
    client.csrf = match.group(1)
    return client


def _sign_up(run: str) -> Callable[[Client, int], bool]:
    def call(client: Client, index: int) -> bool:
        form = {"csrf_token": client.csrf, "first_name": "Bench", "last_name": f"Visitor {index}",
                "email": f"bench-{run}-{index}@example.com", "company": "Bench Ltd",
                "industry": "retail", "country": "GB", "ship_street": "1 High Street",
                "ship_city": "London", "ship_postal_code": "SW1A 1AA", "ship_country": "GB",
                "tech_name": "Tom Tech", "tech_email": f"tech-{run}-{index}@example.com",
                "services": ["crm", "analytics"], "seats": "5"}
        return client.request("POST", LANDING, urlencode(form, doseq=True))[0] == 303
    return call


def _landing(client: Client, _index: int) -> bool:
    return client.request("GET", LANDING)[0] == 200


def run_web_bench(seconds: float = SECONDS, echo: Callable[[str], None] = print
                  ) -> dict[str, Any]:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="nurture-bench-web-") as tmp:
        port = _free_port()
        env = _environment(Path(tmp), port)
        echo("Creating a scratch SQLite database and publishing the trial journey...")
        _nurture(env, "init")
        _nurture(env, "journeys", "publish", str(PROJECT_ROOT / "journeys" / "library" /
                                                 "trial-nurture.yaml"))
        echo(f"Starting gunicorn -w {WORKERS} on 127.0.0.1:{port}...")
        server = _gunicorn(env, port, Path(tmp) / "gunicorn.log")
        try:
            warm = Client(port)
            for _ in range(200):
                warm.request("GET", LANDING)
            echo(f"Landing page GET at {PAGE_RATE}/s for {seconds:g}s...")
            page = open_loop(PAGE_RATE, seconds, [Client(port) for _ in range(CLIENTS)],
                             _landing)
            echo("Preparing sign-up visitors (form, session cookie, CSRF token)...")
            with ThreadPoolExecutor(8) as pool:
                visitors = list(pool.map(_visitor, [port] * CLIENTS))
            echo(f"Sign-up POST at {SIGNUP_RATE}/s for {seconds:g}s...")
            signup = open_loop(SIGNUP_RATE, seconds, visitors, _sign_up(secrets.token_hex(3)))
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
    return {
        "server": f"gunicorn -w {WORKERS} wsgi:app (sync workers), SQLite, in-process broker",
        "cpus": os.cpu_count(),
        "load_average_before": round(load, 2),  # other work on the machine skews the tail
        "landing_get": page,
        "signup_post": signup,
        "targets": {"landing_p99_ms_below": TARGET_PAGE_P99_MS,
                    "landing_offered_per_second": PAGE_RATE,
                    "met": (page["p99_ms"] < TARGET_PAGE_P99_MS and page["errors"] == 0
                            and page["achieved_per_second"] >= 0.95 * PAGE_RATE)},
    }

