"""Web load: many concurrent signed-in clients against a real server and PostgreSQL.

Builds a scratch PostgreSQL database (dropped and created again) with the demo project,
starts the web server in a subprocess and lets ``--clients`` threads, each signed in as the
demo user with its own session, request the product's pages in a loop for ``--seconds``.
Reports requests, server errors (status >= 500 or a refused connection), p50 / p95 / max
latency and the peak number of PostgreSQL connections of the database, side by side for:

- ``runserver``: the development server with persistent connections (``CONN_MAX_AGE=60``),
  as before the pool: every request thread opens a connection of its own;
- ``runserver+pool``: the same server with ``STUDIO_DB_POOL=1`` (what ``make web`` and
  ``make demo`` run);
- ``gunicorn+pool``: the production server of the web container (threaded workers, one
  pool per worker process).

    .venv/bin/python benchmarks/web_load.py --clients 50 --seconds 60

Traffic goes to 127.0.0.1 only, and every loop is bounded by the time given.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.page_speed import recreate_database  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/studio_bench_load"
PASSWORD = "load-test-password-1"
MODES = ("runserver", "runserver+pool", "gunicorn+pool")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(url: str, data_dir: Path, mode: str, pool_max_size: int = 8) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_DB_POOL")}
    env.update(DATABASE_URL=url, STUDIO_DATA_DIR=str(data_dir),
               DJANGO_SETTINGS_MODULE="config.settings.dev", DJANGO_DEBUG="false",
               DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost")
    if mode.endswith("+pool"):
        env.update(STUDIO_DB_POOL="1", STUDIO_DB_POOL_MAX_SIZE=str(pool_max_size))
    return env


def prepare(url: str, data_dir: Path) -> None:
    recreate_database(url)
    env = {**server_env(url, data_dir, "runserver"), "DEMO_PASSWORD": PASSWORD}
    py = sys.executable
    for args in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run([py, "manage.py", *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)


def start(mode: str, url: str, data_dir: Path, port: int,
          pool_max_size: int = 8) -> subprocess.Popen:
    env = server_env(url, data_dir, mode, pool_max_size)
    if mode.startswith("gunicorn"):
        gunicorn = Path(sys.executable).with_name("gunicorn")
        cmd = [str(gunicorn), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", "2", "--worker-class", "gthread", "--threads", "8",
               "--log-level", "warning"]
    else:
        cmd = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def wait_up(base: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read()[-2000:]}")
        try:
            urllib.request.urlopen(base + "/accounts/login/", timeout=2).read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("server did not answer within 60 s")


class Client:
    """One signed-in browser: its own cookie jar and CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with self.opener.open(self.base + path, timeout=60) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except OSError:
            return 599, b""  # refused or reset: counted as a server error

    def login(self) -> bool:
        self.get("/accounts/login/")
        token = next((c.value for c in self.jar if c.name == "csrftoken"), "")
        data = urllib.parse.urlencode({"username": "demo", "password": PASSWORD,
                                       "csrfmiddlewaretoken": token}).encode()
        req = urllib.request.Request(self.base + "/accounts/login/", data=data,
                                     headers={"Referer": self.base + "/accounts/login/"})
        try:
            with self.opener.open(req, timeout=60) as resp:
                return "/accounts/login/" not in resp.url
        except OSError:
            return False


def discover_pages(base: str) -> list[str]:
    client = Client(base)
    if not client.login():
        raise SystemExit("the demo user could not sign in")
    _, home = client.get("/")
    project = re.search(rb'href="(/projects/\d+/)"', home)
    if project is None:
        raise SystemExit("no project link on the home page")
    p = project.group(1).decode()
    return ["/", p, f"{p}skills/", f"{p}teachers/", f"{p}prompts/", f"{p}curricula/",
            f"{p}runs/", f"{p}runs/new/", "/projects/"]


def peak_connections(url: str, stop: threading.Event, out: list[int]) -> None:
    import psycopg

    name = urllib.parse.urlsplit(url).path.lstrip("/")
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1),
                         autocommit=True) as conn:
        while not stop.wait(0.2):
            count = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                 (name,)).fetchone()[0]
            out.append(int(count) - 1)  # this monitor's own connection


def load(base: str, url: str, pages: list[str], clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    failed_logins = [0]
    # The clock starts when every client has signed in: a sign-in hashes the password
    # (about 0.3 s of CPU each), and sixteen of them at once would eat the window.
    deadline = [0.0]
    signed_in = threading.Barrier(
        clients, action=lambda: deadline.__setitem__(0, time.monotonic() + seconds))

    def one(index: int) -> None:
        client = Client(base)
        ok = client.login()
        if not ok:
            with lock:
                failed_logins[0] += 1
        signed_in.wait()
        if not ok:
            return
        i = index
        while time.monotonic() < deadline[0]:
            path = pages[i % len(pages)]
            i += 1
            started = time.perf_counter()
            status, _ = client.get(path)
            took = time.perf_counter() - started
            with lock:
                latencies.append(took)
                statuses[status] = statuses.get(status, 0) + 1

    stop = threading.Event()
    conns: list[int] = []
    monitor = threading.Thread(target=peak_connections, args=(url, stop, conns), daemon=True)
    monitor.start()
    threads = [threading.Thread(target=one, args=(n,)) for n in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # from the moment every client had signed in (the barrier) to the last answer
    wall = time.monotonic() - (deadline[0] - seconds) if deadline[0] else time.monotonic() - began
    stop.set()
    monitor.join(timeout=2)
    latencies.sort()
    errors = sum(n for s, n in statuses.items() if s >= 500)
    return {
        "requests": len(latencies), "errors": errors, "failed_logins": failed_logins[0],
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "rps": len(latencies) / wall if wall else 0.0,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))] if latencies else None,
        "max_ms": 1000 * latencies[-1] if latencies else None,
        "peak_db_connections": max(conns, default=0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--modes", default=",".join(MODES),
                        help=f"comma-separated, from {', '.join(MODES)}")
    parser.add_argument("--pool-max-size", type=int, default=8,
                        help="STUDIO_DB_POOL_MAX_SIZE of the pooled servers")
    parser.add_argument("--data-dir", default="/tmp/studio-web-load")
    parser.add_argument("--json", default="", help="also write the results to this file")
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"--modes: unknown {', '.join(sorted(unknown))}")
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    prepare(args.database, data_dir)
    results = {}
    for mode in modes:
        port = free_port()
        proc = start(mode, args.database, data_dir, port, args.pool_max_size)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_up(base, proc)
            pages = discover_pages(base)
            print(f"{mode}: {args.clients} clients for {args.seconds:.0f} s ...", flush=True)
            results[mode] = load(base, args.database, pages, args.clients, args.seconds)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        print(json.dumps({mode: results[mode]}), flush=True)
        time.sleep(2)  # let the server's connections close before the next mode
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print()
    print("| server | requests | server errors | req/s | p50 ms | p95 ms | max ms "
          "| peak DB connections |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode, r in results.items():
        print(f"| {mode} | {r['requests']} | {r['errors']} | {r['rps']:.1f} | "
              f"{r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['max_ms']:.0f} | "
              f"{r['peak_db_connections']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
