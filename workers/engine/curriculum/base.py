"""The curriculum contract: parameter schemas, observations, data plans, strategies."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from workers.engine.errors import EngineError
from workers.engine.profile import LevelStat, SkillStat, Verdict


@dataclass(frozen=True)
class Param:
    """One strategy parameter; the browser renders a form field from it."""

    name: str
    kind: Literal["int", "float", "bool", "choice"]
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "name": self.name, "kind": self.kind, "default": self.default, "help": self.help,
            "min": self.min, "max": self.max, "choices": list(self.choices),
        }


class ParamError(EngineError):
    """Invalid strategy parameters; ``errors`` maps each bad field to its message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def validate_params(schema: tuple[Param, ...], raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return clean parameters: defaults filled, strings from forms coerced, ranges checked.

    Unknown keys are refused. Raises :class:`ParamError` naming every bad field.
    """
    raw = dict(raw or {})
    known = {p.name for p in schema}
    errors: dict[str, str] = {k: "unknown parameter" for k in raw if k not in known}
    clean: dict[str, Any] = {}
    for p in schema:
        value = raw.get(p.name, p.default)
        if value is None or value == "":
            value = p.default
        try:
            value = _coerce(p, value)
        except (TypeError, ValueError) as exc:
            errors[p.name] = str(exc)
            continue
        if p.kind in ("int", "float"):
            if p.min is not None and value < p.min:
                errors[p.name] = f"must be at least {p.min}"
                continue
            if p.max is not None and value > p.max:
                errors[p.name] = f"must be at most {p.max}"
                continue
        clean[p.name] = value
    if errors:
        raise ParamError(errors)
    return clean


def _coerce(p: Param, value: Any) -> Any:
    if p.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "on", "1", "yes"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "off", "0", "no"):
            return False
        raise ValueError("must be true or false")
    if p.kind == "int":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("must be a whole number")
        try:
            return int(str(value).strip()) if isinstance(value, str) else int(value)
        except ValueError:
            raise ValueError("must be a whole number") from None
    if p.kind == "float":
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise ValueError("must be a number") from None
        if not math.isfinite(out):
            raise ValueError("must be a finite number")
        return out
    if p.kind == "choice":
        if value not in p.choices:
            raise ValueError(f"must be one of {', '.join(p.choices)}")
        return value
    raise TypeError(f"unknown parameter kind {p.kind!r}")


@dataclass(frozen=True)
class Observation:
    """What a strategy sees when it plans round ``round`` (1-based)."""

    round: int
    total_rounds: int
    profile: tuple[SkillStat, ...]  # Missing-Skill-Profile of the previous evaluation
    levels: tuple[LevelStat, ...]  # per-level eval stats of the previous evaluation
    failures: tuple[Verdict, ...]  # failed eval verdicts, with missing_skills filled
    # (skill, level) -> (correct, evaluated) on the previous evaluation (mastery uses it)
    skill_level: Mapping[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    # (skill, level) -> number of pool items; plan only cells that have items (or synthesize)
    pool_counts: Mapping[tuple[str, int], int] = field(default_factory=dict)


@dataclass(frozen=True)
class ArmSignal:
    """Training signal of one arm (a level, or ``skill`` at a level): the student's successes
    on ``samples`` of the round's training items of the arm, of which the round trains on
    ``trained`` (draws).
    When the strategy reads its signal by token, ``token_hits`` of the ``tokens`` answer
    tokens of those samples were predicted right (teacher-forced), and ``token_prob`` is the
    summed probability the student gave the reference token at each of them."""

    level: int
    correct: int
    samples: int
    trained: int = 0
    token_hits: int = 0
    tokens: int = 0
    token_prob: float = 0.0
    skill: str | None = None

    @property
    def success_rate(self) -> float:
        return self.correct / self.samples if self.samples else 0.0

    @property
    def token_rate(self) -> float:
        return self.token_hits / self.tokens if self.tokens else 0.0

    @property
    def token_prob_mean(self) -> float:
        return self.token_prob / self.tokens if self.tokens else 0.0


@dataclass(frozen=True)
class PlanEntry:
    """Draw ``count`` items with ``skill`` (None: any) at ``level`` (None: any).

    A synth entry may name its ``triggers``: the failed eval items (one per (failed item,
    missing skill) pair of this cell) that the new items answer; ``count`` is split evenly
    over them.
    """

    skill: str | None
    level: int | None
    count: int
    source: Literal["pool", "synth"] = "pool"
    reason: str = ""
    triggers: tuple[str, ...] = ()


@dataclass(frozen=True)
class DataPlan:
    entries: tuple[PlanEntry, ...]

    @property
    def total(self) -> int:
        return sum(e.count for e in self.entries)

    def to_dict(self) -> dict:
        return {"entries": [
            {"skill": e.skill, "level": e.level, "count": e.count, "source": e.source,
             "reason": e.reason, **({"triggers": list(e.triggers)} if e.triggers else {})}
            for e in self.entries
        ]}


class Strategy(ABC):
    """A curriculum strategy. Subclasses set ``name``, ``description`` and ``params``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, *, params: Mapping[str, Any] | None, skills: list[str], levels: list[int],
                 budget: int, seed: int):
        self.config = self.clean_params(params)
        self.skills = list(skills)
        self.levels = sorted(levels)
        self.budget = int(budget)  # items per round
        self.seed = int(seed)

    @classmethod
    def check_params(cls, config: Mapping[str, Any]) -> dict[str, str]:
        """Rules between parameters, each already valid alone: the errors by field name."""
        return {}

    @classmethod
    def clean_params(cls, raw: Mapping[str, Any] | None) -> dict[str, Any]:
        """The one judge of a strategy's parameters (forms, specs, the strategy itself):
        :func:`validate_params`, then :meth:`check_params`. Raises :class:`ParamError`."""
        clean = validate_params(cls.params, raw)
        errors = cls.check_params(clean)
        if errors:
            raise ParamError(errors)
        return clean

    @abstractmethod
    def plan(self, obs: Observation) -> DataPlan:
        """The next round's data plan."""

    def update(self, *, round: int, signals: Mapping[Any, ArmSignal]) -> None:  # noqa: B027
        """Learn from the training signals of the round just trained (sec, dump), keyed by
        the arms of :meth:`arms_of`."""

    def arms_of(self, level: int, skills: Sequence[str]) -> list[Any]:
        """The arms whose training signal an item of ``level`` with ``skills`` counts in."""
        return [level]

    def state(self) -> dict:
        """JSON-serializable internal state, logged every round and used to resume."""
        return {}

    def load_state(self, state: Mapping[str, Any]) -> None:  # noqa: B027
        """Restore :meth:`state` (resume from the last finished round)."""

    def level_probabilities(self) -> dict[int, float]:
        """Sampling probability per level under the current state (dashboard)."""
        return {lv: 1.0 / len(self.levels) for lv in self.levels} if self.levels else {}

    def level_scores(self) -> dict[int, float]:
        """The strategy's internal score per level (Q value, UCB score), if any."""
        return {}
