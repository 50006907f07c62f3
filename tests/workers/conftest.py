"""Real Celery workers for the integration tests.

Workers are ``celery -A config worker`` subprocesses (prefork, concurrency 1, prefetch 1,
queues gpu and default) with the test process's broker (``CELERY_BROKER_URL``, a Redis
database these tests may empty) and the same PostgreSQL test database. Two workers serve a
whole session; tests that kill one start a replacement. Every worker is killed at teardown.

The integration tests are skipped where DATABASE_URL is not PostgreSQL or Redis is not
reachable, and fail there instead when STUDIO_REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
REQUIRED = os.environ.get("STUDIO_REQUIRE_SERVICES") == "1"
_names = itertools.count(1)


def services_missing() -> str | None:
    """Why the real services are missing, or None when PostgreSQL and Redis are there."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "integration tests need DATABASE_URL=postgres://... (real worker processes " \
               "share the test database)"
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        return "integration tests need CELERY_BROKER_URL=redis://..."
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis at {url} is not reachable: {exc}"
    return None


def require_services() -> None:
    reason = services_missing()
    if reason:
        if REQUIRED:
            pytest.fail(f"STUDIO_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)


def workers_database_url() -> str:
    """DATABASE_URL of the test database pytest-django created."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    auth = quote(db.get("USER") or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    netloc = f"{auth}@{host}{port}" if auth else f"{host}{port}"
    return urlunsplit(("postgres", netloc, "/" + db["NAME"], "", ""))


def with_redis_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"127.0.0.1:{port}", parts.path, "", ""))


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    log: Path

    @property
    def node(self) -> str:
        return self.name.split("@")[0]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group: the main process and its pool child."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Cluster:
    """Start and stop worker processes with one environment."""

    env: dict
    logs: Path
    workers: list[Worker] = field(default_factory=list)

    def start(self, *, env: dict | None = None, wait: bool = True) -> Worker:
        name = f"test{next(_names)}-{os.getpid()}@%h"
        log = self.logs / f"{name.split('@')[0]}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [str(CELERY), "-A", "config", "worker", "-Q", "gpu,default", "-c", "1",
                 "--prefetch-multiplier", "1", "-n", name, "--pool", "prefork",
                 "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                 "--without-heartbeat"],
                cwd=ROOT, env={**self.env, **(env or {})}, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        worker = Worker(name=name, proc=proc, log=log)
        self.workers.append(worker)
        if wait:
            self.wait_ready(worker)
        return worker

    def wait_ready(self, worker: Worker, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = worker.log.read_text(errors="replace") if worker.log.exists() else ""
            # A pool child that did not report "up" in time (CELERY_WORKER_PROC_ALIVE_TIMEOUT;
            # the engine preload runs before the report) is killed and replaced: say so.
            if "Timed out waiting for UP message" in text:
                raise AssertionError(f"worker {worker.name}: a pool process did not start in "
                                     f"time (CELERY_WORKER_PROC_ALIVE_TIMEOUT):\n"
                                     f"{worker.tail()}")
            # "ready." is logged by the main process; the preload line by the pool child,
            # just before it reports "up" to the main process.
            if " ready." in text and "engine preloaded" in text:
                return
            if not worker.alive():
                raise AssertionError(f"worker {worker.name} exited:\n{worker.tail()}")
            time.sleep(0.2)
        raise AssertionError(f"worker {worker.name} not ready after {timeout} s:\n{worker.tail()}")

    def stop_all(self) -> None:
        for w in self.workers:
            w.kill(signal.SIGKILL)
        self.workers.clear()

    def holding(self, worker_field: str) -> Worker:
        """The worker whose node name starts ``Run.worker`` (``node@host:pid``)."""
        for w in self.workers:
            if worker_field.startswith(w.node + "@") and w.alive():
                return w
        raise AssertionError(f"no live worker holds {worker_field!r}")


@pytest.fixture(scope="session")
def worker_env(django_db_setup, django_db_blocker, tmp_path_factory):
    """The environment of every worker, and a clean broker database (once per session)."""
    reason = services_missing()
    if reason:
        if REQUIRED:
            pytest.fail(f"STUDIO_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    data = tmp_path_factory.mktemp("worker-data")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": workers_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        # config.settings.test keeps artifacts in DATA_DIR/test-artifacts
        "STUDIO_DATA_DIR": str(data),
        "STUDIO_RUN_HEARTBEAT_S": "1",
        "STUDIO_RUN_PROGRESS_S": "1",
        "STUDIO_PRELOAD_ENGINE": "1",
        # system checks (URLs, admin) belong to the web tests; workers start faster without
        "CELERY_SKIP_CHECKS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    return {"env": env, "artifacts": data / "test-artifacts", "logs": data}


@pytest.fixture(scope="session")
def cluster(worker_env):
    """Two running workers for the whole session (both queues each)."""
    c = Cluster(env=worker_env["env"], logs=worker_env["logs"])
    try:
        first = c.start(wait=False)
        second = c.start(wait=False)
        c.wait_ready(first)
        c.wait_ready(second)
        yield c
    finally:
        c.stop_all()


@pytest.fixture
def workers(cluster, worker_env, transactional_db, settings):
    """The session's workers, at least two alive, an empty queue, and this process's
    settings pointing at the workers' artifacts store."""
    import redis

    settings.STUDIO_ARTIFACTS_DIR = worker_env["artifacts"]
    r = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    r.delete("gpu", "default")  # messages of earlier tests; queue bindings stay
    cluster.workers = [w for w in cluster.workers if w.alive()]
    while len(cluster.workers) < 2:
        cluster.start()
    return cluster


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str,
             interval: float = 0.2, on_fail: Callable[[], str] | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    detail = on_fail() if on_fail else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{detail}")
