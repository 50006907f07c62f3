"""The demo's comparison: what the product is for, on data where it shows.

A project where carrying and borrowing are rare in the training pool (as in the learning
benchmark, docs/benchmarks.md): add and subtract 2- and 3-digit numbers, a pool of 20,000
items that keeps 5% of the items needing a carry or a borrow, an eval split from the plain
family (every skill scored on its natural share). Then ``uniform`` and ``stat_sel`` over 3
seeds at the benchmark's budget, launched on the product's own workers, and a saved
comparison of the six runs grouped by strategy. On the benchmark, ``stat_sel`` is ahead on
the weakest skill from round 5 on, on every seed.

Idempotent: the project, each run (by name, unless it failed or was cancelled) and the
comparison are created once; calling again relaunches only what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from apps.compare.models import Comparison
from apps.compare.selection import selection_build
from apps.compare.services import comparison_create
from apps.curricula.models import Curriculum
from apps.projects.creation import project_create_from_family
from apps.projects.models import Project
from apps.prompts.models import TeacherConfig
from apps.runs.launch import run_launch_for_student_settings
from apps.runs.models import Run, RunStatus

PROJECT = "Carry and borrow (rare in training)"
DESCRIPTION = ("Add and subtract 2- and 3-digit numbers. Items that need a carry or a borrow "
               "are rare in the training pool (5% of them kept) and scored on their natural "
               "share: does targeting the Missing-Skill-Profile rescue them?")
TASK_OPTIONS = {"levels": [2, 3], "ops": ["add", "sub"]}
POOL_OPTIONS = {"skill_weights": {"carry": 0.05, "borrow": 0.05}}
TRAIN, EVAL = 20_000, 1_000
STRATEGIES = ("uniform", "stat_sel")
SEEDS = (0, 1, 2)
BUDGET = {"rounds": 10, "steps_per_round": 300, "batch_size": 32, "lr": 5e-4,
          "eval_size": EVAL}
STUDENT = {"preset": "tiny", "model_dir": "", "max_length": 24}
COMPARISON = "uniform vs stat_sel, 3 seeds"


@dataclass
class DemoComparison:
    project: Project
    runs: list[Run]
    launched: list[Run]
    comparison: Comparison


def _run_name(strategy: str, seed: int) -> str:
    return f"{strategy} · seed {seed}"


def _project(*, user, team) -> Project:
    project = Project.objects.filter(team=team, name=PROJECT).first()
    if project is None:
        project = project_create_from_family(
            user=user, team=team, name=PROJECT, description=DESCRIPTION,
            task_family="arithmetic", task_options=TASK_OPTIONS, pool_options=POOL_OPTIONS,
            train_size=TRAIN, eval_size=EVAL, seed=0, require_review=False,
        )
    return project


@transaction.atomic
def demo_comparison_launch(*, user, team, device: str = "cpu") -> DemoComparison:
    """The project, the six runs (launched where missing, seed by seed) and the saved
    comparison."""
    project = _project(user=user, team=team)
    teacher = TeacherConfig.objects.get(project=project, name="oracle")
    runs, launched = [], []
    curricula = {s: Curriculum.objects.get(project=project, name=s) for s in STRATEGIES}
    # seed by seed: the worker takes runs in launch order, so the first seed of each
    # strategy trains first (side by side with a worker of concurrency 2) and the
    # comparison shows the gap before the other seeds have started
    for seed in SEEDS:
        for strategy in STRATEGIES:
            curriculum = curricula[strategy]
            name = _run_name(strategy, seed)
            run = (Run.objects.filter(project=project, name=name)
                   .exclude(status__in=[RunStatus.FAILED, RunStatus.CANCELLED])
                   .order_by("-pk").first())
            if run is None:
                run = run_launch_for_student_settings(
                    user=user, project=project, teacher_config=teacher, curriculum=curriculum,
                    name=name, seed=seed, device=device, synth_requires_review=False,
                    **STUDENT, **BUDGET,
                )
                launched.append(run)
            runs.append(run)
    comparison = Comparison.objects.filter(project=project, name=COMPARISON).first()
    ids = [r.pk for r in runs]
    if comparison is None:
        comparison = comparison_create(
            user=user, project=project, name=COMPARISON,
            selection=selection_build(run_ids=ids, group_by="strategy",
                                      baseline="group:uniform"),
        )
    elif comparison.run_ids != ids:  # a relaunched run replaces the failed one
        comparison.run_ids = ids
        comparison.save(update_fields=["run_ids"])
    return DemoComparison(project=project, runs=runs, launched=launched,
                          comparison=comparison)
