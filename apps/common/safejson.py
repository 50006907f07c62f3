"""JSON from a person, checked before it reaches a JSON column or the engine.

``json.loads`` raises ``RecursionError`` (not ``ValueError``) on text nested about a
thousand levels deep, accepts ``NaN`` and ``Infinity`` (which PostgreSQL's ``jsonb``
refuses) and turns ``"\\u0000"`` into a NUL character (which PostgreSQL refuses in text and
``jsonb``). :func:`json_loads_safe` refuses all of these with a message for the form, and
:func:`json_problem` checks a value parsed elsewhere (e.g. the extra keys of a JSONL row).
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_JSON_DEPTH = 32  # task options, strategy parameters and row extras are a few levels deep


class JSONInputError(ValueError):
    """Text that is not JSON we can keep; the message says why."""


def json_problem(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why ``value`` cannot be kept in a JSON column, or None: nested deeper than
    ``max_depth`` objects and arrays, a string or key with a NUL character, a number that
    is not finite. Walks without recursion, so any depth is safe to check."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list | tuple):
            depth += 1
            if depth > max_depth:
                return f"nested deeper than {max_depth} levels"
            if isinstance(node, dict):
                for key in node:
                    if isinstance(key, str) and "\x00" in key:
                        return "a key holds a NUL character (\\u0000)"
                children = node.values()
            else:
                children = node
            stack.extend((child, depth) for child in children)
        elif isinstance(node, str):
            if "\x00" in node:
                return "a string holds a NUL character (\\u0000)"
        elif isinstance(node, float) and not math.isfinite(node):
            return "numbers must be finite (no NaN or Infinity)"
    return None


def _refuse_constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not allowed; numbers must be finite")


def json_loads_safe(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads(text)``, or :class:`JSONInputError` saying what is wrong: not JSON,
    nested deeper than ``max_depth``, NaN or Infinity, a NUL character, a number too long to
    read."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except JSONInputError:
        raise
    except json.JSONDecodeError as exc:
        raise JSONInputError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise JSONInputError(f"nested deeper than {max_depth} levels") from None
    except UnicodeDecodeError as exc:
        raise JSONInputError(f"not UTF-8 text: {exc.reason}") from None
    except ValueError:  # Python reads no integer of more than 4,300 digits
        raise JSONInputError("not valid JSON: a number has too many digits") from None
    problem = json_problem(value, max_depth=max_depth)
    if problem:
        raise JSONInputError(problem)
    return value
