"""Turning a curriculum's :class:`DataPlan` into the round's training items.

Pool entries draw from the pool (the seed items plus approved synthesized ones); synth entries
ask the teacher, and each new item carries its lineage in ``meta`` (the failed eval item that
asked for it, the references shown, the plan's reason, its review state). Draws come from the
round's ``draw`` and ``synth`` generators only.

Synthesis (STAT-Syn): a synth entry's count is split evenly over its triggers (the failed eval
items of its (skill, level) cell); each trigger asks the teacher for its share in requests of
``n_new`` items, each request shown ``n_references`` pool items with the skill. The teacher
verifies (``n_agree`` of ``n_solutions`` solutions, or the family's solver); new items that
repeat an eval, held-out, pool or earlier synthesized problem, or each other, are dropped
(:class:`~workers.engine.splits.SplitGuard`), then those the current student already answers
(``drop_solved``, with the loop's ``solves``); new items the student cannot take whole (a
character its tokenizer cannot encode, longer than its context) are dropped as ``unfit``
before that. What was not kept is drawn from the pool, and
:attr:`Materializer.synthesis` counts every asked-for item by outcome.

Review: before each round the loop hands :meth:`Materializer.apply_review` what people
decided about the run's synthesized items (``RunHooks.review``); the pool then holds them as
decided (``workers.engine.reviewed``). With review required, a synth entry's new items are
not trained on in their round; approved items not trained on yet take their place first.
Every round counts the run's synthesized items it trained on in :attr:`synth_trained`.

Pool draws spread over distinct items: within a round no item is drawn twice while the
candidates last (across the plan's entries too), and items drawn in the last
``RECENT_ROUNDS`` rounds come after the others. A skill-targeted cell (``stat_sel``,
``stat_syn``) that runs out draws its skill at the other levels before any item repeats;
repeats, when the skill has too few items, go evenly over all of them. The recent ids are in
:meth:`Materializer.state`, which the checkpoint keeps, so a resumed run draws the same.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workers.engine.curriculum.alloc import largest_remainder
from workers.engine.curriculum.base import DataPlan, PlanEntry
from workers.engine.errors import EngineError, SkillError
from workers.engine.profile import Verdict
from workers.engine.records import ReviewState
from workers.engine.reviewed import reviewed_items, trained_counts
from workers.engine.seeding import round_rng
from workers.engine.spec import RunSpec
from workers.engine.splits import SplitGuard, problem_key
from workers.engine.tasks.base import Item
from workers.engine.teachers.base import (
    MIN_AGREEMENT,
    SOLVE_SAMPLES,
    Synthesis,
    Teacher,
    map_concurrent,
)

REFERENCES = 3  # pool items shown to the teacher per synthesis request (default)
NEW_PER_REQUEST = 2  # new items asked for per synthesis request (default)
RECENT_ROUNDS = 3  # pool items drawn in this many last rounds are drawn after the others
# Strategies whose (skill, level) cell is the level of the failures they target, not a level
# the skill must stay at (mastery's is): a cell that runs out draws its skill at other levels.
SPREAD_LEVELS = frozenset({"stat_sel", "stat_syn"})

# The student's greedy verdicts on candidate items (True: answered correctly).
Solves = Callable[[list[Item]], list[bool]]
# Why the student cannot take each candidate item as it is (None: it fits).
Fits = Callable[[list[Item]], list[str | None]]


@dataclass(frozen=True)
class _Request:
    entry: int  # index of the plan entry
    skill: str
    level: int
    trigger: str | None
    n: int
    references: tuple[Item, ...]
    seed: int


class Materializer:
    """The pool of one run and the plan-to-items step of each round."""

    def __init__(self, spec: RunSpec, teacher: Teacher, *, skills: list[str],
                 train_levels: list[int], pool: list[Item], config: Mapping[str, Any],
                 guard: SplitGuard | None = None):
        self.spec = spec
        self.teacher = teacher
        self.skills = skills
        self.train_levels = train_levels
        self.config = config  # the strategy's parameters (n_new, n_references, ...)
        self.pool = pool
        self.pool_ids = {it.id for it in self.pool}
        # The run's eval and held-out problems and its training data: synthesized items are
        # admitted through it. Without one (a caller that has no eval split) only the pool
        # and the synthesized items themselves are known.
        if guard is None:
            guard = SplitGuard()
            guard.record(self.pool)
        self.guard = guard
        self.synthesis: Synthesis | None = None  # the last materialize call's accounting
        self.recent: list[list[str]] = []  # ids drawn from the pool, last RECENT_ROUNDS rounds
        # The run's own synthesized items: their ids, those trained on so far, the approved
        # ones not trained on yet (review required: they fill the synth entries first), and
        # the last materialize call's count of them (``reviewed.trained_counts``).
        self.own_ids: set[str] = set()
        self.trained_own: set[str] = set()
        self.fresh: list[Item] = []
        self.synth_trained: dict = {}

    def state(self) -> dict:
        """What a resumed run needs to draw as an uninterrupted one (JSON-friendly)."""
        return {"recent": [list(ids) for ids in self.recent],
                "trained_synth": sorted(self.trained_own)}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.recent = [list(ids) for ids in state.get("recent", [])][-RECENT_ROUNDS:]
        self.trained_own = set(state.get("trained_synth", []))

    def adopt(self, synthesized: list[Item]) -> None:
        """The run's synthesized items restored from a checkpoint; without review they are
        in the pool."""
        self.own_ids.update(it.id for it in synthesized)
        if not self.spec.synth_requires_review:
            self.add_to_pool(synthesized)

    def apply_review(self, state: ReviewState, synthesized: list[Item], *,
                     fits: Fits | None = None) -> list[str]:
        """Make the pool's share of the run's synthesized items what people decided
        (:func:`workers.engine.reviewed.reviewed_items`); the notes say what was dropped."""
        required = self.spec.synth_requires_review
        items, notes = reviewed_items(state, synthesized, required=required, guard=self.guard,
                                      fits=fits)
        own = {it.id for it in synthesized}
        self.own_ids.update(own)
        self.pool = [it for it in self.pool if it.id not in own] + items
        self.pool_ids = {it.id for it in self.pool}
        self.fresh = [it for it in items if it.id not in self.trained_own] if required else []
        return notes

    def add_to_pool(self, items: list[Item]) -> None:
        for it in items:
            if it.id not in self.pool_ids:
                self.pool.append(it)
                self.pool_ids.add(it.id)

    def candidates(self, skill: str | None, level: int | None) -> list[Item]:
        return [it for it in self.pool
                if (skill is None or skill in it.skills) and (level is None or it.level == level)]

    def materialize(self, round_: int, plan: DataPlan, verdicts: list[Verdict], *,
                    solves: Solves | None = None,
                    fits: Fits | None = None) -> tuple[list[Item], list[Item], list[str]]:
        """(training items, synthesized items, notes) for ``plan``.

        ``verdicts`` are the last evaluation's, with missing skills: they name the trigger of
        each synthesized item when the plan does not. ``solves`` answers candidate items with
        the current student (``drop_solved``); without it nothing is dropped as solved.
        ``fits`` says which new items the student cannot take (``unfit``: dropped).
        """
        draw_rng = round_rng(self.spec.seed, round_, "draw")
        synth_rng = round_rng(self.spec.seed, round_, "synth")
        review = self.spec.synth_requires_review
        train: list[Item] = []
        synthesized: list[Item] = []
        notes: list[str] = []
        self.synthesis = None
        made: dict[int, list[Item]] = {}
        drawn = _Draws(set().union(*self.recent) if self.recent else set())
        if any(e.source == "synth" and e.count > 0 for e in plan.entries):
            made = self.synthesize_round(round_, plan, synth_rng, verdicts, solves, notes,
                                         fits=fits)
        for index, entry in enumerate(plan.entries):
            if entry.count <= 0:
                continue
            if entry.source == "synth":
                new = made.get(index, [])
                synthesized.extend(new)
                usable = [] if review else new
                train.extend(usable)
                drawn.taken.update(it.id for it in usable)
                short = entry.count - len(usable)
                if review and short > 0 and self.fresh:
                    # approved items not trained on yet take the place of the pending ones
                    taken = self._take_fresh(entry.skill, short, draw_rng, drawn)
                    train.extend(taken)
                    short -= len(taken)
                if short > 0:
                    # Pending review or not kept: keep the budget with pool items.
                    skill, level = entry.skill, entry.level
                    if not self.candidates(skill, level):
                        level = None  # the skill at any level, else anything
                        skill = skill if self.candidates(skill, None) else None
                    train.extend(self._draw_pool(skill, level, short, draw_rng, drawn))
                    notes.append(f"{short} of {entry.count} synthesized items for "
                                 f"({entry.skill}, {entry.level}) "
                                 f"{'await review' if review else 'were not kept'}: drawn "
                                 "from the pool")
                continue
            if not self.candidates(entry.skill, entry.level):
                where = f"at level {entry.level}" if entry.level is not None else "at any level"
                raise SkillError(entry.skill or "*",
                                 f"the plan asks for {entry.count} pool items {where} but the "
                                 "pool has none")
            train.extend(self._draw_pool(entry.skill, entry.level, entry.count, draw_rng, drawn))
        if drawn.spread:
            notes.append("cells with too few unused items drew their skill at other levels: "
                         + ", ".join(f"({s}, {lv}) {n}" for (s, lv), n in drawn.spread.items()))
        if drawn.repeated:
            notes.append(f"{drawn.repeated} pool draws repeat an item of this round: "
                         "their cells have too few items")
        self.recent = (self.recent + [sorted(drawn.from_pool)])[-RECENT_ROUNDS:]
        if not review:
            self.add_to_pool(synthesized)
        self.own_ids.update(it.id for it in synthesized)
        self.synth_trained = trained_counts(train, self.own_ids)
        self.trained_own.update(self.synth_trained["ids"])
        self.fresh = [it for it in self.fresh if it.id not in self.trained_own]
        return train, synthesized, notes

    def _take_fresh(self, skill: str | None, count: int, rng: random.Random,
                    drawn: _Draws) -> list[Item]:
        """Up to ``count`` approved items not trained on yet, with ``skill`` first."""
        avail = [it for it in self.fresh if it.id not in drawn.taken]
        with_skill = [it for it in avail if skill is None or skill in it.skills]
        out = rng.sample(with_skill, min(count, len(with_skill)))
        picked = {it.id for it in out}
        rest = [it for it in avail if it.id not in picked]
        out += rng.sample(rest, min(count - len(out), len(rest)))
        drawn.taken.update(it.id for it in out)
        return out

    def _draw_pool(self, skill: str | None, level: int | None, count: int,
                   rng: random.Random, drawn: _Draws) -> list[Item]:
        """``count`` pool items with ``skill`` at ``level`` (None: any), spread over distinct
        items: first those not drawn this round nor in recent rounds, then recent ones, then
        (skill-targeted cells) the skill at its other levels, then, only when all are
        drawn, repeats, each item once more before any item twice more."""
        cell = self.candidates(skill, level)
        tiers = [[it for it in cell if it.id not in drawn.recent],
                 [it for it in cell if it.id in drawn.recent]]
        spread: list[Item] = []
        if skill is not None and level is not None and \
                self.spec.curriculum.strategy in SPREAD_LEVELS:
            spread = [it for it in self.candidates(skill, None) if it.level != level]
            tiers += [[it for it in spread if it.id not in drawn.recent],
                      [it for it in spread if it.id in drawn.recent]]
        out: list[Item] = []
        for tier in tiers:
            avail = [it for it in tier if it.id not in drawn.taken]
            out.extend(rng.sample(avail, min(count - len(out), len(avail))))
            if len(out) == count:
                break
        moved = sum(it.level != level for it in out) if spread else 0
        if moved:
            drawn.spread[(skill, level)] = drawn.spread.get((skill, level), 0) + moved
        drawn.taken.update(it.id for it in out)
        every = cell + spread
        while every and len(out) < count:  # every candidate is drawn: repeat the least drawn ones
            least = min(drawn.taken[it.id] for it in every)
            avail = [it for it in every if drawn.taken[it.id] == least]
            more = rng.sample(avail, min(count - len(out), len(avail)))
            drawn.taken.update(it.id for it in more)
            drawn.repeated += len(more)
            out.extend(more)
        drawn.from_pool.update(it.id for it in out)
        return out

    def _triggers(self, skill: str, level: int, verdicts: list[Verdict]) -> list[str]:
        """The failed eval items that ask for (skill, level) when the plan names none."""
        return [v.item_id for v in verdicts
                if not v.correct and skill in v.missing_skills and v.level == level] or \
               [v.item_id for v in verdicts if not v.correct and skill in v.missing_skills]

    def _requests(self, plan: DataPlan, rng: random.Random,
                  verdicts: list[Verdict]) -> list[_Request]:
        """Each synth entry's count split evenly over its triggers, each trigger's share in
        requests of ``n_new``, each with its own references and generator seed."""
        n_new = int(self.config.get("n_new", NEW_PER_REQUEST))
        n_refs = int(self.config.get("n_references", REFERENCES))
        out: list[_Request] = []
        for index, entry in enumerate(plan.entries):
            if entry.source != "synth" or entry.count <= 0:
                continue
            skill = entry.skill or rng.choice(self.skills)
            level = entry.level if entry.level is not None else rng.choice(self.train_levels)
            triggers: list[str | None] = list(entry.triggers) or \
                list(self._triggers(skill, level, verdicts)) or [None]
            shares = largest_remainder(dict.fromkeys(triggers, 1.0), entry.count)
            refs = self.candidates(skill, level) or self.candidates(skill, None)
            for trigger in triggers:
                left = shares[trigger]
                while left > 0:
                    n = min(n_new, left)
                    left -= n
                    shown = rng.sample(refs, min(n_refs, len(refs)))
                    out.append(_Request(index, skill, level, trigger, n, tuple(shown),
                                        rng.getrandbits(64)))
        return out

    def synthesize_round(self, round_: int, plan: DataPlan, rng: random.Random,
                         verdicts: list[Verdict], solves: Solves | None,
                         notes: list[str], *, fits: Fits | None = None
                         ) -> dict[int, list[Item]]:
        """The kept synthesized items of each synth entry (by index in the plan); the
        accounting is left in :attr:`synthesis`."""
        n_solutions = int(self.config.get("n_solutions", SOLVE_SAMPLES))
        n_agree = int(self.config.get("n_agree", MIN_AGREEMENT))
        requests = self._requests(plan, rng, verdicts)

        def ask(r: _Request) -> Synthesis:
            return self.teacher.propose(skill=r.skill, level=r.level,
                                        references=list(r.references), n=r.n,
                                        rng=random.Random(r.seed), n_solutions=n_solutions,
                                        n_agree=n_agree)

        results = map_concurrent(ask, requests, getattr(self.teacher, "concurrency", 1))
        total = Synthesis()
        candidates: list[tuple[_Request, Item]] = []
        for r, result in zip(requests, results, strict=True):
            total.requested += result.requested
            total.proposed += result.proposed
            total.rejected.update(result.rejected)
            candidates.extend((r, self._with_lineage(it, round_, r, plan.entries[r.entry]))
                              for it in result.items)
        # not an eval, held-out, pool or earlier synthesized problem, nor one of each other
        fresh: list[tuple[_Request, Item]] = []
        batch: set[str] = set()
        for r, it in candidates:
            key = problem_key(it)
            if key in batch or self.guard.seen(it):
                total.reject("duplicate")
                continue
            batch.add(key)
            fresh.append((r, it))
        candidates = fresh
        if candidates and fits is not None:  # a character the student cannot encode, too long
            reasons = fits([it for _, it in candidates])
            unfit = [reason for reason in reasons if reason is not None]
            if unfit:
                total.reject("unfit", len(unfit))
                notes.append(f"{len(unfit)} synthesized items do not fit the student, e.g. "
                             f"{unfit[0]}")
            candidates = [c for c, reason in zip(candidates, reasons, strict=True)
                          if reason is None]
        if candidates and self.config.get("drop_solved", True):
            if solves is None:
                notes.append("drop_solved: no student to answer the new items, none dropped")
            else:
                solved = solves([it for _, it in candidates])
                total.reject("already_solved", sum(bool(x) for x in solved))
                candidates = [c for c, ok in zip(candidates, solved, strict=True) if not ok]
        # only what is kept becomes training data of the run (a resumed run knows the same)
        total.items = self.guard.admit(it for _, it in candidates)
        if len(total.items) != len(candidates):
            raise EngineError("the split guard refused an item it had just found new")
        self.synthesis = total
        made: dict[int, list[Item]] = {}
        for r, it in candidates:
            made.setdefault(r.entry, []).append(it)
        return made

    def _with_lineage(self, item: Item, round_: int, r: _Request, entry: PlanEntry) -> Item:
        meta = dict(item.meta)
        meta.update({"source": "synth", "teacher": self.teacher.kind, "round": round_,
                     "trigger_item": r.trigger, "references": [x.id for x in r.references],
                     "plan_reason": entry.reason,
                     "review": "pending" if self.spec.synth_requires_review else "approved"})
        return dataclasses.replace(item, meta=meta)


class _Draws:
    """One round's pool draws: how often each id was drawn (synthesized items included),
    the ids drawn in recent rounds, and what the notes report."""

    def __init__(self, recent: set[str]):
        self.recent = recent
        self.taken: Counter[str] = Counter()
        self.from_pool: set[str] = set()
        self.spread: dict[tuple[str | None, int | None], int] = {}
        self.repeated = 0
