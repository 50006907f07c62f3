"""The numbers of a comparison, from plain rows (pure: no database, no Django).

Runs are put into groups by one launch parameter (:func:`group_value`); within a group the
runs are the repeats (seeds) of one setting. Per round the group's accuracy is the mean over
its runs with the sample standard deviation (0 for one run), on a training-steps axis
(round index × the run's ``steps_per_round``). The final table takes each run's last stored
round.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# Group-by keys read from the run's own fields (label shown in the picker).
FIELD_KEYS = {
    "strategy": "curriculum strategy",
    "curriculum": "curriculum",
    "student": "student",
    "student_preset": "student preset",
    "teacher": "teacher",
    "steps_per_round": "steps per round",
    "lr": "learning rate",
    "batch_size": "batch size",
    "rounds": "rounds",
    "eval_size": "eval size",
    "run": "each run alone",
}
SPEC_PREFIX = "spec."
# Spec entries that are the run fields above, or never a grouping (seeds are what a group
# averages over; secrets, prompt text and machine paths never reach a page).
_SPEC_SKIPPED = {
    "seed", "device", "rounds", "train.steps_per_round", "train.lr", "train.batch_size",
    "curriculum.strategy", "task.eval_size", "student.preset", "student.model_dir",
    "teacher.prompts", "teacher.base_url", "teacher.model_dir", "teacher.allowed_hosts",
}
_SECRET_WORDS = ("key", "secret", "token", "password", "authorization", "prompt")
_MAX_VALUE_CHARS = 80


def flatten_spec(spec: Mapping | None, prefix: str = "") -> dict[str, str]:
    """The spec's scalar and list entries as ``{"dotted.path": "text"}``, without seeds,
    secrets, prompt text and paths."""
    out: dict[str, str] = {}
    if not isinstance(spec, Mapping):
        return out
    for key, value in spec.items():
        path = f"{prefix}{key}"
        last = str(key).lower()
        if path in _SPEC_SKIPPED or "seed" in last or any(w in last for w in _SECRET_WORDS):
            continue
        if isinstance(value, Mapping):
            out.update(flatten_spec(value, prefix=f"{path}."))
        elif isinstance(value, (list, tuple)):
            if all(isinstance(v, (str, int, float, bool)) or v is None for v in value):
                out[path] = _text(list(value))
        else:
            out[path] = _text(value)
    return out


def _text(value) -> str:
    if isinstance(value, list):
        text = "[" + ", ".join(_text(v) for v in value) + "]"
    elif value is None:
        text = "none"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:g}"
    else:
        text = str(value)
    return text[:_MAX_VALUE_CHARS]


def group_value(run: Mapping, key: str) -> str:
    """The label of ``run``'s group under ``key`` (a FIELD_KEYS key or ``spec.<path>``)."""
    if key == "run":
        return f"{run['name']} (#{run['pk']})"
    if key.startswith(SPEC_PREFIX):
        return run["flat_spec"].get(key[len(SPEC_PREFIX):], "(unset)")
    return _text(run.get(key))


def group_options(runs: Sequence[Mapping], current: str = "strategy") -> list[tuple[str, str]]:
    """(key, label) of the launch parameters worth grouping by: those whose values differ
    between the runs, with ``strategy``, ``run`` and ``current`` always offered."""
    always = {"strategy", "run", current}
    out = []
    for key, label in FIELD_KEYS.items():
        if key in always or len({group_value(r, key) for r in runs}) > 1:
            out.append((key, label))
    paths = sorted({p for r in runs for p in r["flat_spec"]})
    for path in paths:
        key = SPEC_PREFIX + path
        if key in always or len({group_value(r, key) for r in runs}) > 1:
            out.append((key, path))
    if current.startswith(SPEC_PREFIX) and current not in {k for k, _ in out}:
        out.append((current, current[len(SPEC_PREFIX):]))
    return out


def group_key_valid(key: str) -> bool:
    if key in FIELD_KEYS:
        return True
    path = key[len(SPEC_PREFIX):] if key.startswith(SPEC_PREFIX) else ""
    parts = path.split(".")
    return bool(path) and len(key) <= 100 and all(p.isidentifier() for p in parts)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value; NaN for none), in plain float
    arithmetic (``statistics.stdev`` computes exactly, with fractions: 50 times slower)."""
    n = len(values)
    if not n:
        return math.nan, math.nan
    mean = math.fsum(values) / n
    if n == 1:
        return mean, 0.0
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))


@dataclass
class Group:
    label: str
    runs: list[Mapping] = field(default_factory=list)


def make_groups(runs: Sequence[Mapping], key: str) -> list[Group]:
    """Runs grouped by ``key``, groups sorted by label (numbers numerically)."""
    groups: dict[str, Group] = {}
    for run in runs:
        label = group_value(run, key)
        groups.setdefault(label, Group(label)).runs.append(run)

    def order(label: str):
        try:
            return (0, float(label), label)
        except ValueError:
            return (1, 0.0, label)
    return [groups[label] for label in sorted(groups, key=order)]


def series(groups: Sequence[Group], rounds_by_run: Mapping[int, Sequence[Mapping]],
           metric: str) -> list[dict]:
    """Per group: ``{"label", "steps", "rounds", "mean", "std", "n"}`` of ``metric`` over the
    group's runs, one point per training-steps value (rounds lacking it are skipped)."""
    out = []
    for group in groups:
        points: dict[int, list[float]] = {}
        index_of: dict[int, int] = {}
        for run in group.runs:
            for rnd in rounds_by_run.get(run["pk"], ()):
                value = rnd.get(metric)
                if value is None or not math.isfinite(value):
                    continue
                steps = rnd["index"] * (run["steps_per_round"] or 0)
                points.setdefault(steps, []).append(value)
                index_of.setdefault(steps, rnd["index"])
        steps = sorted(points)
        stats = [mean_std(points[s]) for s in steps]
        out.append({"label": group.label, "steps": steps, "rounds": [index_of[s] for s in steps],
                    "mean": [m for m, _ in stats], "std": [s for _, s in stats],
                    "n": [len(points[s]) for s in steps]})
    return out


def skill_tree_order(skills: Iterable[Mapping]) -> list[Mapping]:
    """Skills (``id``, ``name``, ``parent_id``) parents first, siblings by name."""
    skills = list(skills)
    ids = {s["id"] for s in skills}
    children: dict[int | None, list[Mapping]] = {}
    for s in skills:
        parent = s["parent_id"] if s["parent_id"] in ids else None
        children.setdefault(parent, []).append(s)
    out: list[Mapping] = []
    seen: set[int] = set()
    stack = sorted(children.get(None, []), key=lambda s: s["name"], reverse=True)
    while stack:
        s = stack.pop()
        if s["id"] in seen:
            continue
        seen.add(s["id"])
        out.append(s)
        stack.extend(sorted(children.get(s["id"], []), key=lambda c: c["name"], reverse=True))
    out.extend(s for s in sorted(skills, key=lambda s: s["name"]) if s["id"] not in seen)
    return out
