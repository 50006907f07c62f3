"""Procedural multi-digit arithmetic for a character-level student.

Prompts are short and plain (``"47+38="`` -> ``"85"``); the level is the number of digits of
the (larger) operand. Skills are labelled by construction: an addition whose columns carry
needs ``add`` and ``carry``, one without needs only ``add``. Failed answers are attributed by
error analysis: ``47+38=`` answered ``75`` has a wrong digit only in the tens column, the
one a carry comes into, so the student missed ``carry`` and nothing else.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Collection, Mapping
from typing import Any

from workers.engine.errors import SkillError, SpecError
from workers.engine.splits import problem_key
from workers.engine.tasks.arithmetic_columns import (
    PROMPT_RE,
    SYMBOL,
    column_error_skills,
    has_borrow,
    has_carry,
    partials_carry,
    partials_without_carries,
    partials_without_shift,
    solve_prompt,
)
from workers.engine.tasks.base import ATTRIBUTION_ERROR_ANALYSIS, Item, SkillInfo, TaskFamily

ALL_LEVELS = (1, 2, 3, 4, 5)
OPS = ("add", "sub", "mul", "compare")
# Tries per item before the weights are judged to exclude (almost) everything.
_MAX_TRIES = 5000
# Draws spent looking for an unused problem with a given skill set before that part of the
# problem space is judged used up (a repeat is never accepted).
_REDRAW_TRIES = 20000
POOL_SIZE_FIELD = "spec.task.pool_size"

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


def _number(rng: random.Random, digits: int) -> int:
    if digits == 1:
        return rng.randint(0, 9)
    return rng.randint(10 ** (digits - 1), 10**digits - 1)


def _item(a: int, b: int, op: str, level: int, kind: str) -> Item:
    sym = SYMBOL[op]
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

    def sample(self, *, n: int, rng: random.Random, levels: list[int] | None = None,
               exclude: Collection[str] = frozenset()) -> list[Item]:
        """``n`` distinct problems, none whose :func:`~workers.engine.splits.problem_key` is
        in ``exclude`` (the eval split when the pool is drawn).

        Each item's skill set is drawn from the family's mix (``skill_weights`` applied);
        when a problem comes up that is already taken, another one with the same skill set is
        drawn, so running out of, say, easy additions never shifts the skill mix. A problem
        space too small for ``n`` raises SpecError naming ``spec.task.pool_size`` with the
        number of distinct problems available.
        """
        use = self._restrict(levels)
        space = distinct_problems(self._ops, use)
        taken = sum(1 for key in set(exclude) if _in_space(key, self._ops, use))
        where = f"arithmetic at levels {use} with ops {', '.join(self._ops)}"
        if n > space - taken:
            aside = f", {space - taken} once the {taken} eval and held-out problems are set " \
                    f"aside" if taken else ""
            raise SpecError(POOL_SIZE_FIELD, f"{n} distinct items asked for, but {where} has "
                                             f"{space} distinct problems{aside}; ask for fewer "
                                             f"or add levels or ops")

        def draw() -> Item:
            return _draw(rng, rng.choice(self._ops), rng.choice(use))

        return _distinct_items(n, rng, draw, self._keep, exclude=exclude,
                               keep_field="spec.task.options.skill_weights",
                               space=f"{where} ({space} distinct problems)",
                               mix="the skill mix skill_weights make" if self._weights else
                               "the family's mix of operations and skills")

    def sample_excluding(self, *, n: int, rng: random.Random, levels: list[int] | None = None,
                         exclude: Collection[str] = frozenset()) -> list[Item]:
        return self.sample(n=n, rng=rng, levels=levels, exclude=exclude)

    def _keep(self, item: Item, rng: random.Random) -> bool:
        p = 1.0
        for s in item.skills:
            p *= self._weights.get(s, 1.0)
        return p >= 1.0 or rng.random() < p

    def can_generate(self) -> bool:
        return True

    def generate(self, *, skill: str, level: int, n: int, rng: random.Random,
                 exclude: Collection[str] = frozenset()) -> list[Item]:
        """Up to ``n`` distinct problems needing ``skill`` at ``level``, none whose problem
        key is in ``exclude``; fewer when the level has no more (never a repeat)."""
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

        return _distinct_items(n, rng, draw, keep, exclude=exclude,
                               keep_field=f"skill {skill} at level {level}", space=None,
                               mix="")

    def verify(self, item: Item, prediction: str) -> bool:
        return prediction.strip() == item.answer.strip()

    def solve(self, item: Item) -> str | None:
        return solve_prompt(item.prompt)

    attribution = ATTRIBUTION_ERROR_ANALYSIS

    def attribute(self, item: Item, prediction: str) -> tuple[str, ...]:
        """Missing skills of a failed item, by error analysis of the wrong answer: additions
        and subtractions column by column (:func:`column_error_skills`), products by their
        known bugs; only skills on the item are blamed."""
        pred = prediction.strip()
        if pred == item.answer.strip():
            return ()
        m = PROMPT_RE.match(item.prompt.strip())
        if not m:
            return item.skills
        a, sym, b = int(m.group(1)), m.group(2), int(m.group(3))
        if (sym == "+" or (sym == "-" and a >= b)) and item.answer.strip() == solve_prompt(
                item.prompt):
            blamed = column_error_skills(a, b, "add" if sym == "+" else "sub", pred)
            on_item = tuple(s for s in blamed if s in item.skills)
            return on_item or item.skills
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


def _distinct_items(n: int, rng: random.Random, draw: Callable[[], Item],
                    keep: Callable[[Item, random.Random], bool], *, exclude: Collection[str],
                    keep_field: str, space: str | None, mix: str) -> list[Item]:
    """``n`` kept items, no two the same problem and none in ``exclude``.

    The first kept draw fixes an item's skill set, so the skill mix is the one ``draw`` and
    ``keep`` make; when that problem is taken, draws go on until an unused problem with the
    same skill set comes up. When none does in ``_REDRAW_TRIES`` draws, that part of the
    space is used up: SpecError naming ``spec.task.pool_size`` (``space`` describes it), or,
    with ``space`` None (generation), the items found so far.
    """
    out: list[Item] = []
    used = set(exclude)
    for _ in range(n):
        for _try in range(_MAX_TRIES):
            item = draw()
            if keep(item, rng):
                break
        else:
            raise SpecError(keep_field, f"no acceptable item found in {_MAX_TRIES} draws")
        key = problem_key(item)
        if key in used:
            skills = item.skills
            for _try in range(_REDRAW_TRIES):
                item = draw()
                if item.skills == skills:
                    key = problem_key(item)
                    if key not in used:
                        break
            else:
                if space is None:
                    return out
                raise SpecError(POOL_SIZE_FIELD, (
                    f"{n} distinct items asked for, but {space} runs out of unused problems "
                    f"needing {' + '.join(skills)} after {len(out)} items at {mix}; ask for "
                    f"at most about {len(out)} or add levels or ops"))
        used.add(key)
        out.append(item)
    return out


def _span(level: int) -> int:
    """How many numbers have ``level`` digits (level 1: 0..9)."""
    return 10 if level == 1 else 9 * 10 ** (level - 1)


def _digits_of(x: int) -> int:
    return len(str(x))


def cell_problems(op: str, level: int) -> int:
    """How many distinct problems ``_draw`` can make for ``op`` at ``level``."""
    r = _span(level)
    if op in ("add", "compare"):
        return r * r
    if op == "sub":
        return r * (r + 1) // 2  # a >= b
    # mul: a single-digit factor 2..9, or (above level 1) a factor of 2..level digits
    return r * 8 + (r * sum(_span(d) for d in range(2, level + 1)) if level > 1 else 0)


def distinct_problems(ops: list[str], levels: list[int]) -> int:
    """How many distinct problems the family has with ``ops`` at ``levels``."""
    return sum(cell_problems(op, lv) for op in ops for lv in levels)


def _in_space(key: str, ops: list[str], levels: list[int]) -> bool:
    """Whether the problem ``key`` (``arith:+:47:38``) is one ``_draw`` makes at ``levels``."""
    parts = key.split(":")
    if len(parts) != 4 or parts[0] != "arith":
        return False
    op = next((o for o, sym in SYMBOL.items() if sym == parts[1]), None)
    a, b = int(parts[2]), int(parts[3])
    level = _digits_of(a)
    if op not in ops or level not in levels:
        return False
    if op == "mul":
        return 2 <= b <= 9 or (b >= 10 and _digits_of(b) <= level)
    if _digits_of(b) != level:
        return False
    return op != "sub" or a >= b


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
