"""The task-family contract: items with skills and a difficulty level, and an exact verifier."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

MAX_SKILLS_PER_ITEM = 5


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

    @abstractmethod
    def verify(self, item: Item, prediction: str) -> bool:
        """True when ``prediction`` is a correct answer to ``item``."""

    def can_generate(self) -> bool:
        """Whether :meth:`generate` makes new items (the oracle synthesizes with it)."""
        return False

    def generate(self, *, skill: str, level: int, n: int, rng: random.Random) -> list[Item]:
        """New items requiring ``skill`` at ``level`` (oracle synthesis)."""
        raise NotImplementedError(f"task family {self.name!r} cannot generate items")

    def attribute(self, item: Item, prediction: str) -> tuple[str, ...]:
        """Skills the student missed on a failed item (oracle attribution).

        The default blames every skill of the item; families that can tell better
        (error analysis) narrow it down.
        """
        return item.skills
