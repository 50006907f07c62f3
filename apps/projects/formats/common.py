"""What the format converters share: our row, the errors, the checks of our fields."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]
SPLITS = ("train", "eval", "held_out")
MAX_SKILLS = 5
# Keys of our row itself; a foreign format's other keys go to ``meta``.
STUDIO_KEYS = ("id", "skills", "level", "split", "meta")


class FieldError(ValueError):
    """A record's field is missing or wrong: ``field`` names it, the message says why."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class RowDefaults:
    """What a row of a foreign format gets when it has no ``skills`` or ``level``."""

    skill: str = "general"
    level: int = 1


def text(record: Mapping[str, Any], field: str, *, empty_ok: bool = False) -> str:
    if field not in record:
        raise FieldError(field, "missing")
    value = record[field]
    if not isinstance(value, str):
        raise FieldError(field, f"must be text, got {type(value).__name__}")
    if not empty_ok and not value.strip():
        raise FieldError(field, "must not be empty")
    return value


def skills(value: Any) -> list[str]:
    """Skill names from a list, or (a CSV cell) JSON text of a list or names split by ``;``."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                value = json.loads(stripped)
            except ValueError:
                raise FieldError("skills", "is not a JSON list") from None
        else:
            value = [part.strip() for part in stripped.split(";") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
        raise FieldError("skills", "must be a list of skill names")
    if not 1 <= len(value) <= MAX_SKILLS:
        raise FieldError("skills", f"needs 1 to {MAX_SKILLS} skills, got {len(value)}")
    if len(set(value)) != len(value):
        raise FieldError("skills", "has a repeated name")
    return list(value)


def level(value: Any) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError("level", "must be a whole number")
    if value < 0:
        raise FieldError("level", "must be 0 or more")
    return value


def split(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if value not in SPLITS:
        raise FieldError("split", f"must be one of {', '.join(SPLITS)}")
    return value


def key(value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not value.strip():
        raise FieldError("id", "must be non-empty text")
    return value


def meta_object(value: Any) -> dict:
    if value is None or value == "":
        return {}
    if isinstance(value, str):  # a CSV cell
        try:
            value = json.loads(value)
        except ValueError:
            raise FieldError("meta", "is not a JSON object") from None
    if not isinstance(value, dict):
        raise FieldError("meta", "must be a JSON object")
    return dict(value)


def studio_fields(record: Mapping[str, Any], defaults: RowDefaults) -> dict:
    """``key``, ``skills``, ``level``, ``split`` and ``meta`` of a foreign-format record: its
    own ``id``/``skills``/``level``/``split``/``meta`` keys when present (our export writes
    them), the defaults otherwise; its other keys join ``meta``."""
    meta = meta_object(record.get("meta"))
    return {
        "key": key(record.get("id")),
        "skills": skills(record["skills"]) if "skills" in record else [defaults.skill],
        "level": level(record["level"]) if "level" in record else defaults.level,
        "split": split(record.get("split")),
        "meta": meta,
    }


def extra_keys(record: Mapping[str, Any], known: tuple[str, ...]) -> dict:
    return {k: v for k, v in record.items() if k not in known and k not in STUDIO_KEYS}


def studio_out(row: Row) -> dict:
    """Our fields written beside a foreign format's own (``id`` only when set)."""
    out: dict[str, Any] = {}
    if row.get("key"):
        out["id"] = row["key"]
    out["skills"] = list(row["skills"])
    out["level"] = row["level"]
    if row.get("split"):
        out["split"] = row["split"]
    return out


def message_list(value: Any, field: str) -> list[dict]:
    """A list of ``{"role", "content"}`` messages (JSON text of one in a CSV cell)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise FieldError(field, "is not a JSON list of messages") from None
    if not isinstance(value, list) or not value:
        raise FieldError(field, "must be a non-empty list of messages")
    for i, message in enumerate(value):
        if not isinstance(message, Mapping):
            raise FieldError(f"{field}[{i}]", "must be an object with role and content")
        if message.get("role") not in ("system", "user", "assistant", "developer", "tool"):
            raise FieldError(f"{field}[{i}].role",
                             "must be system, developer, user, assistant or tool")
        if not isinstance(message.get("content"), str):
            raise FieldError(f"{field}[{i}].content", "must be text")
    return list(value)


def from_messages(messages: list[dict], field: str) -> tuple[str, str, dict]:
    """``(prompt, answer, meta)`` of a conversation: the last message is the assistant's
    answer; the last user message before it is the prompt; the system (or developer)
    message is kept in ``meta["system"]``; any earlier turns in ``meta["history"]``."""
    last = messages[-1]
    if last["role"] != "assistant":
        raise FieldError(f"{field}[{len(messages) - 1}].role",
                         "the last message must be the assistant's answer")
    before = messages[:-1]
    users = [i for i, m in enumerate(before) if m["role"] == "user"]
    if not users:
        raise FieldError(field, "needs a user message before the answer")
    prompt_at = users[-1]
    prompt = before[prompt_at]["content"]
    if not prompt.strip():
        raise FieldError(f"{field}[{prompt_at}].content", "must not be empty")
    meta: dict[str, Any] = {}
    systems = [m["content"] for m in before if m["role"] in ("system", "developer")]
    if len(systems) > 1:
        raise FieldError(field, "holds more than one system message")
    if systems:
        meta["system"] = systems[0]
    history = [dict(m) for i, m in enumerate(before)
               if i != prompt_at and m["role"] not in ("system", "developer")]
    if history:
        meta["history"] = history
    return prompt, last["content"], meta


def to_messages(row: Row) -> tuple[list[dict], dict]:
    """The conversation of a row, and the meta left to write beside it."""
    meta = dict(row.get("meta") or {})
    messages = []
    system = meta.pop("system", None)
    history = meta.pop("history", None)
    if isinstance(system, str):
        messages.append({"role": "system", "content": system})
    elif system is not None:
        meta["system"] = system
    if isinstance(history, list):
        messages += history
    elif history is not None:
        meta["history"] = history
    messages.append({"role": "user", "content": row["prompt"]})
    messages.append({"role": "assistant", "content": row["answer"]})
    return messages, meta
