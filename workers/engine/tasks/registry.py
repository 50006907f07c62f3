"""Task families by name: ``build_family`` for the engine, ``FAMILIES`` for the web forms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workers.engine.errors import SpecError
from workers.engine.tasks import arithmetic, jsonl, reasoning_gym
from workers.engine.tasks.base import TaskFamily


@dataclass(frozen=True)
class FamilyInfo:
    name: str
    description: str
    options: Mapping[str, str]  # option name -> help text
    builder: Any  # a class with ``from_options(options)``

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description,
                "options": [{"name": k, "help": v} for k, v in self.options.items()]}


FAMILIES: dict[str, FamilyInfo] = {
    info.name: info
    for info in (
        FamilyInfo(
            "arithmetic",
            "Built-in multi-digit arithmetic (47+38=85): add, sub, mul, compare; level = "
            "number of digits; skills (carry, borrow, ...) known exactly by construction.",
            arithmetic.OPTIONS_HELP, arithmetic.ArithmeticFamily,
        ),
        FamilyInfo(
            "jsonl",
            "Your own items from a JSONL file: prompt, answer, skills (1..5), level, "
            "optional id and split.",
            jsonl.OPTIONS_HELP, jsonl.JsonlFamily,
        ),
        FamilyInfo(
            "reasoning_gym",
            "Datasets of the optional reasoning-gym package, one skill each (sub-skills where "
            "items name their sub-type), levels from each dataset's own difficulty knobs, "
            f"answers judged by its own scorer; needs `{reasoning_gym.INSTALL_HINT}`.",
            reasoning_gym.OPTIONS_HELP, reasoning_gym.ReasoningGymFamily,
        ),
    )
}


def build_family(family: str, options: Mapping[str, Any] | None = None) -> TaskFamily:
    """The task family ``family`` built from its options.

    Raises :class:`SpecError` naming the field (``spec.task.family``,
    ``spec.task.options.<name>``) on an unknown family or option, or a bad option value.
    """
    info = FAMILIES.get(family)
    if info is None:
        raise SpecError("spec.task.family", f"unknown task family {family!r} "
                                            f"(known: {', '.join(FAMILIES)})")
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise SpecError("spec.task.options", "must be a mapping")
    for key in options:
        if key not in info.options:
            raise SpecError(f"spec.task.options.{key}",
                            f"unknown option for {family} (known: {', '.join(info.options)})")
    return info.builder.from_options(dict(options))
