"""Difficulty levels and sub-skills of reasoning-gym datasets (docs/reasoning_gym.md).

A supported dataset has a table of config values per level along its own difficulty
knobs; any other dataset takes its levels from the first attribute of reasoning-gym's
own curriculum for it. Datasets whose items name their sub-type get sub-skills."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_GENERIC_LEVELS = 5


def _exact(**knobs: int) -> dict[str, int]:
    """``{"digits": 2}`` -> ``{"min_digits": 2, "max_digits": 2}``: one value per level."""
    out: dict[str, int] = {}
    for name, value in knobs.items():
        out[f"min_{name}"] = value
        out[f"max_{name}"] = value
    return out


def _symmetric(bound: int) -> dict[str, int]:
    return {"min_real": -bound, "max_real": bound, "min_imag": -bound, "max_imag": bound}


# Level 1..N of each supported dataset: the config values written at that level (docs/
# reasoning_gym.md has the same table). Values grow with the level along the dataset's own
# difficulty knobs.
LEVEL_TABLES: dict[str, tuple[dict[str, Any], ...]] = {
    "basic_arithmetic": tuple(_exact(terms=t, digits=d)
                              for t, d in ((2, 1), (2, 2), (3, 2), (3, 3), (4, 3))),
    "chain_sum": tuple(_exact(terms=t, digits=d)
                       for t, d in ((2, 1), (2, 2), (3, 2), (4, 3), (5, 4))),
    "products": tuple(_exact(terms=t, digits=d)
                      for t, d in ((2, 1), (2, 2), (2, 3), (3, 2), (3, 3))),
    "complex_arithmetic": tuple(_symmetric(b) for b in (5, 10, 100, 1000)),
    "leg_counting": tuple({**_exact(animals=a), "min_instances": 1, "max_instances": i}
                          for a, i in ((1, 3), (2, 3), (3, 5), (5, 8), (8, 15))),
    "gcd": tuple({**_exact(numbers=k), "min_value": 1, "max_value": v}
                 for k, v in ((2, 20), (2, 100), (2, 1000), (3, 1000), (3, 10000))),
    "lcm": tuple({**_exact(numbers=k), "min_value": 1, "max_value": v}
                 for k, v in ((2, 10), (2, 20), (2, 100), (3, 100), (3, 1000))),
    "calendar_arithmetic": tuple({"offset_upper_bound": d} for d in (7, 30, 100, 250, 365)),
    "time_intervals": tuple({"max_time_difference_seconds": s, "max_date_difference_days": d}
                            for s, d in ((3600, 1), (3 * 3600, 7), (12 * 3600, 30),
                                         (24 * 3600, 365))),
}


@dataclass(frozen=True)
class SubSkills:
    """A dataset whose items name their sub-type in ``metadata[metadata_key]``, drawn from
    the values listed in its config field ``config_field``."""

    metadata_key: str
    config_field: str
    names: Mapping[str, str] = field(default_factory=dict)  # value -> skill suffix
    weights_field: str | None = None  # a per-value weight list that must follow config_field

    def suffix(self, value: Any) -> str:
        return self.names.get(str(value), str(value))

    def restrict(self, value: Any) -> dict[str, Any]:
        """Config fields that make the dataset draw only sub-type ``value``."""
        out: dict[str, Any] = {self.config_field: [value]}
        if self.weights_field:
            out[self.weights_field] = [1.0]
        return out


SUB_SKILLS: dict[str, SubSkills] = {
    "complex_arithmetic": SubSkills("operation", "operations",
                                    {"+": "add", "-": "subtract", "*": "multiply",
                                     "/": "divide"}, weights_field="operations_weights"),
    "calendar_arithmetic": SubSkills("task", "tasks"),
    "time_intervals": SubSkills("task_type", "task_types"),
}


def curriculum_knob(name: str) -> tuple[str, list[dict[str, Any]]] | None:
    """(attribute name, level configs) from the first attribute of reasoning-gym's own
    curriculum for dataset ``name``: its values in order, at most MAX_GENERIC_LEVELS; None
    when the dataset has no curriculum or the attribute has a single value."""
    factory = importlib.import_module("reasoning_gym.factory")
    try:
        curriculum = factory.create_curriculum(name)
    except Exception:  # no curriculum registered for it
        return None
    attrs = list(getattr(curriculum, "attributes", {}).values())
    if not attrs:
        return None
    attr = attrs[0]
    values = list(attr.levels)
    configs: list[dict[str, Any]] = []
    if hasattr(attr, "lower_field_name"):
        if getattr(attr, "ensure_interval", False):  # lower < upper: from the first value up
            configs = [{attr.lower_field_name: values[0], attr.upper_field_name: v}
                       for v in values[1:]]
        else:
            configs = [{attr.lower_field_name: v, attr.upper_field_name: v} for v in values]
    elif hasattr(attr, "field_name"):
        configs = [{attr.field_name: v} for v in values]
    configs = configs[:MAX_GENERIC_LEVELS]
    if len(configs) < 2:
        return None
    return attr.name, configs
