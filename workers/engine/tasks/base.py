"""The task-family contract: items with skills and a difficulty level, and an exact verifier."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass, field

from workers.engine.splits import problem_key

MAX_SKILLS_PER_ITEM = 5
# How failures are attributed to skills, as a run's record names it (``metrics["attribution"]``).
ATTRIBUTION_ALL = "all skills of failed items"  # no error analysis: every skill is blamed
ATTRIBUTION_ERROR_ANALYSIS = "oracle error analysis"  # the family analyses the wrong answer
ATTRIBUTION_GRADE = "teacher grade"  # an LLM teacher's grade names the missing skills


@dataclass(frozen=True)
class SkillInfo:
    name: str
    description: str = ""
    parent: str | None = None


@dataclass(frozen=True)
class Item:
    """One training or evaluation item. ``skills`` has 1..5 names; ``level`` is an int."""

    id: str
    prompt: str
    answer: str
    skills: tuple[str, ...]
    level: int
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "prompt": self.prompt,
            "answer": self.answer,
            "skills": list(self.skills),
            "level": self.level,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Item:
        return cls(
            id=str(data["id"]),
            prompt=str(data["prompt"]),
            answer=str(data["answer"]),
            skills=tuple(data["skills"]),
            level=int(data["level"]),
            meta=dict(data.get("meta") or {}),
        )


class TaskFamily(ABC):
    """A procedural or file-backed source of items with an exact verifier.

    Everything is reproducible from the ``random.Random`` passed in.
    """

    name: str = ""

    @abstractmethod
    def skills(self) -> list[SkillInfo]:
        """All skills items of this family can require."""

    @abstractmethod
    def levels(self) -> list[int]:
        """All difficulty levels, ascending."""

    @abstractmethod
    def sample(self, *, n: int, rng: random.Random, levels: list[int] | None = None) -> list[Item]:
        """Draw ``n`` items (the seed pool / eval split), optionally restricted to levels."""

    def sample_excluding(self, *, n: int, rng: random.Random, levels: list[int] | None = None,
                         exclude: Collection[str] = frozenset()) -> list[Item]:
        """Up to ``n`` items as :meth:`sample` draws them, none whose
        :func:`~workers.engine.splits.problem_key` is in ``exclude`` (the run's eval and
        held-out problems when its pool is drawn).

        This default draws ``len(exclude)`` more and filters; a family that can draw around
        the excluded problems (arithmetic) overrides it."""
        if not exclude:
            return self.sample(n=n, rng=rng, levels=levels)
        items = self.sample(n=n + len(exclude), rng=rng, levels=levels)
        return [it for it in items if problem_key(it) not in exclude][:n]

    @abstractmethod
    def verify(self, item: Item, prediction: str) -> bool:
        """True when ``prediction`` is a correct answer to ``item``."""

    def eval_items(self) -> list[Item] | None:
        """Items the data itself sets aside for evaluation (JSONL rows with ``split`` eval or
        held_out), which :meth:`sample` never draws; None when the family declares none and
        the run draws its eval split."""
        return None

    def skipped_items(self) -> dict[str, int]:
        """Items the family generated but never used, counted by reason (a reasoning-gym
        item without a reference answer); the loop records them in ``items_skipped``."""
        return {}

    def can_generate(self) -> bool:
        """Whether :meth:`generate` makes new items (the oracle synthesizes with it)."""
        return False

    def generate(self, *, skill: str, level: int, n: int, rng: random.Random) -> list[Item]:
        """New items requiring ``skill`` at ``level`` (oracle synthesis)."""
        raise NotImplementedError(f"task family {self.name!r} cannot generate items")

    def solve(self, item: Item) -> str | None:
        """The family's own exact answer to ``item``, computed from its prompt (never read
        from ``item.answer``); None when the family has no solver or cannot read the prompt.

        Synthesis checks a new item's stated answer against it (the oracle), or the
        teacher's agreed answer (LLM teachers)."""
        return None

    # How :meth:`attribute` blames skills, as the run's record names it.
    attribution: str = ATTRIBUTION_ALL

    def attribute(self, item: Item, prediction: str) -> tuple[str, ...]:
        """Skills the student missed on a failed item (oracle attribution).

        The default blames every skill of the item; families that can tell better
        (error analysis) narrow it down and set :attr:`attribution`.
        """
        return item.skills
