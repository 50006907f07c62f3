from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Role, Team
from apps.accounts.permissions import require_role
from apps.projects.models import MAX_SKILLS_PER_EXAMPLE, Example, ExampleSkill, Project, Skill
from apps.projects.selectors import skill_usage
from apps.projects.starter import project_starter_install


def _clean_name(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: "must not be empty"})
    return value


@transaction.atomic
def project_create(
    *, user, team: Team, name: str, description: str = "", task_family: str = "arithmetic",
    task_options: dict | None = None, require_review: bool = True, starter: bool = True,
    approved_only: bool = False,
) -> Project:
    """A new project; with ``starter`` it comes ready to launch (:mod:`apps.projects.starter`:
    the oracle teacher, the default prompts, a uniform and a stat_sel curriculum)."""
    require_role(user, team, Role.EDITOR)
    name = _clean_name(name, "name")
    if Project.objects.filter(team=team, name=name).exists():
        raise ValidationError({"name": f"team {team.name!r} already has a project {name!r}"})
    if task_options is not None and not isinstance(task_options, dict):
        raise ValidationError({"task_options": "must be a JSON object"})
    project = Project.objects.create(
        team=team, name=name, description=description, task_family=task_family.strip(),
        task_options=task_options or {}, require_review=require_review,
        approved_only=approved_only, created_by=user,
    )
    if starter:
        project_starter_install(user=user, project=project)
    return project


@transaction.atomic
def project_update(
    *, user, project: Project, name: str | None = None, description: str | None = None,
    require_review: bool | None = None, task_options: dict | None = None,
    approved_only: bool | None = None,
) -> Project:
    """Change the project's settings. With ``approved_only`` on, its runs that wait for
    review go on at once with the approved items (queued again after commit)."""
    require_role(user, project.team, Role.EDITOR)
    if name is not None:
        name = _clean_name(name, "name")
        if Project.objects.filter(team=project.team, name=name).exclude(pk=project.pk).exists():
            raise ValidationError({"name": f"this team already has a project {name!r}"})
        project.name = name
    if description is not None:
        project.description = description
    if require_review is not None:
        project.require_review = require_review
    if approved_only is not None:
        project.approved_only = approved_only
    if task_options is not None:
        if not isinstance(task_options, dict):
            raise ValidationError({"task_options": "must be a JSON object"})
        project.task_options = task_options
    project.save()
    if project.approved_only:
        transaction.on_commit(lambda: _resume_waiting_runs(project.pk))
    return project


def _resume_waiting_runs(project_id: int) -> None:
    from apps.runs.review_wait import resume_runs_waiting_in_project

    resume_runs_waiting_in_project(project_id=project_id)


def _check_parent(project: Project, skill: Skill | None, parent: Skill | None) -> None:
    if parent is None:
        return
    if parent.project_id != project.pk:
        raise ValidationError({"parent": f"skill {parent.name!r} belongs to another project"})
    node: Skill | None = parent
    while node is not None:
        if skill is not None and node.pk == skill.pk:
            raise ValidationError({"parent": f"{parent.name!r} would make a cycle"})
        node = node.parent


@transaction.atomic
def skill_create(
    *, user, project: Project, name: str, description: str = "", parent: Skill | None = None,
    origin: str = Skill.Origin.MANUAL,
) -> Skill:
    require_role(user, project.team, Role.EDITOR)
    name = _clean_name(name, "name")
    if Skill.objects.filter(project=project, name=name).exists():
        raise ValidationError({"name": f"project {project.name!r} already has a skill {name!r}"})
    _check_parent(project, None, parent)
    return Skill.objects.create(
        project=project, name=name, description=description, parent=parent, origin=origin
    )


@transaction.atomic
def skill_rename(*, user, skill: Skill, name: str) -> Skill:
    require_role(user, skill.project.team, Role.EDITOR)
    name = _clean_name(name, "name")
    if Skill.objects.filter(project=skill.project_id, name=name).exclude(pk=skill.pk).exists():
        raise ValidationError({"name": f"this project already has a skill {name!r}"})
    skill.name = name
    skill.save(update_fields=["name"])
    return skill


@transaction.atomic
def skill_update(
    *, user, skill: Skill, description: str | None = None, parent: Skill | None = None,
    clear_parent: bool = False,
) -> Skill:
    require_role(user, skill.project.team, Role.EDITOR)
    if description is not None:
        skill.description = description
    if clear_parent:
        skill.parent = None
    elif parent is not None:
        _check_parent(skill.project, skill, parent)
        skill.parent = parent
    skill.save()
    return skill


@transaction.atomic
def skill_move(*, user, skill: Skill, parent: Skill | None) -> Skill:
    """Put ``skill`` under ``parent``, or at the top of the tree when ``parent`` is None."""
    require_role(user, skill.project.team, Role.EDITOR)
    _check_parent(skill.project, skill, parent)
    skill.parent = parent
    skill.save(update_fields=["parent"])
    return skill


@transaction.atomic
def skill_merge(*, user, source: Skill, target: Skill) -> Skill:
    """Fold ``source`` into ``target``: its examples and sub-skills follow, then it goes.

    An example that had both skills keeps one link to ``target``.
    """
    require_role(user, source.project.team, Role.EDITOR)
    if source.pk == target.pk:
        raise ValidationError({"target": "a skill cannot be merged into itself"})
    if source.project_id != target.project_id:
        raise ValidationError({"target": f"skill {target.name!r} belongs to another project"})
    node: Skill | None = target
    while node is not None:
        if node.parent_id == source.pk:
            # The target sits under the source: lift it to the source's place first.
            target.parent_id = source.parent_id
            target.save(update_fields=["parent"])
            break
        node = node.parent
    both = ExampleSkill.objects.filter(skill=target).values("example_id")
    ExampleSkill.objects.filter(skill=source, example_id__in=both).delete()
    ExampleSkill.objects.filter(skill=source).update(skill=target)
    Skill.objects.filter(parent=source).exclude(pk=target.pk).update(parent=target)
    if not target.description and source.description:
        target.description = source.description
        target.save(update_fields=["description"])
    source.delete()
    return target


@transaction.atomic
def skill_delete(*, user, skill: Skill) -> None:
    """Delete a skill; its sub-skills move up to its parent.

    Refused while some example has no other skill (an example needs at least one):
    merging the skill into another keeps those examples.
    """
    require_role(user, skill.project.team, Role.EDITOR)
    used, only = skill_usage(skill=skill)
    if only:
        raise ValidationError(
            f"{only} of the {used} examples that use {skill.name!r} have no other skill and "
            f"would be left without one; merge {skill.name!r} into another skill instead"
        )
    Skill.objects.filter(parent=skill).update(parent=skill.parent_id)
    skill.delete()


def _check_skills(project: Project, skills: Sequence[Skill]) -> list[Skill]:
    unique = list({s.pk: s for s in skills}.values())
    if not 1 <= len(unique) <= MAX_SKILLS_PER_EXAMPLE:
        raise ValidationError(
            {"skills": f"an example needs 1 to {MAX_SKILLS_PER_EXAMPLE} skills, got {len(unique)}"}
        )
    for s in unique:
        if s.project_id != project.pk:
            raise ValidationError({"skills": f"skill {s.name!r} belongs to another project"})
    return unique


def example_build(
    *, project: Project, prompt: str, answer: str, skills: Sequence[Skill], level: int,
    split: str = Example.Split.TRAIN, origin: str = Example.Origin.SEED,
    review_status: str | None = None, **lineage,
) -> tuple[Example, list[Skill]]:
    """An unsaved, validated example and its checked skills (shared by create and bulk)."""
    if not (prompt or "").strip():
        raise ValidationError({"prompt": "must not be empty"})
    if isinstance(level, bool) or not isinstance(level, int):
        raise ValidationError({"level": f"must be a whole number, got {level!r}"})
    if split not in Example.Split.values:
        raise ValidationError({"split": f"must be one of {', '.join(Example.Split.values)}"})
    if origin not in Example.Origin.values:
        raise ValidationError({"origin": f"must be one of {', '.join(Example.Origin.values)}"})
    if review_status is None:
        # Teacher-made data waits for a person when the project asks for review.
        needs_review = origin == Example.Origin.SYNTHESIZED and project.require_review
        review_status = (
            Example.ReviewStatus.PENDING if needs_review else Example.ReviewStatus.APPROVED
        )
    if review_status not in Example.ReviewStatus.values:
        raise ValidationError({"review_status": "must be pending, approved or rejected"})
    checked = _check_skills(project, skills)
    if "added_at" not in lineage:
        # Seed and imported items join the project's dataset now; a synthesized item
        # belongs to the run that made it until a person adds it.
        joins = origin != Example.Origin.SYNTHESIZED and review_status == \
            Example.ReviewStatus.APPROVED
        lineage["added_at"] = timezone.now() if joins else None
    example = Example(
        project=project, prompt=prompt, answer=answer, level=level, split=split, origin=origin,
        review_status=review_status, **lineage,
    )
    return example, checked


@transaction.atomic
def example_create(
    *, user, project: Project, prompt: str, answer: str, skills: Sequence[Skill], level: int,
    split: str = Example.Split.TRAIN, origin: str = Example.Origin.SEED,
    review_status: str | None = None, **lineage,
) -> Example:
    """One example; ``lineage`` takes key, meta, prompt_version, teacher_kind, round,
    triggering_example and teacher_raw."""
    require_role(user, project.team, Role.EDITOR)
    example, checked = example_build(
        project=project, prompt=prompt, answer=answer, skills=skills, level=level, split=split,
        origin=origin, review_status=review_status, **lineage,
    )
    example.save()
    ExampleSkill.objects.bulk_create([ExampleSkill(example=example, skill=s) for s in checked])
    return example


@transaction.atomic
def example_bulk_create(*, project: Project, rows: Iterable[dict]) -> list[Example]:
    """Many examples at once, without a role check: for workers and trusted commands.

    Each row holds :func:`example_build` keywords (``skills`` as Skill objects). Rows whose
    ``key`` already exists in the project are skipped, so repeating an import is harmless.
    """
    existing = set(
        Example.objects.filter(project=project).exclude(key="").values_list("key", flat=True)
    )
    built: list[tuple[Example, list[Skill]]] = []
    for i, row in enumerate(rows):
        key = row.get("key", "")
        if key and key in existing:
            continue
        try:
            built.append(example_build(project=project, **row))
        except ValidationError as exc:
            raise ValidationError(f"row {i} (key {key!r}): {exc}") from exc
        if key:
            existing.add(key)
    examples = Example.objects.bulk_create([e for e, _ in built])
    links = [ExampleSkill(example=e, skill=s) for e, skills in built for s in skills]
    ExampleSkill.objects.bulk_create(links)
    return examples


MAX_BULK_EXAMPLES = 1000
BULK_ROW_FIELDS = frozenset({"prompt", "answer", "skills", "level", "split", "origin",
                             "review_status", "key", "meta"})


def _row_errors(i: int, exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {f"examples.{i}.{key}": msgs for key, msgs in exc.message_dict.items()}
    return {f"examples.{i}": exc.messages}


@transaction.atomic
def example_bulk_add(*, user, project: Project, examples: Sequence[dict]) -> list[Example]:
    """Many examples from a person (the API), all or none.

    Each row holds :func:`example_build` keywords, with ``skills`` as skill *names* of the
    project, plus optional ``key`` and ``meta``. Every row is checked before anything is
    saved; any bad row refuses the whole call with a ValidationError that names each
    problem as ``examples.<row>.<field>``. A key already used in the project, or twice in
    the call, is an error on that row (``example_bulk_create`` skips such rows instead).
    """
    require_role(user, project.team, Role.EDITOR)
    if not 1 <= len(examples) <= MAX_BULK_EXAMPLES:
        raise ValidationError(
            {"examples": f"send 1 to {MAX_BULK_EXAMPLES} examples, got {len(examples)}"})
    names = {name for row in examples for name in row.get("skills") or ()}
    skills = {s.name: s for s in Skill.objects.filter(project=project, name__in=names)}
    keys = [row.get("key") or "" for row in examples]
    taken = set(Example.objects.filter(project=project, key__in=[k for k in keys if k])
                .values_list("key", flat=True))
    errors: dict[str, list[str]] = {}
    built: list[tuple[Example, list[Skill]]] = []
    seen: set[str] = set()
    for i, row in enumerate(examples):
        key = keys[i]
        if key and (key in taken or key in seen):
            errors[f"examples.{i}.key"] = [f"key {key!r} is used by another example of "
                                          "this project" if key in taken
                                          else f"key {key!r} appears twice in this call"]
        seen.add(key)
        extra = sorted(set(row) - BULK_ROW_FIELDS)
        if extra:
            errors[f"examples.{i}"] = [f"unknown fields: {', '.join(extra)}"]
            continue
        unknown = [name for name in row.get("skills") or () if name not in skills]
        if unknown:
            errors[f"examples.{i}.skills"] = [
                f"project {project.name!r} has no skill {name!r}" for name in unknown]
            continue
        fields = {k: v for k, v in row.items() if k != "skills"}
        try:
            built.append(example_build(project=project,
                                       skills=[skills[n] for n in row.get("skills") or ()],
                                       **fields))
        except ValidationError as exc:
            errors.update(_row_errors(i, exc))
    if errors:
        raise ValidationError(errors)
    created = Example.objects.bulk_create([e for e, _ in built])
    ExampleSkill.objects.bulk_create(
        [ExampleSkill(example=e, skill=s) for e, checked in built for s in checked])
    return created


@transaction.atomic
def example_set_skills(*, user, example: Example, skills: Sequence[Skill]) -> Example:
    require_role(user, example.project.team, Role.EDITOR)
    checked = _check_skills(example.project, skills)
    ExampleSkill.objects.filter(example=example).delete()
    ExampleSkill.objects.bulk_create([ExampleSkill(example=example, skill=s) for s in checked])
    return example


@transaction.atomic
def example_review(*, user, example: Example, status: str) -> Example:
    require_role(user, example.project.team, Role.EDITOR)
    if status not in Example.ReviewStatus.values:
        raise ValidationError({"review_status": "must be pending, approved or rejected"})
    example.review_status = status
    example.save(update_fields=["review_status"])
    return example
