from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import Role
from apps.accounts.permissions import require_role
from apps.curricula.models import Curriculum
from apps.projects.models import Project
from workers.engine.api import STRATEGIES, ParamError, SpecError, get_strategy


def curriculum_params_clean(*, strategy: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Clean parameters for ``strategy`` (defaults filled, form strings coerced).

    Raises ValidationError keyed by field: ``strategy`` for an unknown strategy, and
    ``params.<name>`` for each bad parameter.
    """
    try:
        cls = get_strategy(strategy)
    except (SpecError, LookupError):
        known = ", ".join(sorted(STRATEGIES))
        raise ValidationError(
            {"strategy": f"unknown strategy {strategy!r} (known: {known})"}
        ) from None
    if params is not None and not isinstance(params, dict):
        raise ValidationError({"params": "must be a JSON object"})
    try:
        return cls.clean_params(params)
    except ParamError as exc:
        raise ValidationError({f"params.{k}": v for k, v in exc.errors.items()}) from None


@transaction.atomic
def curriculum_create(
    *, user, project: Project, name: str, strategy: str, params: dict | None = None,
    description: str = "",
) -> Curriculum:
    require_role(user, project.team, Role.EDITOR)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "must not be empty"})
    if Curriculum.objects.filter(project=project, name=name).exists():
        raise ValidationError(
            {"name": f"project {project.name!r} already has a curriculum {name!r}"}
        )
    clean = curriculum_params_clean(strategy=strategy, params=params)
    return Curriculum.objects.create(
        project=project, name=name, strategy=strategy, params=clean, description=description,
        created_by=user,
    )


@transaction.atomic
def curriculum_update(
    *, user, curriculum: Curriculum, name: str | None = None, strategy: str | None = None,
    params: dict | None = None, description: str | None = None,
) -> Curriculum:
    require_role(user, curriculum.project.team, Role.EDITOR)
    if name is not None:
        name = name.strip()
        if not name:
            raise ValidationError({"name": "must not be empty"})
        clash = Curriculum.objects.filter(project=curriculum.project_id, name=name)
        if clash.exclude(pk=curriculum.pk).exists():
            raise ValidationError({"name": f"this project already has a curriculum {name!r}"})
        curriculum.name = name
    if strategy is not None or params is not None:
        new_strategy = strategy if strategy is not None else curriculum.strategy
        if params is not None:
            new_params = params
        elif new_strategy == curriculum.strategy:
            new_params = curriculum.params
        else:
            new_params = {}  # another strategy's parameters would be refused as unknown
        curriculum.params = curriculum_params_clean(strategy=new_strategy, params=new_params)
        curriculum.strategy = new_strategy
    if description is not None:
        curriculum.description = description
    curriculum.save()
    return curriculum
