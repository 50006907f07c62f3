"""TRL conversational: ``{"prompt": [messages], "completion": [assistant message]}``, or a
single ``{"messages": [...]}`` list (read as OpenAI chat). The system message and earlier
turns are kept in ``meta`` as for OpenAI chat; we write the prompt-completion form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.projects.formats import openai_chat
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
    if "messages" in record and "prompt" not in record:
        return openai_chat.to_row(record, defaults)
    if "prompt" not in record:
        raise FieldError("prompt", "missing")
    if "completion" not in record:
        raise FieldError("completion", "missing")
    prompt_messages = message_list(record["prompt"], "prompt")
    completion = message_list(record["completion"], "completion")
    if len(completion) != 1 or completion[0]["role"] != "assistant":
        raise FieldError("completion", "must be one assistant message")
    prompt, answer, conversation = from_messages([*prompt_messages, completion[0]], "prompt")
    row = studio_fields(record, defaults)
    row["meta"] = {**row["meta"], **extra_keys(record, ("prompt", "completion")),
                   **conversation}
    return {"prompt": prompt, "answer": answer, **row}


def from_row(row: Row) -> dict:
    messages, meta = to_messages(row)
    out = {"prompt": messages[:-1], "completion": messages[-1:], **studio_out(row)}
    if meta:
        out["meta"] = meta
    return out
