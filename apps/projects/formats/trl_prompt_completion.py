"""TRL prompt-completion (standard): ``{"prompt": "...", "completion": "..."}``. Our
``id``, ``skills``, ``level``, ``split`` and ``meta`` ride along as extra columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.projects.formats.common import (
    Row,
    RowDefaults,
    extra_keys,
    studio_fields,
    studio_out,
    text,
)


def to_row(record: Mapping[str, Any], defaults: RowDefaults) -> Row:
    prompt = text(record, "prompt")
    answer = text(record, "completion", empty_ok=True)
    row = studio_fields(record, defaults)
    row["meta"] = {**row["meta"], **extra_keys(record, ("prompt", "completion"))}
    return {"prompt": prompt, "answer": answer, **row}


def from_row(row: Row) -> dict:
    out = {"prompt": row["prompt"], "completion": row["answer"], **studio_out(row)}
    if row.get("meta"):
        out["meta"] = dict(row["meta"])
    return out
