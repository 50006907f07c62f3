"""Building tiny runs and reading them back, for the worker tests."""

from __future__ import annotations

from django.utils import timezone

from apps.runs.models import Round, Run, RunEvent, RunStatus
from apps.runs.selectors import run_result_rows
from tests.factories import (
    CurriculumFactory,
    MembershipFactory,
    ProjectFactory,
    StudentSpecFactory,
    TeacherConfigFactory,
    UserFactory,
)

FINAL = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.PAUSED)


def run_parts(*, strategy: str = "stat_sel", name: str = "p") -> dict:
    """An editor and a project (arithmetic add/sub, levels 1-2) with a tiny student, the
    oracle teacher and a curriculum."""
    user = UserFactory(username=f"editor-{name}")
    project = ProjectFactory(
        name=f"Arithmetic {name}", task_options={"levels": [1, 2], "ops": ["add", "sub"]},
        require_review=False,
    )
    MembershipFactory(user=user, team=project.team, role="editor")
    return {
        "user": user, "project": project,
        "student": StudentSpecFactory(project=project, max_length=16),
        "teacher_config": TeacherConfigFactory(project=project),
        "curriculum": CurriculumFactory(project=project, strategy=strategy),
    }


def launch(parts: dict, *, rounds: int = 2, steps: int = 4, batch_size: int = 8,
           eval_size: int = 16, seed: int = 0, name: str = "") -> Run:
    from apps.runs.services import run_launch

    return run_launch(
        **parts, name=name, rounds=rounds, steps_per_round=steps, batch_size=batch_size,
        eval_size=eval_size, seed=seed, lr=0.003, device="auto",
    )


def status(run: Run) -> str:
    return Run.objects.filter(pk=run.pk).values_list("status", flat=True).first() or "deleted"


def train_progress(run: Run, *, round_: int | None = None) -> RunEvent | None:
    qs = RunEvent.objects.filter(run=run, kind=RunEvent.Kind.PROGRESS, message="train",
                                 step__gt=0)
    if round_ is not None:
        qs = qs.filter(round=round_)
    return qs.order_by("-id").first()


def starts(run: Run) -> list[str]:
    """The 'worker ... starts ...' events: one per execution of the run."""
    return list(RunEvent.objects.filter(run=run, message__contains=" starts ")
                .order_by("id").values_list("message", flat=True))


def rows(run: Run) -> list[dict]:
    """Every stored round with its profile and level rows, minus timings and paths."""
    return run_result_rows(run=run)


def describe(run: Run) -> str:
    run = Run.objects.filter(pk=run.pk).first()
    if run is None:
        return "run deleted"
    events = RunEvent.objects.filter(run=run).exclude(kind=RunEvent.Kind.PROGRESS)
    lines = [f"run {run.pk}: {run.status} worker={run.worker!r} error={run.error!r} "
             f"rounds={list(Round.objects.filter(run=run).values_list('index', flat=True))} "
             f"now={timezone.now():%H:%M:%S}"]
    lines += [f"  {e.created_at:%H:%M:%S} {e.kind}: {e.message}" for e in events]
    return "\n".join(lines)
