"""``mastery``: a difficulty level per skill, promoted and demoted by the skill's accuracy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.engine.curriculum.alloc import (
    cell_has_items,
    finish,
    int_keys,
    largest_remainder,
    level_shares,
    str_keys,
)
from workers.engine.curriculum.base import (
    DataPlan,
    Observation,
    Param,
    PlanEntry,
    Strategy,
)


class Mastery(Strategy):
    """Each skill trains at its own current level (start: the lowest level with items).

    Before planning round r, a skill whose accuracy at its current level on the last
    evaluation (``obs.skill_level``, at least ``min_evaluated`` items) is >= ``promote``
    moves one level up; one under ``demote`` moves one level down. The round's budget is
    split over skills by their miss share in the profile, each at least ``floor``.
    """

    name = "mastery"
    description = ("Per-skill mastery: each skill trains at its own level, moving up when "
                   "mastered and down when forgotten; skills weighted by the profile.")
    params = (
        Param("promote", "float", 0.8, "accuracy at the current level that moves a skill up",
              min=0.0, max=1.0),
        Param("demote", "float", 0.4, "accuracy under which a skill moves down a level",
              min=0.0, max=1.0),
        Param("floor", "float", 0.05, "smallest weight of a skill, so mastered skills still "
              "get some data", min=0.0, max=1.0),
        Param("min_evaluated", "int", 4, "eval items a skill needs at its level before it "
              "moves", min=1, max=100000),
    )

    @classmethod
    def check_params(cls, config: Mapping[str, Any]) -> dict[str, str]:
        promote, demote = config["promote"], config["demote"]
        if demote >= promote:
            return {"demote": f"demote ({demote:g}) must be lower than promote ({promote:g}); "
                              "otherwise one accuracy would move a skill up and down"}
        return {}

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        low = self.levels[0] if self.levels else 0
        self.skill_levels: dict[str, int] = dict.fromkeys(self.skills, low)
        self._round = 0
        self._moves: list[dict] = []
        self._weights: dict[str, float] = {}
        self._shares: dict[int, float] = {}

    def _move(self, obs: Observation, skill: str, available: list[int]) -> int:
        cur = self.skill_levels.get(skill, available[0])
        if cur not in available:  # the pool has no items there: nearest level that has
            cur = min(available, key=lambda lv: (abs(lv - cur), lv))
        correct, evaluated = obs.skill_level.get((skill, cur), (0, 0))
        if evaluated < self.config["min_evaluated"]:
            return cur
        acc = correct / evaluated
        i = available.index(cur)
        new = cur
        if acc >= self.config["promote"] and i + 1 < len(available):
            new = available[i + 1]
        elif acc < self.config["demote"] and i > 0:
            new = available[i - 1]
        if new != cur:
            self._moves.append({"skill": skill, "from": cur, "to": new,
                                "accuracy": round(acc, 4)})
        return new

    def plan(self, obs: Observation) -> DataPlan:
        moving = obs.round > self._round  # planning a round again must not move twice
        if moving:
            self._moves = []
        levels: dict[str, int] = {}
        for skill in self.skills:
            available = [lv for lv in self.levels if cell_has_items(obs.pool_counts, skill, lv)]
            if not available:
                continue  # no item needs this skill: nothing to draw
            if moving:
                levels[skill] = self._move(obs, skill, available)
            else:
                cur = self.skill_levels[skill]
                levels[skill] = min(available, key=lambda lv, c=cur: (abs(lv - c), lv))
        self.skill_levels.update(levels)
        self._round = max(self._round, obs.round)
        if not levels:
            self._weights = {}
            plan = finish([PlanEntry(None, None, self.budget,
                                     reason="no skill has pool items")], self.budget)
            self._shares = level_shares(plan, self.levels)
            return plan
        share = {row.skill: row.miss_share for row in obs.profile}
        raw = {s: max(share.get(s, 0.0), self.config["floor"]) for s in levels}
        total = sum(raw.values())
        self._weights = {s: (w / total if total else 1.0 / len(raw)) for s, w in raw.items()}
        counts = largest_remainder(self._weights, self.budget)
        plan = finish(
            [PlanEntry(s, levels[s], n, reason=f"{s} at level {levels[s]}, miss share "
                                               f"{share.get(s, 0.0):.2f}")
             for s, n in counts.items()],
            self.budget,
        )
        self._shares = level_shares(plan, self.levels)
        return plan

    def level_probabilities(self) -> dict[int, float]:
        if self._shares:
            return dict(self._shares)
        shares = dict.fromkeys(self.levels, 0.0)
        for lv in self.skill_levels.values():
            shares[lv] = shares.get(lv, 0.0) + 1.0 / len(self.skill_levels)
        return shares

    def state(self) -> dict:
        return {
            "round": self._round,
            "skill_levels": dict(self.skill_levels),
            "moves": list(self._moves),
            "weights": dict(self._weights),
            "level_shares": str_keys(self._shares),
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        self._round = int(state.get("round", 0))
        self.skill_levels.update({s: int(lv) for s, lv in state.get("skill_levels", {}).items()})
        self._moves = [dict(m) for m in state.get("moves", [])]
        self._weights = {s: float(w) for s, w in state.get("weights", {}).items()}
        self._shares = int_keys(state.get("level_shares", {}))
