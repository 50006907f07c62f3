"""Writing comparisons: save one by name in a project, delete one. Editors and owners."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import Role
from apps.accounts.permissions import require_role
from apps.compare.models import Comparison
from apps.compare.selection import Selection
from apps.projects.models import Project
from apps.runs.models import Run

NAME_MAX = Comparison._meta.get_field("name").max_length


@transaction.atomic
def comparison_create(*, user, project: Project, name: str, selection: Selection) -> Comparison:
    """Save ``selection`` as a comparison named ``name``: its run ids (those of other
    projects are refused), or its filter when it chose no runs. Nothing is saved on a
    ValidationError."""
    require_role(user, project.team, Role.EDITOR)
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = "must not be empty"
    elif any(ord(c) < 32 for c in name):
        errors["name"] = "must not hold control characters"
    elif len(name) > NAME_MAX:
        errors["name"] = f"at most {NAME_MAX} characters"
    elif Comparison.objects.filter(project=project, name=name).exists():
        errors["name"] = f"project {project.name!r} already has a comparison {name!r}"
    problems = list(selection.errors)
    run_ids = list(selection.run_ids)
    if run_ids:
        found = set(Run.objects.filter(project=project, pk__in=run_ids)
                    .values_list("pk", flat=True))
        unknown = [pk for pk in run_ids if pk not in found]
        if unknown:
            problems.append(f"no run {unknown[0]} in project {project.name!r}")
    elif selection.is_empty:
        problems.append("choose runs, or a filter (strategies, statuses)")
    if problems:
        errors["runs"] = problems
    if errors:
        raise ValidationError(errors)
    return Comparison.objects.create(
        project=project, name=name, run_ids=run_ids,
        filter={} if run_ids else selection.filter_dict(),
        group_by=selection.group_by, baseline=selection.baseline, created_by=user,
    )


@transaction.atomic
def comparison_delete(*, user, comparison: Comparison) -> None:
    require_role(user, comparison.project.team, Role.EDITOR)
    comparison.delete()
