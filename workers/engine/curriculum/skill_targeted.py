"""Skill-targeted training: ``stat_sel`` selects pool items, ``stat_syn`` synthesizes them.

For each failed eval item and each missing skill it lacks, k items with that skill are wanted
at the failed item's level. The wanted counts are scaled to the round's budget (less a uniform
floor), so a skill's share of the round is proportional to how often the profile blames it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.engine.curriculum.alloc import (
    finish,
    int_keys,
    largest_remainder,
    level_shares,
    nearest_level,
    round_half_up,
    str_keys,
)
from workers.engine.curriculum.base import (
    DataPlan,
    Observation,
    Param,
    ParamError,
    PlanEntry,
    Strategy,
)

Cell = tuple[str, int]
_NO_TARGET = "no failure to target (or no items for its missing skills): uniform"

_K = Param("k", "int", 5, "items per (failed item, missing skill)", min=1, max=1000)
_FLOOR = Param("uniform_floor", "float", 0.10,
               "share of each round drawn uniformly from the whole pool, so mastered skills "
               "are not forgotten", min=0.0, max=1.0)


class StatSel(Strategy):
    name = "stat_sel"
    description = ("Skill-targeted selection: for each failed eval item and each skill it "
                   "misses, draw k pool items with that skill; plus a uniform floor.")
    params = (_K, _FLOOR)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._state: dict[str, Any] = {}
        self._shares: dict[int, float] = {}

    def _pairs(self, obs: Observation, *, need_pool: bool) -> tuple[dict[Cell, int], int]:
        """(failed item, missing skill) pairs per cell, and the pairs that fit no cell.

        A cell is the skill at the failed item's level, or, when the pool has no such items
        (``need_pool``) or the level is not trained, the nearest level that does.
        """
        pairs: dict[Cell, int] = {}
        unplaced = 0
        counts = obs.pool_counts if need_pool else {}
        for v in obs.failures:
            for skill in dict.fromkeys(v.missing_skills):
                lv = nearest_level(counts, skill, v.level, self.levels) \
                    if skill in self.skills else None
                if lv is None:
                    unplaced += 1
                    continue
                pairs[(skill, lv)] = pairs.get((skill, lv), 0) + 1
        order = {s: i for i, s in enumerate(self.skills)}
        return dict(sorted(pairs.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))), unplaced

    def _floor(self) -> int:
        return round_half_up(self.config["uniform_floor"] * self.budget)

    def plan(self, obs: Observation) -> DataPlan:
        pairs, unplaced = self._pairs(obs, need_pool=True)
        k = self.config["k"]
        if not pairs:
            return self._done(obs, [PlanEntry(None, None, self.budget, reason=_NO_TARGET)],
                              pairs, unplaced)
        floor = self._floor()
        counts = largest_remainder({c: k * n for c, n in pairs.items()}, self.budget - floor)
        entries = [
            PlanEntry(s, lv, counts[(s, lv)],
                      reason=f"{n} failed item(s) lack {s} at level {lv} (k={k}, scaled)")
            for (s, lv), n in pairs.items()
        ]
        entries.append(PlanEntry(None, None, floor, reason="uniform floor"))
        return self._done(obs, entries, pairs, unplaced)

    def _done(self, obs: Observation, entries: list[PlanEntry], pairs: dict[Cell, int],
              unplaced: int) -> DataPlan:
        plan = finish(entries, self.budget)
        per_skill: dict[str, int] = {}
        for e in plan.entries:
            if e.skill is not None:
                per_skill[e.skill] = per_skill.get(e.skill, 0) + e.count
        self._shares = level_shares(plan, self.levels)
        self._state = {
            "round": obs.round,
            "pairs": [[s, lv, n] for (s, lv), n in pairs.items()],
            "unplaced_pairs": unplaced,  # missing skills with no items at any level
            "skill_weights": {s: n / self.budget for s, n in per_skill.items()},
            "level_shares": str_keys(self._shares),
        }
        return plan

    def level_probabilities(self) -> dict[int, float]:
        return dict(self._shares) if self._shares else super().level_probabilities()

    def state(self) -> dict:
        return dict(self._state)

    def load_state(self, state: Mapping[str, Any]) -> None:
        self._state = dict(state)
        self._shares = int_keys(state.get("level_shares", {}))


class StatSyn(StatSel):
    """Same accounting as ``stat_sel``; as much of the targeted part as ``max_synth`` allows
    is synthesized (source ``synth``), the rest is selected from the pool."""

    name = "stat_syn"
    description = ("Skill-targeted synthesis: for each failed eval item and missing skill the "
                   "teacher writes new items of similar difficulty from reference items; "
                   "kept only when verified. Same budget as stat_sel.")
    params = (
        _K,
        Param("n_propose", "int", 2, "new items proposed per (failed item, missing skill)",
              min=1, max=50),
        Param("n_references", "int", 3, "pool items with the skill shown to the teacher",
              min=0, max=20),
        Param("n_solutions", "int", 3, "teacher solutions written per new item", min=1, max=20),
        Param("n_agree", "int", 2, "solutions that must agree to keep an item", min=1, max=20),
        Param("max_synth", "int", 64, "at most this many items synthesized per round",
              min=0, max=100000),
        _FLOOR,
    )

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        if self.config["n_agree"] > self.config["n_solutions"]:
            raise ParamError({"n_agree": "must not exceed n_solutions"})

    def plan(self, obs: Observation) -> DataPlan:
        pairs, unplaced = self._pairs(obs, need_pool=False)
        cfg = self.config
        if not pairs:
            return self._done(obs, [PlanEntry(None, None, self.budget, reason=_NO_TARGET)],
                              pairs, unplaced)
        floor = self._floor()
        targeted = largest_remainder({c: cfg["k"] * n for c, n in pairs.items()},
                                     self.budget - floor)
        n_synth = min(cfg["max_synth"], cfg["n_propose"] * sum(pairs.values()),
                      sum(targeted.values()))
        # proportional to the targeted counts, so no cell synthesizes more than it wants
        synth = largest_remainder(targeted, n_synth)
        entries = [PlanEntry(None, None, floor, reason="uniform floor")]
        for (s, lv), n in pairs.items():
            entries.append(PlanEntry(
                s, lv, synth[(s, lv)], source="synth",
                reason=f"{n} failed item(s) lack {s} at level {lv}: {cfg['n_propose']} proposed "
                       f"each from {cfg['n_references']} references, kept when "
                       f"{cfg['n_agree']}/{cfg['n_solutions']} solutions agree",
            ))
            rest = targeted[(s, lv)] - synth[(s, lv)]
            pool_lv = nearest_level(obs.pool_counts, s, lv, self.levels)
            if pool_lv is None:
                entries.append(PlanEntry(None, None, rest,
                                         reason=f"no pool items with {s}: uniform"))
            else:
                entries.append(PlanEntry(s, pool_lv, rest,
                                         reason=f"pool items with {s} beyond max_synth"))
        return self._done(obs, entries, pairs, unplaced)
