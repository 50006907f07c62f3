"""Strict parsers for the teacher output contracts (one per role).

Every parser either returns a valid result or raises :class:`ParseError` with a message that
says what was wrong ("skill 'foo' is not in the skill list"). Skill names are matched
case-insensitively after trimming and returned spelled as in the list; a name that is not in
the list is an error, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from workers.engine.errors import EngineError
from workers.engine.tasks.base import MAX_SKILLS_PER_ITEM

MAX_SKILL_NAME = 80
_SKILL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_\- ]*")
_NUMBERED = re.compile(r"([0-9]{1,4})[.)]\s+([^:]+?)\s*:\s*(.*)")
_LEVEL = re.compile(r"[+-]?[0-9]{1,9}")


class ParseError(EngineError):
    """A teacher answer that does not follow its role's output contract."""

    def __init__(self, role: str, message: str, raw: str = ""):
        self.role = role
        self.message = message
        self.raw = raw
        super().__init__(f"{role}: {message}")


@dataclass(frozen=True)
class Grade:
    correct: bool
    reason: str
    missing_skills: tuple[str, ...]


@dataclass(frozen=True)
class Proposal:
    reason: str
    question: str


@dataclass(frozen=True)
class Solution:
    work: str
    answer: str


def _snippet(text: str, limit: int = 40) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _tags(role: str, text: str, names: tuple[str, ...]) -> list[tuple[str, str]]:
    """Split ``text`` into a sequence of ``<name>content</name>`` blocks.

    Only whitespace may appear between and around the blocks; tags do not nest.
    """
    alternatives = "|".join(names)
    block = re.compile(rf"\s*<({alternatives})>(.*?)</\1>\s*", re.DOTALL | re.IGNORECASE)
    opening = re.compile(rf"<\s*/?\s*({alternatives})\s*>", re.IGNORECASE)
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = block.match(text, pos)
        if match is None:
            rest = text[pos:]
            if not rest.strip():
                break
            stray = rest.lstrip()
            found = opening.search(stray)
            if found is None or found.start() > 0:
                raise ParseError(
                    role,
                    f"unexpected text {_snippet(stray)}; answer with only "
                    + "".join(f"<{n}>...</{n}>" for n in names),
                )
            raise ParseError(role, f"tag <{found.group(1).lower()}> is not closed properly")
        name, content = match.group(1).lower(), match.group(2)
        if opening.search(content):
            raise ParseError(role, f"tags may not be nested inside <{name}>")
        out.append((name, content.strip()))
        pos = match.end()
    if not out:
        raise ParseError(role, "the answer is empty" if not text.strip() else "no tags found")
    return out


def match_skills(role: str, raw_names: str, skills: Iterable[str]) -> tuple[str, ...]:
    """Comma-separated names -> names spelled as in ``skills`` (deduplicated, in order)."""
    lookup: dict[str, str] = {}
    for s in skills:
        lookup.setdefault(s.strip().casefold(), s)
    if not raw_names.strip():
        return ()
    out: list[str] = []
    for piece in raw_names.split(","):
        name = piece.strip()
        if not name:
            raise ParseError(role, f"empty skill name in {_snippet(raw_names)}")
        canonical = lookup.get(name.casefold())
        if canonical is None:
            raise ParseError(role, f"skill {name[:MAX_SKILL_NAME]!r} is not in the skill list")
        if canonical not in out:
            out.append(canonical)
    return tuple(out)


def parse_extract_skills(text: str) -> list[tuple[str, str]]:
    """``N. skill_name: description`` lines, numbered 1, 2, 3... -> [(name, description)]."""
    role = "extract_skills"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ParseError(role, "the answer is empty")
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for expected, line in enumerate(lines, 1):
        match = _NUMBERED.fullmatch(line)
        if match is None:
            raise ParseError(
                role, f"line {expected} {_snippet(line)} is not of the form 'N. skill_name: "
                "description'"
            )
        number, name, description = int(match.group(1)), match.group(2).strip(), match.group(3)
        if number != expected:
            raise ParseError(role, f"line {expected} is numbered {number}; expected {expected}")
        if not _SKILL_NAME.fullmatch(name) or len(name) > MAX_SKILL_NAME:
            raise ParseError(
                role, f"line {expected}: {_snippet(name)} is not a valid skill name (letters, "
                f"digits, '_', '-' or spaces, starting with a letter, at most {MAX_SKILL_NAME})"
            )
        if not description.strip():
            raise ParseError(role, f"line {expected}: skill {name!r} has no description")
        if name.casefold() in seen:
            raise ParseError(role, f"line {expected}: skill {name!r} is listed twice")
        seen.add(name.casefold())
        out.append((name, description.strip()))
    return out


def parse_label_skills(text: str, skills: Iterable[str]) -> tuple[str, ...]:
    """``<skill>a, b</skill>`` with 1..5 names from ``skills``."""
    role = "label_skills"
    blocks = _tags(role, text, ("skill",))
    if len(blocks) != 1:
        raise ParseError(role, f"expected one <skill> tag, got {len(blocks)}")
    names = match_skills(role, blocks[0][1], skills)
    if not names:
        raise ParseError(role, "no skill named; give 1 to 5 names from the skill list")
    if len(names) > MAX_SKILLS_PER_ITEM:
        raise ParseError(role, f"{len(names)} skills named; at most {MAX_SKILLS_PER_ITEM}")
    return names


def parse_grade(text: str, skills: Iterable[str]) -> Grade:
    """``<judge>correct|incorrect</judge><reason>...</reason><skill>a, b</skill>``."""
    role = "grade"
    blocks = _tags(role, text, ("judge", "reason", "skill"))
    order = [name for name, _ in blocks]
    if order != ["judge", "reason", "skill"]:
        raise ParseError(
            role, "expected <judge>, <reason> and <skill> once each, in that order; got "
            + ", ".join(f"<{n}>" for n in order)
        )
    judge, reason, names = (content for _, content in blocks)
    verdict = judge.strip().lower()
    if verdict not in ("correct", "incorrect"):
        raise ParseError(role, f"<judge> must be 'correct' or 'incorrect', got {_snippet(judge)}")
    missing = match_skills(role, names, skills)
    if verdict == "incorrect" and not missing:
        raise ParseError(role, "an incorrect answer needs at least one missing skill")
    if len(missing) > MAX_SKILLS_PER_ITEM:
        raise ParseError(role, f"{len(missing)} skills named; at most {MAX_SKILLS_PER_ITEM}")
    return Grade(correct=verdict == "correct", reason=reason, missing_skills=missing)


def parse_synthesize(text: str) -> list[Proposal]:
    """``<reason>...</reason><question>...</question>``, repeated once per new item."""
    role = "synthesize"
    blocks = _tags(role, text, ("reason", "question"))
    if len(blocks) % 2:
        raise ParseError(role, "every <reason> must be followed by its <question>")
    out: list[Proposal] = []
    for i in range(0, len(blocks), 2):
        (first, reason), (second, question) = blocks[i], blocks[i + 1]
        n = i // 2 + 1
        if (first, second) != ("reason", "question"):
            raise ParseError(role, f"item {n}: expected <reason> then <question>")
        if not question:
            raise ParseError(role, f"item {n}: the question is empty")
        if not reason:
            raise ParseError(role, f"item {n}: the reason is empty")
        out.append(Proposal(reason=reason, question=question))
    return out


def parse_solve(text: str) -> Solution:
    """A worked answer ending in one ``<answer>...</answer>``."""
    role = "solve"
    opening = re.compile(r"<answer>", re.IGNORECASE)
    found = opening.findall(text)
    if not found:
        raise ParseError(role, "no <answer>...</answer> at the end")
    if len(found) > 1:
        raise ParseError(role, f"expected one <answer> tag, got {len(found)}")
    match = re.search(r"<answer>(.*?)</answer>\s*\Z", text, re.DOTALL | re.IGNORECASE)
    if match is None:
        raise ParseError(role, "the answer must end with <answer>...</answer> and nothing after")
    answer = match.group(1).strip()
    if not answer:
        raise ParseError(role, "the <answer> tag is empty")
    if re.search(r"</?answer>", answer, re.IGNORECASE):
        raise ParseError(role, "tags may not be nested inside <answer>")
    return Solution(work=text[: match.start()].strip(), answer=answer)


def parse_rate_difficulty(text: str, levels: Iterable[int]) -> int:
    """``<level>N</level>`` with N one of ``levels``."""
    role = "rate_difficulty"
    allowed = list(levels)
    blocks = _tags(role, text, ("level",))
    if len(blocks) != 1:
        raise ParseError(role, f"expected one <level> tag, got {len(blocks)}")
    content = blocks[0][1]
    if not _LEVEL.fullmatch(content):
        raise ParseError(role, f"<level> must hold a whole number, got {_snippet(content)}")
    level = int(content)
    if level not in allowed:
        raise ParseError(
            role, f"level {level} is not on the scale ({', '.join(str(v) for v in allowed)})"
        )
    return level


def normalize_answer(answer: str) -> str:
    """The form in which self-consistency compares solutions: trimmed, case- and space-folded."""
    return " ".join(answer.split()).casefold()
