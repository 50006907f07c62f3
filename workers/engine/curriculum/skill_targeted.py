"""Skill-targeted training: ``stat_sel`` selects pool items, ``stat_syn`` synthesizes them.

For each failed eval item and each missing skill it lacks (a pair), k items with that skill
are wanted at the failed item's level. When the pairs want more than the round's budget (less
the uniform floor), every pair is scaled down in proportion, so a skill's share of the round
is proportional to how often the profile blames it; when they want less, the rest of the round
is drawn uniformly. ``stat_syn`` plans the same counts from the same profile, synthesized
instead of selected, so the two arms train on equally many items.
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
    PlanEntry,
    Strategy,
)

Cell = tuple[str, int]
_NO_TARGET = "no failure to target (or no items for its missing skills): uniform"

_K = Param("k", "int", 5,
           "items per (failed item, missing skill): each pair asks for k items with the skill "
           "at the failed item's level. When k x pairs exceeds the round's budget less the "
           "uniform floor, all pairs are scaled down in proportion; when it is less, the rest "
           "of the round is drawn uniformly from the pool", min=1, max=100000)
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

    def _pairs(self, obs: Observation, *, need_pool: bool
               ) -> tuple[dict[Cell, list[str]], int]:
        """The failed items of each cell (one per (failed item, missing skill) pair), and
        the pairs that fit no cell.

        A cell is the skill at the failed item's level, or, when the pool has no such items
        (``need_pool``) or the level is not trained, the nearest level that does.
        """
        pairs: dict[Cell, list[str]] = {}
        unplaced = 0
        counts = obs.pool_counts if need_pool else {}
        for v in obs.failures:
            for skill in dict.fromkeys(v.missing_skills):
                lv = nearest_level(counts, skill, v.level, self.levels) \
                    if skill in self.skills else None
                if lv is None:
                    unplaced += 1
                    continue
                pairs.setdefault((skill, lv), []).append(v.item_id)
        order = {s: i for i, s in enumerate(self.skills)}
        return dict(sorted(pairs.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))), unplaced

    def _floor(self) -> int:
        return round_half_up(self.config["uniform_floor"] * self.budget)

    def _targeted(self, pairs: Mapping[Cell, list[str]]) -> tuple[dict[Cell, int], bool]:
        """Items per cell: k per pair, scaled down to fit the budget less the floor (and
        whether it was)."""
        room = self.budget - self._floor()
        wanted = {c: self.config["k"] * len(ids) for c, ids in pairs.items()}
        if sum(wanted.values()) <= room:
            return wanted, False
        return largest_remainder(wanted, room), True

    def _uniform(self, targeted: Mapping[Cell, int]) -> list[PlanEntry]:
        """The floor, and what the pairs leave of the budget: both drawn uniformly."""
        floor = self._floor()
        wanted = sum(targeted.values())
        return [
            PlanEntry(None, None, floor, reason="uniform floor"),
            PlanEntry(None, None, self.budget - floor - wanted,
                      reason=f"uniform: the pairs want {wanted} items (k={self.config['k']} "
                             "each), less than the budget"),
        ]

    def plan(self, obs: Observation) -> DataPlan:
        pairs, unplaced = self._pairs(obs, need_pool=True)
        k = self.config["k"]
        if not pairs:
            return self._done(obs, [PlanEntry(None, None, self.budget, reason=_NO_TARGET)],
                              pairs, unplaced)
        targeted, scaled = self._targeted(pairs)
        how = f"k={k} each, scaled to the budget" if scaled else f"k={k} each"
        entries = [
            PlanEntry(s, lv, targeted[(s, lv)],
                      reason=f"{len(ids)} failed item(s) lack {s} at level {lv} ({how})")
            for (s, lv), ids in pairs.items()
        ] + self._uniform(targeted)
        return self._done(obs, entries, pairs, unplaced)

    def _done(self, obs: Observation, entries: list[PlanEntry],
              pairs: Mapping[Cell, list[str]], unplaced: int) -> DataPlan:
        plan = finish(entries, self.budget)
        per_skill: dict[str, int] = {}
        for e in plan.entries:
            if e.skill is not None:
                per_skill[e.skill] = per_skill.get(e.skill, 0) + e.count
        self._shares = level_shares(plan, self.levels)
        self._state = {
            "round": obs.round,
            "pairs": [[s, lv, len(ids)] for (s, lv), ids in pairs.items()],
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
    """``stat_sel``'s counts from the same profile, synthesized: each (failed item, missing
    skill) pair asks the teacher for its items in requests of ``n_new``, each request shown
    ``n_references`` pool items with the skill; the materializer verifies, deduplicates and
    drops what the student already solves (the shortfall is drawn from the pool)."""

    name = "stat_syn"
    description = ("Skill-targeted synthesis: for each failed eval item and missing skill the "
                   "teacher writes new items of similar difficulty from reference items; "
                   "kept only when verified. Same budget as stat_sel.")
    params = (
        _K,
        Param("n_new", "int", 2,
              "new items the teacher proposes per request; a (failed item, missing skill) pair "
              "asks for its k items (its share of the budget) in requests of this size",
              min=1, max=50),
        Param("n_references", "int", 3,
              "pool items with the skill (at the failed item's level where there are some) "
              "shown to the teacher in each request", min=0, max=20),
        Param("n_solutions", "int", 3,
              "independent teacher solutions written per new item (LLM teachers; the oracle's "
              "solver decides alone)", min=1, max=20),
        Param("n_agree", "int", 2,
              "solutions that must agree to keep a new item; it is kept with the majority "
              "answer", min=1, max=20),
        Param("drop_solved", "bool", True,
              "drop new items the current student already answers correctly (greedy), before "
              "training (DataEnvGym)"),
        Param("max_synth", "int", 0,
              "at most this many items synthesized per round, the rest of the targeted share "
              "drawn from the pool; 0: no cap, the whole targeted share (as many items as "
              "stat_sel selects) is synthesized", min=0, max=10_000_000),
        _FLOOR,
    )

    @classmethod
    def check_params(cls, config: Mapping[str, Any]) -> dict[str, str]:
        if config["n_agree"] > config["n_solutions"]:
            return {"n_agree": f"n_agree ({config['n_agree']}) must not exceed n_solutions "
                               f"({config['n_solutions']})"}
        return super().check_params(config)

    def plan(self, obs: Observation) -> DataPlan:
        pairs, unplaced = self._pairs(obs, need_pool=False)
        cfg = self.config
        if not pairs:
            return self._done(obs, [PlanEntry(None, None, self.budget, reason=_NO_TARGET)],
                              pairs, unplaced)
        targeted, scaled = self._targeted(pairs)
        total = sum(targeted.values())
        cap = cfg["max_synth"]
        # proportional to the targeted counts, so no cell synthesizes more than it wants
        synth = targeted if not cap or cap >= total else largest_remainder(targeted, cap)
        how = (f"k={cfg['k']} each{', scaled to the budget' if scaled else ''}, proposed "
               f"{cfg['n_new']} per request from {cfg['n_references']} references, kept when "
               f"{cfg['n_agree']}/{cfg['n_solutions']} solutions agree"
               f"{' and the student fails them' if cfg['drop_solved'] else ''}")
        entries = self._uniform(targeted)
        for (s, lv), ids in pairs.items():
            entries.append(PlanEntry(
                s, lv, synth[(s, lv)], source="synth", triggers=tuple(ids),
                reason=f"{len(ids)} failed item(s) lack {s} at level {lv} ({how})",
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
