from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.projects.models import Project
from apps.runs.models import (
    LevelStat,
    Round,
    Run,
    RunEvent,
    RunStatus,
    SkillStat,
    StudentSpec,
)


def run_list_for_user(*, user, project: Project | None = None) -> QuerySet[Run]:
    if not user.is_authenticated:
        return Run.objects.none()
    qs = Run.objects.filter(project__team__memberships__user=user)
    if project is not None:
        qs = qs.filter(project=project)
    return qs.select_related("project", "curriculum", "student", "teacher_config")


def run_get_for_user(*, user, pk: int) -> Run:
    """The run, or Http404 when it belongs to a team the user is not in."""
    return get_object_or_404(run_list_for_user(user=user), pk=pk)


def run_list_for_project(*, project: Project) -> QuerySet[Run]:
    return Run.objects.filter(project=project).select_related("curriculum", "student")


def student_list_for_project(*, project: Project) -> QuerySet[StudentSpec]:
    return StudentSpec.objects.filter(project=project).order_by("name")


def student_get_for_user(*, user, pk: int) -> StudentSpec:
    return get_object_or_404(
        StudentSpec.objects.filter(project__team__memberships__user=user), pk=pk
    )


def round_list_for_run(*, run: Run) -> QuerySet[Round]:
    return Round.objects.filter(run=run).order_by("index")


def skill_stats_for_run(*, run: Run) -> QuerySet[SkillStat]:
    return (
        SkillStat.objects.filter(run=run)
        .select_related("round", "skill")
        .order_by("round__index", "skill__name")
    )


def level_stats_for_run(*, run: Run) -> QuerySet[LevelStat]:
    return LevelStat.objects.filter(run=run).select_related("round").order_by(
        "round__index", "level"
    )


def run_events_tail(
    *, run: Run, after_id: int | None = None, kind: str | None = None, limit: int = 200
) -> list[RunEvent]:
    """The newest ``limit`` events (oldest first), or those after ``after_id`` (polling)."""
    qs = RunEvent.objects.filter(run=run)
    if kind:
        qs = qs.filter(kind=kind)
    if after_id is not None:
        return list(qs.filter(id__gt=after_id).order_by("id")[:limit])
    return list(reversed(qs.order_by("-id")[:limit]))


def run_progress_latest(*, run: Run) -> RunEvent | None:
    return RunEvent.objects.filter(run=run, kind=RunEvent.Kind.PROGRESS).order_by("-id").first()


def run_list_stale(*, heartbeat_before: datetime) -> QuerySet[Run]:
    """Running runs whose worker has not sent a heartbeat since ``heartbeat_before``
    (the beat sweep requeues them; they resume from their last finished round)."""
    return Run.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=heartbeat_before)
