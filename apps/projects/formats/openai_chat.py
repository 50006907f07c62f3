"""OpenAI chat fine-tuning: ``{"messages": [system?, user, assistant]}``.

The last message is the assistant's answer, the last user message before it the prompt. A
system message is kept in ``meta["system"]`` (not folded into the prompt, so the student
trains on the question alone and an export writes the system message back); earlier turns
of a longer conversation are kept in ``meta["history"]``. Our ``id``, ``skills``, ``level``,
``split`` and ``meta`` ride along as extra keys (absent ones take the import's defaults).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.projects.formats.common import (
    FieldError,
    Row,
    RowDefaults,
    extra_keys,
    from_messages,
    message_list,
    studio_fields,
    studio_out,
    to_messages,
)


def to_row(record: Mapping[str, Any], defaults: RowDefaults) -> Row:
    if "messages" not in record:
        raise FieldError("messages", "missing")
    prompt, answer, conversation = from_messages(message_list(record["messages"], "messages"),
                                                 "messages")
    row = studio_fields(record, defaults)
    row["meta"] = {**row["meta"], **extra_keys(record, ("messages",)), **conversation}
    return {"prompt": prompt, "answer": answer, **row}


def from_row(row: Row) -> dict:
    messages, meta = to_messages(row)
    out = {"messages": messages, **studio_out(row)}
    if meta:
        out["meta"] = meta
    return out
