"""Runs with rounds and Missing-Skill-Profiles made directly in the database (no training)."""

from __future__ import annotations

import pytest

from apps.runs.models import LevelStat, Round, SkillStat
from tests.factories import CurriculumFactory, RunFactory, SkillFactory

SKILLS = ("add", "carry", "borrow")


def make_run(project, curriculum, *, seed: int, rounds: int = 3, base: float = 0.3,
             steps_per_round: int = 10, held_out: bool = True, skills=None, name=None,
             **fields):
    """A succeeded run whose accuracy climbs ``0.1`` a round from ``base`` (+ seed / 100);
    skill i sits ``0.1 * i`` below it; held-out level 9 at half the accuracy."""
    run = RunFactory(project=project, curriculum=curriculum, seed=seed, rounds=rounds,
                     steps_per_round=steps_per_round, status="succeeded",
                     name=name or f"{curriculum.strategy} s{seed}",
                     spec={"seed": seed, "train": {"lr": fields.get("lr", 0.001)},
                           "teacher": {"kind": "oracle", "prompts": {"solve": "SECRET"}}},
                     **fields)
    skills = skills or list(project.skills.order_by("name"))
    for index in range(rounds + 1):
        acc = min(1.0, base + 0.1 * index + seed / 100)
        metrics = {"accuracy": acc}
        if held_out:
            metrics.update(held_out_accuracy=acc / 2, held_out_levels=[9])
        rnd = Round.objects.create(run=run, index=index, metrics=metrics)
        SkillStat.objects.bulk_create([
            SkillStat(run=run, round=rnd, skill=s, evaluated=10, failed=1, miss_rate=0.1,
                      miss_share=0.1, accuracy=max(0.0, acc - 0.1 * i))
            for i, s in enumerate(skills)
        ])
        levels = [LevelStat(run=run, round=rnd, level=1, success_rate=acc)]
        if held_out:
            levels.append(LevelStat(run=run, round=rnd, level=9, success_rate=acc / 2))
        LevelStat.objects.bulk_create(levels)
    return run


@pytest.fixture
def skills(project_a):
    return [SkillFactory(project=project_a, name=n) for n in SKILLS]


@pytest.fixture
def curricula(project_a):
    return {s: CurriculumFactory(project=project_a, name=s, strategy=s)
            for s in ("uniform", "stat_sel", "sec")}


@pytest.fixture
def six_runs(project_a, skills, curricula):
    """Two seeds each of uniform (base 0.3), stat_sel (base 0.4) and sec (base 0.35)."""
    bases = {"uniform": 0.3, "stat_sel": 0.4, "sec": 0.35}
    return [make_run(project_a, curricula[s], seed=seed, base=bases[s])
            for s in ("uniform", "stat_sel", "sec") for seed in (0, 2)]
