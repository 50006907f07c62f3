"""Database helpers shared by every app: retrying a write over a dropped connection, the
range of an integer column."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)

DB_ERRORS = (OperationalError, InterfaceError)
# The range of an IntegerField column (PostgreSQL ``integer``; SQLite holds more): a seed or
# size stored in one is checked against it first, so it is refused as input, not by the
# database.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
T = TypeVar("T")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (database errors span several)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def db_retry(fn: Callable[[], T], *, attempts: int = 6, first_delay_s: float = 0.5,
             what: str = "database write") -> T:
    """``fn()``, retried on a dropped or refused database connection.

    Each retry closes the broken connection first (Django opens a new one on the next
    query); the delay doubles (0.5 s, 1 s, ... about 15 s in all). ``fn`` must be a whole
    transaction (or a single statement) so that running it again is safe.
    """
    delay = first_delay_s
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except DB_ERRORS as exc:
            if attempt == attempts or connection.in_atomic_block:
                raise
            log.warning("%s failed (%s); retry %d of %d in %.1f s", what, first_line(exc),
                        attempt, attempts - 1, delay)
            connection.close()
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")
