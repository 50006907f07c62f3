"""Whole numbers read from a query string or a posted field, refused the same way everywhere.

``str.isdigit`` is true for '²' and other Unicode digits that ``int`` refuses, and a number
of any length reaches the database as an offset or a key it cannot hold. These helpers take
ASCII digits only, at most 18 of them (every such number fits a 64-bit column).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.core.exceptions import BadRequest
from django.http import Http404

_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")


def parse_int(value: object) -> int | None:
    """``value`` as an int when it is a string of ASCII digits (optionally signed, at most
    18 digits); None for anything else."""
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        return int(value)
    return None


def int_param(params: Mapping[str, str], name: str, *, default: int | None = None,
              minimum: int | None = None, maximum: int | None = None,
              clamp: bool = False) -> int | None:
    """The whole number ``params[name]`` (``request.GET`` or ``request.POST``).

    Missing or empty: ``default``. Not a whole number: a 400 (``BadRequest``). Outside
    ``minimum``..``maximum``: brought to the nearest bound with ``clamp``, else a 404 (the
    page or version it addresses does not exist).
    """
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    value = parse_int(raw)
    if value is None:
        raise BadRequest(f"?{name}= must be a whole number")
    low = minimum is not None and value < minimum
    high = maximum is not None and value > maximum
    if clamp:
        return minimum if low else maximum if high else value
    if low or high:
        raise Http404(f"?{name}={value} is out of range")
    return value
