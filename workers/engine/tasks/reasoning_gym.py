"""Adapter for the optional ``reasoning-gym`` package of procedural reasoning datasets.

Options: ``dataset`` (a reasoning-gym dataset name), ``level_field`` (the config field, or
list of fields, set to the level, e.g. ``["min_digits", "max_digits"]``), ``levels`` (the
values it takes), ``config`` (other config fields) and ``skill_from`` (``dataset``: one skill
named after the dataset; ``category``: the dataset's package, e.g. ``arithmetic``).
The verifier is the dataset's own ``score_answer``: correct when the score is 1.0.
"""

from __future__ import annotations

import hashlib
import importlib
import random
from collections.abc import Mapping
from typing import Any

from workers.engine.errors import EngineError, SkillError, SpecError
from workers.engine.tasks.base import Item, SkillInfo, TaskFamily

INSTALL_HINT = "pip install 'curriculum-studio[reasoning-gym]'"
OPTIONS_HELP = {
    "dataset": "reasoning-gym dataset name, e.g. basic_arithmetic (required)",
    "level_field": "config field (or list of fields) the level is written to, e.g. max_digits",
    "levels": "the level values, ascending, e.g. [1, 2, 3]; required with level_field",
    "config": "other dataset config fields, e.g. {\"min_terms\": 2}",
    "skill_from": "dataset (one skill named after the dataset, default) or category",
}
_FIELD = "spec.task.options"


def load_reasoning_gym() -> Any:
    """Import ``reasoning_gym`` lazily, with an install hint when it is missing."""
    try:
        return importlib.import_module("reasoning_gym")
    except ImportError as exc:
        raise EngineError(
            f"the reasoning_gym task family needs the optional reasoning-gym package: "
            f"{INSTALL_HINT} ({exc})"
        ) from exc


class ReasoningGymFamily(TaskFamily):
    name = "reasoning_gym"

    def __init__(self, *, dataset: str, level_field: str | list[str] | None = None,
                 levels: list[int] | None = None, config: Mapping[str, Any] | None = None,
                 skill_from: str = "dataset"):
        if not isinstance(dataset, str) or not dataset.strip():
            raise SpecError(f"{_FIELD}.dataset", "must name a reasoning-gym dataset")
        fields = [level_field] if isinstance(level_field, str) else level_field
        if fields is not None and (
            not isinstance(fields, list) or not fields
            or not all(isinstance(f, str) and f for f in fields)
        ):
            raise SpecError(f"{_FIELD}.level_field", "must be a field name or a list of them")
        if fields and levels is None:
            raise SpecError(f"{_FIELD}.levels", "required with level_field")
        if levels is not None:
            if not isinstance(levels, list) or not levels or not all(
                isinstance(lv, int) and not isinstance(lv, bool) for lv in levels
            ):
                raise SpecError(f"{_FIELD}.levels", "must be a non-empty list of whole numbers")
            if not fields:
                raise SpecError(f"{_FIELD}.level_field", "required with levels")
        if config is not None and not isinstance(config, Mapping):
            raise SpecError(f"{_FIELD}.config", "must be a mapping")
        if skill_from not in ("dataset", "category"):
            raise SpecError(f"{_FIELD}.skill_from", "must be dataset or category")
        self.dataset = dataset
        self.level_fields = list(fields or [])
        self._levels = sorted(set(levels)) if levels else [1]
        self.config = dict(config or {})
        self.rg = load_reasoning_gym()
        self._scorers: dict[int, Any] = {}
        probe = self._create(self._levels[0], size=1, seed=0)
        self._scorers[self._levels[0]] = probe
        if skill_from == "category":
            self.skill = _category(probe) or dataset
        else:
            self.skill = dataset

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ReasoningGymFamily:
        return cls(dataset=options.get("dataset"), level_field=options.get("level_field"),
                   levels=options.get("levels"), config=options.get("config"),
                   skill_from=options.get("skill_from", "dataset"))

    def _create(self, level: int, *, size: int, seed: int) -> Any:
        cfg = dict(self.config)
        for f in self.level_fields:
            cfg[f] = level
        try:
            return self.rg.create_dataset(self.dataset, size=size, seed=seed, **cfg)
        except Exception as exc:  # reasoning-gym raises ValueError, KeyError, AssertionError...
            raise SpecError(f"{_FIELD}.dataset",
                            f"reasoning-gym refused {self.dataset!r} at level {level} with "
                            f"config {cfg}: {type(exc).__name__}: {exc}") from exc

    def skills(self) -> list[SkillInfo]:
        return [SkillInfo(self.skill, f"solve reasoning-gym {self.dataset} problems")]

    def levels(self) -> list[int]:
        return list(self._levels)

    def sample(self, *, n: int, rng: random.Random, levels: list[int] | None = None) -> list[Item]:
        use = self._levels if levels is None else [lv for lv in levels if lv in self._levels]
        if not use:
            raise SpecError("levels", f"{levels} not within this task's levels {self._levels}")
        counts = dict.fromkeys(use, 0)
        for _ in range(n):
            counts[rng.choice(use)] += 1
        items: list[Item] = []
        for lv in use:
            if counts[lv]:
                items += self._items(lv, counts[lv], rng.randrange(2**31))
        rng.shuffle(items)
        return items

    def can_generate(self) -> bool:
        return True

    def generate(self, *, skill: str, level: int, n: int, rng: random.Random) -> list[Item]:
        if skill != self.skill:
            raise SkillError(skill, f"not a skill of this task (known: {self.skill})")
        if level not in self._levels:
            raise SkillError(skill, f"level {level} is not one of {self._levels}")
        return self._items(level, n, rng.randrange(2**31))

    def _items(self, level: int, n: int, seed: int) -> list[Item]:
        data = self._create(level, size=n, seed=seed)
        self._scorers.setdefault(level, data)
        out = []
        for entry in data:
            question, answer = str(entry["question"]), str(entry["answer"])
            digest = hashlib.sha1(
                f"{self.dataset}\x00{level}\x00{question}\x00{answer}".encode()
            ).hexdigest()[:12]
            out.append(Item(
                id=f"rg-{digest}", prompt=question, answer=answer, skills=(self.skill,),
                level=level,
                meta={"dataset": self.dataset, "metadata": dict(entry.get("metadata") or {})},
            ))
        return out

    def _scorer(self, level: int) -> Any:
        if level not in self._scorers:
            self._scorers[level] = self._create(level, size=1, seed=0)
        return self._scorers[level]

    def verify(self, item: Item, prediction: str) -> bool:
        entry = {"question": item.prompt, "answer": item.answer,
                 "metadata": dict(item.meta.get("metadata") or {})}
        score = self._scorer(item.level).score_answer(answer=prediction.strip(), entry=entry)
        return score is not None and float(score) >= 1.0


def _category(dataset: Any) -> str | None:
    """The reasoning-gym package a dataset class lives in (``reasoning_gym.<category>.x``)."""
    parts = type(dataset).__module__.split(".")
    return parts[1] if len(parts) >= 3 and parts[0] == "reasoning_gym" else None
