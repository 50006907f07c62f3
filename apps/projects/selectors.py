from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils.safestring import mark_safe

from apps.projects.models import (
    Example,
    ExampleSkill,
    Project,
    Skill,
    SkillExtraction,
    SkillProposal,
)
from workers.engine.api import Item


def project_list_for_user(*, user) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(team__memberships__user=user).select_related("team")


def project_get_for_user(*, user, pk: int) -> Project:
    """The project, or Http404 when it does not exist or belongs to a team of strangers."""
    return get_object_or_404(project_list_for_user(user=user), pk=pk)


def skill_tree(*, project: Project) -> list[tuple[Skill, int]]:
    """Skills in tree order (parents before children) with their depth."""
    # The tree needs only parent ids: no join to read the parents themselves.
    skills = list(Skill.objects.filter(project=project).order_by("name"))
    children: dict[int | None, list[Skill]] = {}
    for s in skills:
        children.setdefault(s.parent_id, []).append(s)
    out: list[tuple[Skill, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for s in children.get(parent_id, []):
            out.append((s, depth))
            walk(s.pk, depth + 1)

    walk(None, 0)
    return out


def skill_level_counts(*, project: Project, statuses: tuple[str, ...] | None = None):
    """``({skill_id: {level: count}}, sorted levels)`` over the project's examples.

    Counts approved examples unless ``statuses`` says otherwise (the Skill-Map sizes).
    """
    statuses = statuses or (Example.ReviewStatus.APPROVED,)
    rows = (
        ExampleSkill.objects.filter(
            example__project=project, example__review_status__in=statuses
        )
        .values("skill_id", "example__level")
        .annotate(n=Count("id"))
    )
    counts: dict[int, dict[int, int]] = {}
    levels: set[int] = set()
    for row in rows:
        counts.setdefault(row["skill_id"], {})[row["example__level"]] = row["n"]
        levels.add(row["example__level"])
    return counts, sorted(levels)


def skill_map_rows(*, project: Project) -> tuple[list[dict], list[int]]:
    """The skill tree as table rows with the Skill-Map sizes, and the levels (columns).

    Each row: ``skill``, ``depth``, ``per_level`` (approved examples per level, in the
    order of the levels), ``total``, ``origin`` (its label) and ``level_cells`` (the
    per-level cells as HTML, written once here instead of cell by cell in a template).
    Two queries whatever the number of skills and examples.
    """
    counts, levels = skill_level_counts(project=project)
    origins = dict(Skill.Origin.choices)
    rows = []
    for skill, depth in skill_tree(project=project):
        by_level = counts.get(skill.pk, {})
        per_level = [by_level.get(lv, 0) for lv in levels]
        rows.append({
            "skill": skill, "depth": depth, "per_level": per_level,
            "total": sum(per_level), "origin": origins.get(skill.origin, skill.origin),
            "level_cells": mark_safe("".join(f'<td class="num">{n}</td>' for n in per_level)),
        })
    return rows, levels


def example_counts(*, project: Project) -> dict[str, dict[str, int]]:
    """``{split: {review_status: count}}`` for the project."""
    out: dict[str, dict[str, int]] = {}
    rows = (
        Example.objects.filter(project=project)
        .values("split", "review_status")
        .annotate(n=Count("id"))
    )
    for row in rows:
        out.setdefault(row["split"], {})[row["review_status"]] = row["n"]
    return out


def skill_usage(*, skill: Skill) -> tuple[int, int]:
    """``(examples that use the skill, of those the ones with no other skill)``."""
    # One query: each link of the skill with the number of skills of its example.
    n_skills = (
        ExampleSkill.objects.filter(example_id=OuterRef("example_id")).order_by()
        .values("example_id").annotate(n=Count("pk")).values("n")[:1]
    )
    totals = (
        ExampleSkill.objects.filter(skill=skill).order_by()
        .annotate(n_skills=Subquery(n_skills, output_field=IntegerField()))
        .aggregate(used=Count("pk"), only=Count("pk", filter=Q(n_skills=1)))
    )
    return totals["used"], totals["only"]


def project_list_with_counts(*, user) -> QuerySet[Project]:
    """The user's projects, each with ``n_skills`` and ``n_examples`` (one query)."""

    def count_of(model):
        return Subquery(
            model.objects.filter(project=OuterRef("pk")).order_by().values("project")
            .annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField(),
        )

    return (
        project_list_for_user(user=user)
        .annotate(n_skills=Coalesce(count_of(Skill), 0),
                  n_examples=Coalesce(count_of(Example), 0))
        .order_by("team__name", "name")
    )


def skill_get(*, project: Project, pk: int) -> Skill:
    return get_object_or_404(Skill.objects.select_related("parent"), project=project, pk=pk)


def skill_examples_per_level(*, skill: Skill) -> list[tuple[int, int]]:
    """``[(level, approved examples)]`` for one skill, by level."""
    rows = (
        ExampleSkill.objects.filter(skill=skill,
                                    example__review_status=Example.ReviewStatus.APPROVED)
        .values("example__level").annotate(n=Count("id")).order_by("example__level")
    )
    return [(row["example__level"], row["n"]) for row in rows]


def extraction_list_for_project(*, project: Project) -> QuerySet[SkillExtraction]:
    return SkillExtraction.objects.filter(project=project).select_related("teacher_config")


def extraction_get(*, project: Project, pk: int) -> SkillExtraction:
    return get_object_or_404(
        SkillExtraction.objects.select_related("teacher_config", "project__team"),
        project=project, pk=pk,
    )


def proposal_list_for_extraction(*, extraction: SkillExtraction) -> QuerySet[SkillProposal]:
    return extraction.proposals.select_related("skill").order_by("id")


def proposal_get(*, project: Project, pk: int) -> SkillProposal:
    return get_object_or_404(
        SkillProposal.objects.select_related("project__team"), project=project, pk=pk
    )


def example_item(example: Example) -> Item:
    """The engine's item for a stored example: the one place this conversion is made.

    The id is the example's stable key (``example-<pk>`` when it has none) and the primary
    key travels in ``meta["example"]``, so results point back at the example. Prefetch
    ``skills`` when converting many.
    """
    return Item(id=example.key or f"example-{example.pk}", prompt=example.prompt,
                answer=example.answer,
                skills=tuple(sorted(s.name for s in example.skills.all())),
                level=example.level, meta={"example": example.pk, **(example.meta or {})})


def example_items(examples: QuerySet[Example]) -> list[Item]:
    """:func:`example_item` of every example of ``examples``, in primary-key order, in three
    queries (examples, their skill links, the skill names) and without model instances:
    what a worker loads a pool of 100,000 items with."""
    rows = list(examples.order_by("pk").values_list("pk", "key", "prompt", "answer", "level",
                                                   "meta"))
    links = ExampleSkill.objects.filter(example__in=examples.order_by().values("pk")) \
        .order_by().values_list("example_id", "skill_id")
    names: dict[int, str] = {}
    skills: dict[int, list[int]] = {}
    for example_id, skill_id in links:
        skills.setdefault(example_id, []).append(skill_id)
        names[skill_id] = ""
    names.update(Skill.objects.filter(pk__in=list(names)).values_list("pk", "name"))
    return [Item(id=key or f"example-{pk}", prompt=prompt, answer=answer,
                 skills=tuple(sorted(names[s] for s in skills.get(pk, ()))), level=level,
                 meta={"example": pk, **(meta or {})})
            for pk, key, prompt, answer, level, meta in rows]


def skill_extraction_for_worker(*, extraction_id: int) -> SkillExtraction:
    """An extraction job with what its worker needs (no role check: workers only)."""
    return SkillExtraction.objects.select_related(
        "project", "teacher_config", "prompt_version"
    ).get(pk=extraction_id)


def skill_extraction_sample(*, extraction: SkillExtraction) -> list[Item]:
    """The approved examples shown to the teacher: ``sample_size`` of them, the same ones
    for the same job (seeded by its id)."""
    import random

    ids = list(Example.objects.filter(
        project=extraction.project_id, review_status=Example.ReviewStatus.APPROVED,
    ).values_list("pk", flat=True))
    rng = random.Random(extraction.pk)
    chosen = rng.sample(ids, min(extraction.sample_size, len(ids)))
    examples = Example.objects.filter(pk__in=chosen).prefetch_related("skills").order_by("id")
    return [example_item(e) for e in examples]


def example_list_for_project(
    *, project: Project, split: str | None = None, level: int | None = None,
    skill_id: int | None = None, origin: str | None = None, review_status: str | None = None,
) -> QuerySet[Example]:
    """The project's examples, oldest first, narrowed by whichever filters are given (a
    skill of another project matches nothing); their skills are prefetched."""
    qs = Example.objects.filter(project=project)
    if split is not None:
        qs = qs.filter(split=split)
    if level is not None:
        qs = qs.filter(level=level)
    if origin is not None:
        qs = qs.filter(origin=origin)
    if review_status is not None:
        qs = qs.filter(review_status=review_status)
    if skill_id is not None:
        qs = qs.filter(pk__in=ExampleSkill.objects.filter(skill_id=skill_id).values("example_id"))
    return qs.prefetch_related("skills").order_by("id")
