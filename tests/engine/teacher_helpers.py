"""A tiny task family and a scripted LLM backend for the teacher tests."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable

from workers.engine.tasks.base import ATTRIBUTION_ERROR_ANALYSIS, Item, SkillInfo, TaskFamily
from workers.engine.teachers.base import LLMTeacher

_PROMPT = re.compile(r"(\d+)\+(\d+)=")


def _carries(a: int, b: int) -> bool:
    return any((a // 10**i % 10) + (b // 10**i % 10) >= 10 for i in range(6))


def make_item(a: int, b: int) -> Item:
    skills = ("add", "carry") if _carries(a, b) else ("add",)
    return Item(id=f"s-{a}-{b}", prompt=f"{a}+{b}=", answer=str(a + b), skills=skills,
                level=max(len(str(a)), len(str(b))))


class SumFamily(TaskFamily):
    """Additions of 1- and 2-digit numbers; the verifier recomputes the sum from the prompt."""

    name = "sums"
    description = "add two numbers"

    def skills(self) -> list[SkillInfo]:
        return [SkillInfo("add", "add digit by digit"), SkillInfo("carry", "carry a ten")]

    def levels(self) -> list[int]:
        return [1, 2]

    def _draw(self, rng: random.Random, level: int) -> Item:
        lo, hi = (0, 9) if level == 1 else (10, 99)
        return make_item(rng.randint(lo, hi), rng.randint(lo, hi))

    def sample(self, *, n: int, rng: random.Random, levels: list[int] | None = None) -> list[Item]:
        return [self._draw(rng, rng.choice(levels or self.levels())) for _ in range(n)]

    def can_generate(self) -> bool:
        return True

    def generate(self, *, skill: str, level: int, n: int, rng: random.Random) -> list[Item]:
        out: list[Item] = []
        while len(out) < n:
            item = self._draw(rng, level)
            if skill in item.skills:
                out.append(item)
        return out

    def verify(self, item: Item, prediction: str) -> bool:
        m = _PROMPT.fullmatch(item.prompt.strip())
        if m is None:
            return prediction.strip() == item.answer.strip()
        return prediction.strip() == str(int(m.group(1)) + int(m.group(2)))

    def solve(self, item: Item) -> str | None:
        m = _PROMPT.fullmatch(item.prompt.strip())
        return None if m is None else str(int(m.group(1)) + int(m.group(2)))

    attribution = ATTRIBUTION_ERROR_ANALYSIS

    def attribute(self, item: Item, prediction: str) -> tuple[str, ...]:
        a, b = (int(x) for x in _PROMPT.fullmatch(item.prompt).groups())
        no_carry = int("".join(str((a // 10**i % 10 + b // 10**i % 10) % 10)
                               for i in reversed(range(item.level))))
        if "carry" in item.skills and prediction.strip() == str(no_carry):
            return ("carry",)
        return item.skills


class ScriptedTeacher(LLMTeacher):
    """An LLM teacher whose backend answers from a script (a list, or a function of the prompt)."""

    kind = "scripted"

    def __init__(self, answers: Iterable[str] | Callable[[str, str], str], **kwargs):
        super().__init__(SumFamily(), **kwargs)
        self._answer = answers if callable(answers) else _cycle(list(answers))
        self.prompts_seen: list[tuple[str, str]] = []

    def _complete(self, role: str, prompt: str, *, temperature: float = 0.0) -> str:
        self.prompts_seen.append((role, prompt))
        self._count_usage(len(prompt.split()), 1)
        return self._answer(role, prompt)


def _cycle(answers: list[str]) -> Callable[[str, str], str]:
    state = {"i": 0}

    def next_answer(role: str, prompt: str) -> str:
        answer = answers[min(state["i"], len(answers) - 1)]
        state["i"] += 1
        return answer

    return next_answer
