"""Health of the web process and of the workers, for load balancers, containers and people.

``web_health`` checks what a request needs (the database and the broker) and answers within
about a second; ``worker_health`` asks every worker for a ping over the broker.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import connection

BROKER_TIMEOUT_S = 1.0
PING_TIMEOUT_S = 1.0


def _check(fn) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return {"ok": False, "error": type(exc).__name__,
                "ms": round((time.perf_counter() - started) * 1000, 1)}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _broker() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)


def web_health() -> dict[str, Any]:
    """``{"ok": bool, "database": {...}, "broker": {...}}``; errors name only the
    exception's type (never a URL or a password)."""
    checks = {"database": _check(_database), "broker": _check(_broker)}
    return {"ok": all(c["ok"] for c in checks.values()), **checks}


def worker_health(*, show_names: bool) -> dict[str, Any]:
    """The workers that answered a ping within ``PING_TIMEOUT_S``, with the queues they
    consume; names only for staff."""
    from config.celery import app

    workers: list[dict[str, Any]] = []
    try:
        inspect = app.control.inspect(timeout=PING_TIMEOUT_S)
        pongs = inspect.ping() or {}
        queues = (inspect.active_queues() or {}) if pongs else {}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "workers": 0, "error": type(exc).__name__}
    for name in sorted(pongs):
        row: dict[str, Any] = {"queues": sorted(q["name"] for q in queues.get(name, []))}
        if show_names:
            row["name"] = name
        workers.append(row)
    served = sorted({q for w in workers for q in w["queues"]})
    return {"ok": bool(workers), "workers": len(workers), "queues": served,
            "detail": workers}
