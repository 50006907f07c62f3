"""Our format: ``prompt``, ``answer``, ``skills`` (1 to 5 names), ``level``, optional
``split`` and ``id``; any other key is kept in ``meta`` (as the engine reads a JSONL file)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.projects.formats.common import (
    FieldError,
    Row,
    RowDefaults,
    key,
    level,
    skills,
    split,
    text,
)

OWN = ("id", "prompt", "answer", "skills", "level", "split")


def to_row(record: Mapping[str, Any], defaults: RowDefaults) -> Row:
    for field in ("prompt", "answer", "skills", "level"):
        if field not in record:
            raise FieldError(field, "missing")
    return {
        "prompt": text(record, "prompt"),
        "answer": text(record, "answer", empty_ok=True),
        "skills": skills(record["skills"]),
        "level": level(record["level"]),
        "split": split(record.get("split")),
        "key": key(record.get("id")),
        "meta": {k: v for k, v in record.items() if k not in OWN},
    }


def from_row(row: Row) -> dict:
    out: dict[str, Any] = {}
    if row.get("key"):
        out["id"] = row["key"]
    out |= {"prompt": row["prompt"], "answer": row["answer"], "skills": list(row["skills"]),
            "level": row["level"]}
    if row.get("split"):
        out["split"] = row["split"]
    for k, v in (row.get("meta") or {}).items():
        if k not in OWN:
            out[k] = v
    return out
