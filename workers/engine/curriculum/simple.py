"""The control arm (``uniform``) and fixed level orders (``easy_to_hard``, ``hard_to_easy``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from workers.engine.curriculum.alloc import (
    finish,
    int_keys,
    largest_remainder,
    level_has_items,
    str_keys,
)
from workers.engine.curriculum.base import DataPlan, Observation, Param, PlanEntry, Strategy


class Uniform(Strategy):
    name = "uniform"
    description = "Equal weight over all pool items, every round. The control arm."
    params = ()

    def plan(self, obs: Observation) -> DataPlan:
        return finish([PlanEntry(None, None, self.budget, reason="uniform over the pool")],
                      self.budget)


class EasyToHard(Strategy):
    """Levels unlock in a fixed order; all unlocked levels share the round equally.

    With K levels and R rounds, progress t = (r - 1) / (R - 1).
    ``linear``: c = 1 + t (K - 1) levels are open; the i-th level in the order (0-based) has
    weight clip(c - i, 0, 1), so the newest one fades in.
    ``step``: the first 1 + floor((r - 1) K / R) levels are open, each with weight 1.
    The share of the last level in the order grows from 0 to 1/K.
    """

    name = "easy_to_hard"
    description = ("Fixed order from the easiest level to the hardest; a pacing function "
                   "opens harder levels as rounds pass.")
    params = (
        Param("pacing", "choice", "linear",
              "linear: the next level fades in round by round; step: whole levels open in "
              "equal blocks of rounds", choices=("linear", "step")),
    )
    reverse = False

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        # before the first plan: round 1 of any run opens only the first level
        self._weights = {lv: w for lv, w in self.pacing_weights(1, 2).items() if w > 0}
        self._last_round = 0

    def order(self) -> list[int]:
        return list(reversed(self.levels)) if self.reverse else list(self.levels)

    def pacing_weights(self, round_: int, total_rounds: int) -> dict[int, float]:
        """Unnormalized weight of each level at round ``round_`` of ``total_rounds``."""
        order = self.order()
        k = len(order)
        if not k:
            return {}
        if self.config["pacing"] == "step":
            opened = min(k, 1 + math.floor((round_ - 1) * k / max(total_rounds, 1)))
            weights = [1.0 if i < opened else 0.0 for i in range(k)]
        else:
            t = (round_ - 1) / (total_rounds - 1) if total_rounds > 1 else 1.0
            c = 1 + min(max(t, 0.0), 1.0) * (k - 1)
            weights = [min(max(c - i, 0.0), 1.0) for i in range(k)]
        return dict(zip(order, weights, strict=True))

    def plan(self, obs: Observation) -> DataPlan:
        raw = self.pacing_weights(obs.round, obs.total_rounds)
        weights = {lv: w for lv, w in raw.items() if w > 0 and level_has_items(obs.pool_counts, lv)}
        if not weights:  # the open levels have no items: fall back to the pool as a whole
            self._weights, self._last_round = {}, obs.round
            return finish([PlanEntry(None, None, self.budget,
                                     reason="open levels have no pool items")], self.budget)
        total = sum(weights.values())
        self._weights = {lv: w / total for lv, w in weights.items()}
        self._last_round = obs.round
        counts = largest_remainder(self._weights, self.budget)
        return finish(
            [PlanEntry(None, lv, n, reason=f"{self.name} ({self.config['pacing']}) share "
                                           f"{self._weights[lv]:.2f}")
             for lv, n in counts.items()],
            self.budget,
        )

    def level_probabilities(self) -> dict[int, float]:
        if not self._weights:
            return super().level_probabilities()
        return {lv: self._weights.get(lv, 0.0) for lv in self.levels}

    def state(self) -> dict:
        return {"round": self._last_round, "weights": str_keys(self._weights)}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self._last_round = int(state.get("round", 0))
        self._weights = int_keys(state.get("weights", {}))


class HardToEasy(EasyToHard):
    name = "hard_to_easy"
    description = ("Ablation of easy_to_hard: the same pacing, from the hardest level down to "
                   "the easiest.")
    reverse = True
