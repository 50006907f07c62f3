"""Helpers shared by the strategies: softmax, exact integer allocation, pool look-ups."""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

from workers.engine.curriculum.base import DataPlan, PlanEntry
from workers.engine.errors import EngineError

K = TypeVar("K", bound=Hashable)


def softmax(values: Mapping[K, float], tau: float) -> dict[K, float]:
    """``exp(v / tau)`` normalized; shifted by the max so large values do not overflow."""
    if not values:
        return {}
    top = max(values.values())
    exps = {k: math.exp((v - top) / tau) for k, v in values.items()}
    total = sum(exps.values())
    return {k: e / total for k, e in exps.items()}


def largest_remainder(weights: Mapping[K, float], total: int) -> dict[K, int]:
    """Split ``total`` into integers proportional to ``weights``, summing exactly to ``total``.

    Floors first, then one extra to the largest remainders; ties go to the earlier key, so the
    result is deterministic. All-zero weights split evenly.
    """
    keys = list(weights)
    if not keys:
        if total:
            raise EngineError(f"cannot allocate {total} items over no cells")
        return {}
    w = {k: max(0.0, float(weights[k])) for k in keys}
    s = sum(w.values())
    if s <= 0:
        w = dict.fromkeys(keys, 1.0)
        s = float(len(keys))
    exact = {k: total * w[k] / s for k in keys}
    out = {k: math.floor(exact[k]) for k in keys}
    left = total - sum(out.values())
    order = sorted(range(len(keys)), key=lambda i: (-(exact[keys[i]] - out[keys[i]]), i))
    for i in order[:left]:
        out[keys[i]] += 1
    return out


def multinomial(weights: Mapping[K, float], total: int, rng: random.Random) -> dict[K, int]:
    """``total`` independent draws from the distribution ``weights`` (counts per key)."""
    keys = list(weights)
    out = dict.fromkeys(keys, 0)
    if not keys:
        if total:
            raise EngineError(f"cannot allocate {total} items over no cells")
        return out
    drawn = rng.choices(keys, weights=[max(0.0, weights[k]) for k in keys], k=total) \
        if sum(weights.values()) > 0 else rng.choices(keys, k=total)
    for k in drawn:
        out[k] += 1
    return out


def round_rng(name: str, seed: int, round_: int) -> random.Random:
    """A generator that depends only on (strategy, seed, round): resume-safe sampling."""
    return random.Random(f"{name}:{seed}:{round_}")


def cell_has_items(pool_counts: Mapping[tuple[str, int], int], skill: str, level: int) -> bool:
    """Whether the pool has items for (skill, level). An empty mapping means unknown: yes."""
    return not pool_counts or pool_counts.get((skill, level), 0) > 0


def level_has_items(pool_counts: Mapping[tuple[str, int], int], level: int) -> bool:
    return not pool_counts or any(n > 0 for (_, lv), n in pool_counts.items() if lv == level)


def nearest_level(pool_counts: Mapping[tuple[str, int], int], skill: str, level: int,
                  levels: Iterable[int]) -> int | None:
    """The level closest to ``level`` (the easier one on a tie) where ``skill`` has items."""
    for lv in sorted(levels, key=lambda lv: (abs(lv - level), lv)):
        if cell_has_items(pool_counts, skill, lv):
            return lv
    return None


def round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def finish(entries: Iterable[PlanEntry], budget: int) -> DataPlan:
    """Merge entries of the same cell and source, drop empty ones, check the total."""
    merged: dict[tuple, PlanEntry] = {}
    for e in entries:
        if e.count <= 0:
            continue
        key = (e.skill, e.level, e.source)
        if key in merged:
            old = merged[key]
            reason = old.reason if e.reason in old.reason else f"{old.reason}; {e.reason}"
            triggers = old.triggers + tuple(t for t in e.triggers if t not in old.triggers)
            merged[key] = PlanEntry(e.skill, e.level, old.count + e.count, e.source, reason,
                                    triggers)
        else:
            merged[key] = e
    plan = DataPlan(tuple(merged.values()))
    if plan.total != budget:
        raise EngineError(f"data plan totals {plan.total} items, the budget is {budget}")
    return plan


def level_shares(plan: DataPlan, levels: list[int]) -> dict[int, float]:
    """Share of the plan per level; entries with no level count evenly over all levels."""
    shares = dict.fromkeys(levels, 0.0)
    if not plan.total or not levels:
        return shares
    for e in plan.entries:
        if e.level is None:
            for lv in levels:
                shares[lv] += e.count / len(levels)
        else:
            shares[e.level] = shares.get(e.level, 0.0) + e.count
    return {lv: c / plan.total for lv, c in shares.items()}


def int_keys(mapping: Mapping[str, float]) -> dict[int, float]:
    """JSON turns int keys into strings; turn them back."""
    return {int(k): float(v) for k, v in mapping.items()}


def str_keys(mapping: Mapping[int, float]) -> dict[str, float]:
    return {str(k): float(v) for k, v in mapping.items()}
