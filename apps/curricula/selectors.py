from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.curricula.models import Curriculum
from apps.projects.models import Project
from workers.engine.api import get_strategy, strategy_catalog


def curriculum_list_for_project(*, project: Project) -> QuerySet[Curriculum]:
    return Curriculum.objects.filter(project=project).order_by("name")


def curriculum_get_for_user(*, user, pk: int) -> Curriculum:
    return get_object_or_404(
        Curriculum.objects.filter(project__team__memberships__user=user)
        .select_related("project__team"),
        pk=pk,
    )


def strategy_choices() -> list[tuple[str, str]]:
    """(name, description) of every curriculum strategy the engine knows."""
    return [(info.name, info.description) for info in strategy_catalog()]


def strategy_schema(*, strategy: str) -> list[dict]:
    """The parameter schema of ``strategy`` as dicts (the browser renders a form from it)."""
    return [p.to_dict() for p in get_strategy(strategy).params]
