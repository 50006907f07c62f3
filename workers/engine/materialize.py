"""Turning a curriculum's :class:`DataPlan` into the round's training items.

Pool entries draw from the pool (the seed items plus approved synthesized ones); synth entries
ask the teacher, and each new item carries its lineage in ``meta`` (the failed eval item that
asked for it, the references shown, the plan's reason, its review state). Draws come from the
round's ``draw`` and ``synth`` generators only.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from typing import Any

from workers.engine.curriculum.base import DataPlan, PlanEntry
from workers.engine.errors import SkillError
from workers.engine.profile import Verdict
from workers.engine.seeding import round_rng
from workers.engine.spec import RunSpec
from workers.engine.tasks.base import Item
from workers.engine.teachers.base import Teacher

REFERENCES = 3  # pool items shown to the teacher per synthesis request


class Materializer:
    """The pool of one run and the plan-to-items step of each round."""

    def __init__(self, spec: RunSpec, teacher: Teacher, *, skills: list[str],
                 train_levels: list[int], pool: list[Item], config: Mapping[str, Any]):
        self.spec = spec
        self.teacher = teacher
        self.skills = skills
        self.train_levels = train_levels
        self.config = config  # the strategy's parameters (n_references)
        self.pool = pool
        self.pool_ids = {it.id for it in self.pool}

    def add_to_pool(self, items: list[Item]) -> None:
        for it in items:
            if it.id not in self.pool_ids:
                self.pool.append(it)
                self.pool_ids.add(it.id)

    def candidates(self, skill: str | None, level: int | None) -> list[Item]:
        return [it for it in self.pool
                if (skill is None or skill in it.skills) and (level is None or it.level == level)]

    def materialize(self, round_: int, plan: DataPlan, verdicts: list[Verdict]
                    ) -> tuple[list[Item], list[Item], list[str]]:
        """(training items, synthesized items, notes) for ``plan``.

        ``verdicts`` are the last evaluation's, with missing skills: they name the trigger of
        each synthesized item.
        """
        draw_rng = round_rng(self.spec.seed, round_, "draw")
        synth_rng = round_rng(self.spec.seed, round_, "synth")
        review = self.spec.synth_requires_review
        train: list[Item] = []
        synthesized: list[Item] = []
        notes: list[str] = []
        for entry in plan.entries:
            if entry.count <= 0:
                continue
            if entry.source == "synth":
                new = self.synthesize(round_, entry, synth_rng, verdicts)
                synthesized.extend(new)
                usable = [] if review else new
                train.extend(usable)
                short = entry.count - len(usable)
                if short > 0:
                    # Pending review or rejected by verification: keep the budget with pool items.
                    cands = self.candidates(entry.skill, entry.level) or \
                        self.candidates(entry.skill, None)
                    if cands:
                        train.extend(_draw(cands, short, draw_rng))
                    notes.append(f"{short} of {entry.count} synthesized items for "
                                 f"({entry.skill}, {entry.level}) "
                                 f"{'await review' if review else 'were not produced'}")
                continue
            cands = self.candidates(entry.skill, entry.level)
            if not cands:
                where = f"at level {entry.level}" if entry.level is not None else "at any level"
                raise SkillError(entry.skill or "*",
                                 f"the plan asks for {entry.count} pool items {where} but the "
                                 "pool has none")
            train.extend(_draw(cands, entry.count, draw_rng))
        if not review:
            self.add_to_pool(synthesized)
        return train, synthesized, notes

    def synthesize(self, round_: int, entry: PlanEntry, rng: random.Random,
                   verdicts: list[Verdict]) -> list[Item]:
        skill = entry.skill or rng.choice(self.skills)
        level = entry.level if entry.level is not None else rng.choice(self.train_levels)
        refs = self.candidates(skill, level) or self.candidates(skill, None)
        n_refs = int(self.config.get("n_references", REFERENCES))
        refs = rng.sample(refs, min(n_refs, len(refs)))
        items = self.teacher.synthesize(skill=skill, level=level, references=refs,
                                        n=entry.count, rng=rng)
        # The failed eval items that asked for this cell: each new item names one of them.
        triggers = [v.item_id for v in verdicts
                    if not v.correct and skill in v.missing_skills and v.level == level] or \
                   [v.item_id for v in verdicts
                    if not v.correct and skill in v.missing_skills]
        out = []
        for i, it in enumerate(items):
            meta = dict(it.meta)
            meta.update({"source": "synth", "teacher": self.teacher.kind, "round": round_,
                         "trigger_item": triggers[i % len(triggers)] if triggers else None,
                         "references": [r.id for r in refs], "plan_reason": entry.reason,
                         "review": "pending" if self.spec.synth_requires_review else "approved"})
            out.append(dataclasses.replace(it, meta=meta))
        return out


def _draw(candidates: list[Item], count: int, rng: random.Random) -> list[Item]:
    """``count`` items: without repeats while the candidates last, then whole reshuffles."""
    out: list[Item] = []
    while count - len(out) >= len(candidates):
        out.extend(rng.sample(candidates, len(candidates)))
    out.extend(rng.sample(candidates, count - len(out)))
    return out
