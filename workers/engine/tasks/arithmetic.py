"""Procedural multi-digit arithmetic for a character-level student.

Prompts are short and plain (``"47+38="`` -> ``"85"``); the level is the number of digits of
the (larger) operand. Skills are labelled by construction: an addition whose columns carry
needs ``add`` and ``carry``, one without needs only ``add``. Failed answers are attributed by
error analysis: ``47+38=`` answered ``75`` is the digit-wise sum with the carries dropped, so
the student missed ``carry`` and nothing else.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Mapping
from typing import Any

from workers.engine.errors import SkillError, SpecError
from workers.engine.tasks.base import Item, SkillInfo, TaskFamily

ALL_LEVELS = (1, 2, 3, 4, 5)
OPS = ("add", "sub", "mul", "compare")
_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "compare": "?"}
_PROMPT_RE = re.compile(r"^(\d+)([+\-*?])(\d+)=$")
# Tries per item before the weights are judged to exclude (almost) everything.
_MAX_TRIES = 5000
# Tries per item before a repeated prompt is accepted (small levels have few distinct items).
_DUP_TRIES = 200

SKILLS: tuple[SkillInfo, ...] = (
    SkillInfo("add", "add two numbers column by column"),
    SkillInfo("carry", "carry a ten into the next column when a column sum reaches 10", "add"),
    SkillInfo("sub", "subtract a smaller number from a larger one column by column"),
    SkillInfo("borrow", "borrow a ten from the next column when a column digit is too small",
              "sub"),
    SkillInfo("mul_digit", "multiply a number by a single digit"),
    SkillInfo("mul_multi", "multiply by a multi-digit number: shifted partial products, summed",
              "mul_digit"),
    SkillInfo("compare", "tell whether the first number is smaller, larger or equal (<, >, =)"),
)
_SKILL_OPS = {
    "add": "add", "carry": "add", "sub": "sub", "borrow": "sub",
    "mul_digit": "mul", "mul_multi": "mul", "compare": "compare",
}

OPTIONS_HELP = {
    "levels": "difficulty levels (number of digits) to use, a subset of 1..5; default all",
    "ops": "operations to include, a subset of add, sub, mul, compare; default all",
    "skill_weights": "skill -> weight in [0, 1]: the chance that a drawn item needing the "
                     "skill is kept, e.g. {\"borrow\": 0.05} makes borrowing rare; default 1. "
                     "Set it in spec.task.pool_options to skew the seed pool only and keep "
                     "the eval split natural",
}


def _digits(x: int) -> list[int]:
    """Little-endian decimal digits."""
    return [int(c) for c in reversed(str(x))]


def _from_digits(ds: list[int]) -> int:
    return int("".join(str(d) for d in reversed(ds)) or "0")


def _columns(a: int, b: int) -> tuple[list[int], list[int]]:
    da, db = _digits(a), _digits(b)
    width = max(len(da), len(db))
    return da + [0] * (width - len(da)), db + [0] * (width - len(db))


def has_carry(a: int, b: int) -> bool:
    da, db = _columns(a, b)
    carry = 0
    for x, y in zip(da, db, strict=True):
        carry = (x + y + carry) // 10
        if carry:
            return True
    return False


def has_borrow(a: int, b: int) -> bool:
    """Whether ``a - b`` (a >= b) borrows in some column."""
    da, db = _columns(a, b)
    borrow = 0
    for x, y in zip(da, db, strict=True):
        borrow = 1 if x - y - borrow < 0 else 0
        if borrow:
            return True
    return False


def sum_without_carries(a: int, b: int) -> int:
    da, db = _columns(a, b)
    return _from_digits([(x + y) % 10 for x, y in zip(da, db, strict=True)])


def diff_without_borrows(a: int, b: int) -> int:
    da, db = _columns(a, b)
    return _from_digits([(x - y) % 10 for x, y in zip(da, db, strict=True)])


def diff_smaller_from_larger(a: int, b: int) -> int:
    """The classic borrow bug: each column subtracts its smaller digit from its larger one."""
    da, db = _columns(a, b)
    return _from_digits([abs(x - y) for x, y in zip(da, db, strict=True)])


def _partial_products(a: int, b: int) -> list[int]:
    return [a * d * 10**i for i, d in enumerate(_digits(b))]


def partials_carry(a: int, b: int) -> bool:
    """Whether summing the shifted partial products of ``a * b`` carries in some column."""
    rows = [_digits(p) for p in _partial_products(a, b)]
    width = max(len(r) for r in rows)
    carry = 0
    for col in range(width):
        total = sum(r[col] for r in rows if col < len(r)) + carry
        carry = total // 10
        if carry:
            return True
    return False


def partials_without_carries(a: int, b: int) -> int:
    rows = [_digits(p) for p in _partial_products(a, b)]
    width = max(len(r) for r in rows)
    return _from_digits([sum(r[col] for r in rows if col < len(r)) % 10 for col in range(width)])


def partials_without_shift(a: int, b: int) -> int:
    return sum(a * d for d in _digits(b))


def _number(rng: random.Random, digits: int) -> int:
    if digits == 1:
        return rng.randint(0, 9)
    return rng.randint(10 ** (digits - 1), 10**digits - 1)


def _item(a: int, b: int, op: str, level: int, kind: str) -> Item:
    sym = _SYMBOL[op]
    prompt = f"{a}{sym}{b}="
    if op == "add":
        answer = str(a + b)
        skills: tuple[str, ...] = ("add", "carry") if has_carry(a, b) else ("add",)
    elif op == "sub":
        answer = str(a - b)
        skills = ("sub", "borrow") if has_borrow(a, b) else ("sub",)
    elif op == "mul":
        answer = str(a * b)
        if kind == "mul_multi":
            skills = ("mul_digit", "mul_multi", "add")
            if partials_carry(a, b):
                skills += ("carry",)
        else:
            skills = ("mul_digit",)
    else:
        answer = "<" if a < b else ">" if a > b else "="
        skills = ("compare",)
    return Item(
        id=item_id(prompt, answer), prompt=prompt, answer=answer, skills=skills, level=level,
        meta={"op": op, "a": a, "b": b},
    )


def item_id(prompt: str, answer: str) -> str:
    """Deterministic id: a hash of prompt and answer."""
    return "ar-" + hashlib.sha1(f"{prompt}\x00{answer}".encode()).hexdigest()[:12]


def _draw(rng: random.Random, op: str, level: int, kind: str | None = None) -> Item:
    """One random item of ``op`` at ``level``; ``kind`` picks mul_digit or mul_multi."""
    if op == "mul":
        if kind is None:
            kind = "mul_multi" if level > 1 and rng.random() < 0.5 else "mul_digit"
        a = _number(rng, level)
        b = rng.randint(2, 9) if kind == "mul_digit" else _number(rng, rng.randint(2, level))
        return _item(a, b, "mul", level, kind)
    a, b = _number(rng, level), _number(rng, level)
    if op == "sub" and a < b:
        a, b = b, a
    if op == "compare" and rng.random() < 0.2:
        b = a  # equal pairs are otherwise vanishingly rare
    return _item(a, b, op, level, op)


class ArithmeticFamily(TaskFamily):
    """Addition, subtraction, multiplication and comparison of 1..5 digit numbers."""

    name = "arithmetic"

    def __init__(self, *, levels: list[int] | None = None, ops: list[str] | None = None,
                 skill_weights: Mapping[str, float] | None = None):
        self._levels = _check_levels(levels)
        self._ops = _check_ops(ops)
        self._skills = [s for s in SKILLS if _SKILL_OPS[s.name] in self._ops]
        if "mul" in self._ops and "add" not in self._ops:
            # multi-digit products sum their partial products: they need add and carry too
            self._skills = [s for s in SKILLS if s.name in ("add", "carry")] + self._skills
        self._weights = _check_weights(skill_weights, [s.name for s in self._skills])

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ArithmeticFamily:
        return cls(levels=options.get("levels"), ops=options.get("ops"),
                   skill_weights=options.get("skill_weights"))

    def skills(self) -> list[SkillInfo]:
        return list(self._skills)

    def levels(self) -> list[int]:
        return list(self._levels)

    def sample(self, *, n: int, rng: random.Random, levels: list[int] | None = None) -> list[Item]:
        use = self._restrict(levels)

        def draw() -> Item:
            return _draw(rng, rng.choice(self._ops), rng.choice(use))

        return _unique_items(n, rng, draw, self._keep, "spec.task.options.skill_weights")

    def _keep(self, item: Item, rng: random.Random) -> bool:
        p = 1.0
        for s in item.skills:
            p *= self._weights.get(s, 1.0)
        return p >= 1.0 or rng.random() < p

    def can_generate(self) -> bool:
        return True

    def generate(self, *, skill: str, level: int, n: int, rng: random.Random) -> list[Item]:
        if skill not in {s.name for s in self._skills}:
            raise SkillError(skill, f"not a skill of this task (known: "
                                    f"{', '.join(s.name for s in self._skills)})")
        if level not in self._levels:
            raise SkillError(skill, f"level {level} is not one of {self._levels}")
        impossible = {
            "borrow": "a single-digit subtraction with a non-negative result never borrows",
            "mul_multi": "level 1 has only single-digit factors",
        }
        if level == 1 and skill in impossible:
            raise SkillError(skill, f"cannot be required at level {level}: {impossible[skill]}")
        op = _SKILL_OPS[skill]
        kind = skill if skill in ("mul_digit", "mul_multi") else None
        if skill in ("add", "carry") and "add" not in self._ops:
            op, kind = "mul", "mul_multi"  # only products exercise add/carry here
            if level == 1:
                raise SkillError(skill, "cannot be required at level 1 without additions")

        def draw() -> Item:
            return _draw(rng, op, level, kind)

        def keep(item: Item, _rng: random.Random) -> bool:
            return skill in item.skills

        return _unique_items(n, rng, draw, keep, f"skill {skill} at level {level}")

    def verify(self, item: Item, prediction: str) -> bool:
        return prediction.strip() == item.answer.strip()

    def attribute(self, item: Item, prediction: str) -> tuple[str, ...]:
        """Missing skills of a failed item, by error analysis of the wrong answer."""
        pred = prediction.strip()
        if pred == item.answer.strip():
            return ()
        m = _PROMPT_RE.match(item.prompt.strip())
        if not m:
            return item.skills
        a, sym, b = int(m.group(1)), m.group(2), int(m.group(3))
        if sym == "+" and "carry" in item.skills:
            width = max(len(str(a)), len(str(b)))
            dropped_final = (a + b) % 10**width
            if pred in (str(sum_without_carries(a, b)), str(dropped_final)):
                return ("carry",)
        borrow_bugs = (str(diff_without_borrows(a, b)), str(diff_smaller_from_larger(a, b)))
        if sym == "-" and "borrow" in item.skills and pred in borrow_bugs:
            return ("borrow",)
        if sym == "*" and "mul_multi" in item.skills:
            if pred == str(partials_without_shift(a, b)):
                return ("mul_multi",)
            if "carry" in item.skills and pred == str(partials_without_carries(a, b)):
                return ("carry",)
        return item.skills

    def _restrict(self, levels: list[int] | None) -> list[int]:
        if levels is None:
            return list(self._levels)
        bad = [lv for lv in levels if lv not in self._levels]
        if bad or not levels:
            raise SpecError("levels", f"{bad or levels} not within this task's levels "
                                      f"{self._levels}")
        return sorted(set(levels))


def _unique_items(n: int, rng: random.Random, draw: Callable[[], Item],
                  keep: Callable[[Item, random.Random], bool], what: str) -> list[Item]:
    """Draw ``n`` kept items, avoiding repeated prompts while that stays feasible.

    A repeat (only when a level has few distinct items) gets a suffixed id so ids stay unique.
    """
    out: list[Item] = []
    seen: dict[str, int] = {}
    for _ in range(n):
        for tries in range(_MAX_TRIES):
            item = draw()
            if not keep(item, rng):
                continue
            if item.id in seen and tries < _DUP_TRIES:
                continue
            break
        else:
            raise SpecError(what, f"no acceptable item found in {_MAX_TRIES} draws")
        count = seen.get(item.id, 0) + 1
        seen[item.id] = count
        if count > 1:
            item = Item(id=f"{item.id}-{count}", prompt=item.prompt, answer=item.answer,
                        skills=item.skills, level=item.level, meta=item.meta)
        out.append(item)
    return out


def _check_levels(levels: Any) -> list[int]:
    field = "spec.task.options.levels"
    if levels is None:
        return list(ALL_LEVELS)
    if not isinstance(levels, (list, tuple)) or not levels:
        raise SpecError(field, "must be a non-empty list of levels")
    for lv in levels:
        if isinstance(lv, bool) or not isinstance(lv, int) or lv not in ALL_LEVELS:
            raise SpecError(field, f"{lv!r} is not a level (levels are 1..5 digits)")
    return sorted(set(levels))


def _check_ops(ops: Any) -> list[str]:
    field = "spec.task.options.ops"
    if ops is None:
        return list(OPS)
    if not isinstance(ops, (list, tuple)) or not ops:
        raise SpecError(field, f"must be a non-empty list of {', '.join(OPS)}")
    for op in ops:
        if op not in OPS:
            raise SpecError(field, f"{op!r} is not an operation (known: {', '.join(OPS)})")
    return [op for op in OPS if op in ops]


def _check_weights(weights: Any, skills: list[str]) -> dict[str, float]:
    field = "spec.task.options.skill_weights"
    if weights is None:
        return {}
    if not isinstance(weights, Mapping):
        raise SpecError(field, "must be a mapping of skill to weight")
    out = {}
    for skill, w in weights.items():
        if skill not in skills:
            raise SpecError(f"{field}.{skill}", f"unknown skill (known: {', '.join(skills)})")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0.0 <= w <= 1.0:
            raise SpecError(f"{field}.{skill}", "must be a number between 0 and 1")
        out[skill] = float(w)
    return out
