"""Data formats in and out: pure converters, no Django.

Every format turns one parsed record (a JSON object, or a CSV row as a dict of strings)
into our row, or our row back into a record:

- ``ours``: ``prompt``, ``answer``, ``skills``, ``level``, optional ``split``, ``id``; other
  keys are kept in ``meta`` (as ``workers/engine/tasks/jsonl.py`` reads it).
- ``openai``: OpenAI chat fine-tuning, ``messages``.
- ``trl``: TRL prompt-completion, ``prompt`` and ``completion`` strings.
- ``trl_chat``: TRL conversational, ``prompt``/``completion`` as message lists (or
  ``messages``).

Our row (``Row``) is a plain dict: ``prompt``, ``answer``, ``skills`` (names), ``level``,
``split`` (or None), ``key`` (or ""), ``meta`` (a JSON object). A converter raises
:class:`FieldError` naming the field and the reason; the reader
(:mod:`apps.projects.formats.reader`) adds the line number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from apps.projects.formats import openai_chat, ours, trl_conversational, trl_prompt_completion
from apps.projects.formats.common import FieldError, Row, RowDefaults

__all__ = ["FORMATS", "FieldError", "Format", "Row", "RowDefaults", "detect"]


@dataclass(frozen=True)
class Format:
    name: str
    label: str
    to_row: Callable[[Mapping[str, Any], RowDefaults], Row]
    from_row: Callable[[Row], dict]


FORMATS: dict[str, Format] = {
    "ours": Format("ours", "Ours (prompt, answer, skills, level)", ours.to_row, ours.from_row),
    "openai": Format("openai", "OpenAI chat fine-tuning (messages)", openai_chat.to_row,
                     openai_chat.from_row),
    "trl": Format("trl", "TRL prompt-completion (prompt, completion)",
                  trl_prompt_completion.to_row, trl_prompt_completion.from_row),
    "trl_chat": Format("trl_chat", "TRL conversational (message lists)",
                       trl_conversational.to_row, trl_conversational.from_row),
}


def detect(record: Any) -> str | None:
    """The format a record looks like, or None: ``messages`` is OpenAI chat (TRL's
    conversational ``messages`` rows are the same shape, and read the same);
    ``completion`` is TRL, conversational when ``prompt`` is a message list (or, in CSV,
    JSON text of one); ``answer`` is ours."""
    if not isinstance(record, Mapping):
        return None
    if "messages" in record:
        return "openai"
    if "completion" in record:
        prompt = record.get("prompt")
        if isinstance(prompt, list) or (isinstance(prompt, str)
                                        and prompt.lstrip().startswith("[{")):
            return "trl_chat"
        return "trl"
    if "answer" in record:
        return "ours"
    return None
