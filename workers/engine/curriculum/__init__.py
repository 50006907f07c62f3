"""Curriculum strategies. ``STRATEGIES`` maps each name to its class.

``get_strategy(name)`` returns the class (``SpecError`` on an unknown name);
``strategy_schema(name)`` the parameter form the browser renders.
"""

from __future__ import annotations

from workers.engine.curriculum.bandit import Dump, Sec
from workers.engine.curriculum.base import (
    ArmSignal,
    DataPlan,
    Observation,
    Param,
    ParamError,
    PlanEntry,
    Strategy,
    validate_params,
)
from workers.engine.curriculum.mastery import Mastery
from workers.engine.curriculum.simple import EasyToHard, HardToEasy, Uniform
from workers.engine.curriculum.skill_targeted import StatSel, StatSyn
from workers.engine.errors import SpecError

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (Uniform, EasyToHard, HardToEasy, StatSel, StatSyn, Sec, Dump, Mastery)
}


def get_strategy(name: str) -> type[Strategy]:
    try:
        return STRATEGIES[name]
    except (KeyError, TypeError):
        raise SpecError("spec.curriculum.strategy",
                        f"unknown strategy {name!r} (known: {', '.join(STRATEGIES)})") from None


def strategy_schema(name: str) -> list[dict]:
    """The strategy's parameters as dicts (name, kind, default, help, min, max, choices)."""
    return [p.to_dict() for p in get_strategy(name).params]


__all__ = [
    "STRATEGIES", "ArmSignal", "DataPlan", "Observation", "Param", "ParamError", "PlanEntry",
    "Strategy", "get_strategy", "strategy_schema", "validate_params",
]
