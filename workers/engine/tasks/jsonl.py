"""User data: items from a JSONL file, checked line by line.

Each line is an object with ``prompt``, ``answer``, ``skills`` (1..5 names), ``level`` (int)
and optional ``id`` and ``split`` (train, eval, held_out); other keys are kept in ``meta``.
:func:`parse_jsonl` reports every bad line with its number and reason (the upload preview
shows them all); :class:`JsonlFamily` refuses a file with any bad line.

Rows with ``split`` eval or held_out are the run's eval items (:meth:`JsonlFamily.eval_items`)
and never enter the training pool (:meth:`JsonlFamily.sample` draws only the others).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import string
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from workers.engine.errors import ItemError, SpecError
from workers.engine.tasks.base import MAX_SKILLS_PER_ITEM, Item, SkillInfo, TaskFamily

ANSWER_MODES = ("exact", "normalized", "numeric")
SPLITS = ("train", "eval", "held_out")
EVAL_SPLITS = ("eval", "held_out")  # rows set aside for evaluation, never trained on
REQUIRED = ("prompt", "answer", "skills", "level")
OPTIONS_HELP = {
    "path": "path of a JSONL file on the worker (one of path, text, lines)",
    "text": "the JSONL text itself",
    "lines": "a list of JSONL lines or of item objects",
    "answer_mode": "exact (default), normalized (case, spaces, punctuation ignored) or numeric",
    "tolerance": "numeric mode: absolute and relative tolerance, default 1e-6",
    "skills": "the allowed skills: names or {name, description, parent} objects; "
              "default: every skill the items use",
}
_PUNCT = str.maketrans("", "", string.punctuation)
_LINE_ENDS = re.compile(r"\r\n|\r|\n")
_SPACES = re.compile(r"\s+")


def normalize_answer(text: str) -> str:
    """Lower case, punctuation removed, runs of whitespace collapsed."""
    return _SPACES.sub(" ", text.lower().translate(_PUNCT)).strip()


def parse_number(text: str) -> float | None:
    try:
        value = float(text.strip().replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def answers_match(reference: str, prediction: str, *, mode: str = "exact",
                  tolerance: float = 1e-6) -> bool:
    """The verifier of the three answer modes. An empty reference matches nothing."""
    if mode == "exact":
        return bool(reference.strip()) and prediction.strip() == reference.strip()
    if mode == "normalized":
        ref = normalize_answer(reference)
        return bool(ref) and normalize_answer(prediction) == ref
    if mode == "numeric":
        ref, got = parse_number(reference), parse_number(prediction)
        if ref is None or got is None:
            return False
        return math.isclose(got, ref, rel_tol=tolerance, abs_tol=tolerance)
    raise SpecError("spec.task.options.answer_mode", f"must be one of {', '.join(ANSWER_MODES)}")


def jsonl_item_id(prompt: str, answer: str) -> str:
    return "jl-" + hashlib.sha1(f"{prompt}\x00{answer}".encode()).hexdigest()[:12]


def parse_jsonl(
    text_or_lines: str | bytes | Iterable[str | Mapping[str, Any]],
    *,
    skills: Iterable[str] | None = None,
    answer_mode: str = "exact",
    tolerance: float = 1e-6,
) -> tuple[list[Item], list[tuple[int, str]]]:
    """Parse items; return ``(items, errors)`` with errors as ``(line_no, message)``.

    Every bad line is reported (not only the first). Blank lines are skipped. With
    ``skills`` given, a skill outside it is an error. An item whose own answer fails
    its verifier (e.g. a non-number in numeric mode) is an error naming the item.
    """
    items, errors, _ = _parse(text_or_lines, skills=skills, answer_mode=answer_mode,
                              tolerance=tolerance)
    return items, errors


def _parse(
    text_or_lines: Any, *, skills: Iterable[str] | None, answer_mode: str, tolerance: float,
) -> tuple[list[Item], list[tuple[int, str]], dict[int, str]]:
    """:func:`parse_jsonl`, plus the id each bad line declares (to name it in errors)."""
    if answer_mode not in ANSWER_MODES:
        raise SpecError("spec.task.options.answer_mode",
                        f"must be one of {', '.join(ANSWER_MODES)}")
    ids: dict[int, str] = {}
    allowed = set(skills) if skills is not None else None
    items: list[Item] = []
    errors: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    for line_no, raw in _numbered(text_or_lines):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                errors.append((line_no, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at "
                                        f"byte {exc.start + 1} of the line)"))
                continue
        if isinstance(raw, str):
            if line_no == 1:
                raw = raw.removeprefix("\ufeff")  # a byte-order mark is not part of the JSON
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                errors.append((line_no, f"broken JSON: {exc.msg} (column {exc.colno})"))
                continue
            except RecursionError:
                errors.append((line_no, "broken JSON: nested too deeply"))
                continue
            except ValueError as exc:  # e.g. a number of more than 4,300 digits
                errors.append((line_no, f"broken JSON: {exc}"))
                continue
        else:
            data = raw
        if isinstance(data, Mapping) and isinstance(data.get("id"), str):
            ids[line_no] = data["id"]
        problems = _check_record(data, allowed)
        if problems:
            errors.append((line_no, "; ".join(problems)))
            continue
        item = _to_item(data, line_no)
        if item.id in first_line:
            errors.append((line_no, f"duplicate id {item.id!r} (first on line "
                                    f"{first_line[item.id]})"))
            continue
        if not answers_match(item.answer, item.answer, mode=answer_mode, tolerance=tolerance):
            errors.append((line_no, f"item {item.id!r}: its answer {item.answer!r} fails its own "
                                    f"verifier ({answer_mode})"))
            continue
        first_line[item.id] = line_no
        items.append(item)
    return items, errors, ids


def _numbered(source: Any) -> Iterable[tuple[int, Any]]:
    """(line number, line) pairs. Bytes stay bytes, so each line is decoded on its own and a
    bad byte names its line. Lines end at LF, CRLF or CR only: a JSON string may hold
    U+2028 or a form feed, which ``str.splitlines`` would cut."""
    if isinstance(source, bytes):
        source = source.splitlines()
    elif isinstance(source, str):
        source = _LINE_ENDS.split(source)
    yield from enumerate(source, start=1)


def _check_record(data: Any, allowed: set[str] | None) -> list[str]:
    if not isinstance(data, Mapping):
        return [f"must be a JSON object, got {type(data).__name__}"]
    problems = [f"missing field {name!r}" for name in REQUIRED if name not in data]
    prompt, answer = data.get("prompt"), data.get("answer")
    if "prompt" in data and (not isinstance(prompt, str) or not prompt.strip()):
        problems.append("prompt must be a non-empty string")
    if "answer" in data and not isinstance(answer, str):
        problems.append(f"answer must be a string, got {type(answer).__name__}")
    if "skills" in data:
        problems += _check_skills(data["skills"], allowed)
    level = data.get("level")
    if "level" in data and (isinstance(level, bool) or not isinstance(level, int)):
        problems.append(f"level must be a whole number, got {level!r}")
    elif isinstance(level, int) and level < 0:
        problems.append("level must be 0 or more")
    if "id" in data and (not isinstance(data["id"], str) or not data["id"].strip()):
        problems.append("id must be a non-empty string")
    if "split" in data and data["split"] not in SPLITS:
        problems.append(f"split must be one of {', '.join(SPLITS)}, got {data['split']!r}")
    return problems


def _check_skills(value: Any, allowed: set[str] | None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
        return ["skills must be a list of skill names"]
    if not 1 <= len(value) <= MAX_SKILLS_PER_ITEM:
        return [f"needs 1 to {MAX_SKILLS_PER_ITEM} skills, got {len(value)}"]
    if len(set(value)) != len(value):
        return ["skills has a repeated name"]
    if allowed is not None:
        unknown = [s for s in value if s not in allowed]
        if unknown:
            return [f"unknown skill {', '.join(map(repr, unknown))}"]
    return []


def _to_item(data: Mapping[str, Any], line_no: int) -> Item:
    prompt, answer = data["prompt"], data["answer"]
    meta = {k: v for k, v in data.items() if k not in (*REQUIRED, "id")}
    meta["line"] = line_no
    return Item(
        id=data.get("id") or jsonl_item_id(prompt, answer),
        prompt=prompt, answer=answer, skills=tuple(data["skills"]), level=data["level"],
        meta=meta,
    )


class JsonlFamily(TaskFamily):
    """Items from user data; verified by exact, normalized or numeric answer match."""

    name = "jsonl"

    def __init__(self, items: list[Item], *, answer_mode: str = "exact",
                 tolerance: float = 1e-6, skills: list[SkillInfo] | None = None):
        if answer_mode not in ANSWER_MODES:
            raise SpecError("spec.task.options.answer_mode",
                            f"must be one of {', '.join(ANSWER_MODES)}")
        if not items:
            raise SpecError("spec.task.options", "the data has no items")
        self.answer_mode = answer_mode
        self.tolerance = tolerance
        self.items = list(items)
        used = sorted({s for it in self.items for s in it.skills})
        self._skills = skills if skills is not None else [SkillInfo(s) for s in used]
        known = {s.name for s in self._skills}
        for it in self.items:
            unknown = [s for s in it.skills if s not in known]
            if unknown:
                raise ItemError(it.id, f"unknown skill {', '.join(unknown)}")
            if not self.verify(it, it.answer):
                raise ItemError(it.id, f"its answer {it.answer!r} fails its own verifier "
                                       f"({answer_mode})")
        self._levels = sorted({it.level for it in self.items})

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> JsonlFamily:
        base = "spec.task.options"
        sources = [k for k in ("path", "text", "lines") if options.get(k) is not None]
        if len(sources) != 1:
            raise SpecError(base, "give exactly one of path, text, lines")
        mode = options.get("answer_mode", "exact")
        tolerance = options.get("tolerance", 1e-6)
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
            raise SpecError(f"{base}.tolerance", "must be a number of 0 or more")
        skills = _skill_infos(options.get("skills"))
        source = options[sources[0]]
        if sources[0] == "path":
            path = Path(str(source))
            try:
                source = path.read_bytes()  # decoded line by line: a bad byte names its line
            except OSError as exc:
                raise SpecError(f"{base}.path", f"cannot read {path}: {exc.strerror}") from None
        elif sources[0] == "lines" and not isinstance(source, list):
            raise SpecError(f"{base}.lines", "must be a list")
        elif sources[0] == "text" and not isinstance(source, str):
            raise SpecError(f"{base}.text", "must be a string")
        names = [s.name for s in skills] if skills is not None else None
        items, errors, ids = _parse(source, skills=names, answer_mode=mode,
                                    tolerance=float(tolerance))
        if errors:
            line_no, message = errors[0]
            more = f" (and {len(errors) - 1} more bad lines)" if len(errors) > 1 else ""
            raise ItemError(ids.get(line_no, f"line {line_no}"),
                            f"line {line_no}: {message}{more}")
        if items and all(it.meta.get("split") in EVAL_SPLITS for it in items):
            raise SpecError(f"{base}.{sources[0]}", "every row has split eval or held_out: "
                                                    "nothing is left to train on")
        return cls(items, answer_mode=mode, tolerance=float(tolerance), skills=skills)

    def skills(self) -> list[SkillInfo]:
        return list(self._skills)

    def levels(self) -> list[int]:
        return list(self._levels)

    def split(self, name: str) -> list[Item]:
        """Items whose line declares ``split`` == ``name`` (empty when none declare it)."""
        return [it for it in self.items if it.meta.get("split") == name]

    def eval_items(self) -> list[Item] | None:
        """The rows with ``split`` eval or held_out, in file order; None when no row has one
        (the run then draws its eval split)."""
        rows = [it for it in self.items if it.meta.get("split") in EVAL_SPLITS]
        return rows or None

    def sample(self, *, n: int, rng: random.Random, levels: list[int] | None = None) -> list[Item]:
        """Up to ``n`` distinct training rows (all of them when fewer), in a seeded random
        order. Rows with ``split`` eval or held_out are never drawn."""
        pool = [it for it in self.items if (levels is None or it.level in levels)
                and it.meta.get("split") not in EVAL_SPLITS]
        pool = pool[:]
        rng.shuffle(pool)
        return pool[:n]

    def verify(self, item: Item, prediction: str) -> bool:
        return answers_match(item.answer, prediction, mode=self.answer_mode,
                             tolerance=self.tolerance)


def _skill_infos(value: Any) -> list[SkillInfo] | None:
    field = "spec.task.options.skills"
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise SpecError(field, "must be a non-empty list")
    out = []
    for i, s in enumerate(value):
        if isinstance(s, str) and s.strip():
            out.append(SkillInfo(s))
        elif isinstance(s, Mapping) and isinstance(s.get("name"), str) and s["name"].strip():
            out.append(SkillInfo(s["name"], str(s.get("description") or ""), s.get("parent")))
        else:
            raise SpecError(f"{field}[{i}]", "must be a name or an object with a name")
    return out
