"""Cursor pagination: a page of rows after the last one seen, in the order of a unique
integer column (the id, or a round's index within its run).

The cursor is opaque to clients (URL-safe base64 of ``v1:<value>``); a page answers
``results``, ``next_cursor`` (None on the last page) and ``next`` (the same URL with the
cursor, to follow as is). Rows added meanwhile never shift a page, as offsets would.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import urlencode

from django.db.models import QuerySet
from ninja.errors import HttpError
from pydantic import Field

from apps.common.params import parse_int

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str, Field(max_length=64)]


def cursor_encode(value: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{value}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    value = parse_int(text[3:]) if text.startswith("v1:") else None
    if value is None or not 0 <= value < 2**63:
        raise HttpError(400, "invalid cursor: pass the next_cursor of the previous page")
    return value


def paginate(request, queryset: QuerySet, *, cursor: str | None, limit: int | None,
             key: str = "pk") -> dict:
    """One page of ``queryset`` ordered by ``key`` (ascending), after ``cursor``."""
    limit = limit or DEFAULT_LIMIT
    qs = queryset.order_by(key)
    if cursor:
        qs = qs.filter(**{f"{key}__gt": cursor_decode(cursor)})
    rows = list(qs[:limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = cursor_encode(getattr(rows[-1], key)) if more else None
    next_url = None
    if next_cursor is not None:
        params = request.GET.copy()
        params["cursor"] = next_cursor
        next_url = f"{request.path}?{urlencode(sorted(params.lists()), doseq=True)}"
    return {"results": rows, "next_cursor": next_cursor, "next": next_url}
