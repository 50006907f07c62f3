from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.shortcuts import get_object_or_404

from apps.projects.models import Example, Project, Skill
from apps.projects.selectors import example_item
from apps.prompts.models import TeacherConfig, TeacherPrompt, TeacherPromptVersion
from workers.engine.api import FAMILIES, ROLES, SkillInfo, role_prompt

CONTEXT_ITEMS = 5  # sample items shown to extract_skills in previews


def teacher_config_list_for_project(*, project: Project) -> QuerySet[TeacherConfig]:
    return TeacherConfig.objects.filter(project=project).order_by("name")


def prompt_list_for_project(*, project: Project) -> QuerySet[TeacherPrompt]:
    return (
        TeacherPrompt.objects.filter(project=project)
        .annotate(latest_version=Max("versions__version"))
        .order_by("role", "name")
    )


def prompt_versions_current(*, project: Project) -> dict[str, TeacherPromptVersion]:
    """role -> the latest version of the role's oldest prompt (the project's default)."""
    # Two queries whatever the number of roles: every prompt with its latest version
    # number, then those versions of the prompts that are their role's default.
    prompts = (
        TeacherPrompt.objects.filter(project=project)
        .annotate(latest=Max("versions__version")).order_by("created_at", "pk")
    )
    chosen: dict[str, tuple[int, int]] = {}  # role -> (prompt id, its latest version)
    for pk, role, latest in prompts.values_list("pk", "role", "latest"):
        if role not in chosen and latest is not None:
            chosen[role] = (pk, latest)
    if not chosen:
        return {}
    wanted = Q()
    for pk, version in chosen.values():
        wanted |= Q(prompt_id=pk, version=version)
    versions = {
        v.prompt_id: v for v in TeacherPromptVersion.objects.filter(wanted).select_related("prompt")
    }
    return {role: versions[pk] for role, (pk, _) in chosen.items() if pk in versions}


def teacher_config_get(*, project: Project, pk: int) -> TeacherConfig:
    """A teacher of ``project`` (which the caller already scoped to the user)."""
    return get_object_or_404(TeacherConfig, project=project, pk=pk)


def prompt_get(*, project: Project, pk: int) -> TeacherPrompt:
    return get_object_or_404(
        TeacherPrompt.objects.select_related("project__team"), project=project, pk=pk
    )


def prompt_list_by_role(*, project: Project) -> list[dict]:
    """Every role in order, with its definition and the project's prompts for it."""
    prompts = (
        TeacherPrompt.objects.filter(project=project)
        .annotate(latest_version=Max("versions__version"), n_versions=Count("versions"))
        .order_by("role", "created_at", "pk")
    )
    by_role: dict[str, list[TeacherPrompt]] = {}
    for p in prompts:
        by_role.setdefault(p.role, []).append(p)
    return [
        {"role": role_prompt(role), "prompts": by_role.get(role, [])} for role in ROLES
    ]


def prompt_version_list_with_usage(*, prompt: TeacherPrompt) -> QuerySet[TeacherPromptVersion]:
    """Versions, newest first, each with ``n_runs``: the runs that recorded it."""
    return (
        prompt.versions.annotate(n_runs=Count("runs"))
        .select_related("created_by").order_by("-version")
    )


def example_for_preview(*, project: Project, pk: int | None = None) -> Example | None:
    """The example ``pk`` of the project, or by default its first eval (then any) example."""
    examples = Example.objects.filter(project=project).prefetch_related("skills")
    if pk is not None:
        return examples.filter(pk=pk).first()
    return (examples.filter(split=Example.Split.EVAL).order_by("id").first()
            or examples.order_by("id").first())


def task_text(project: Project) -> str:
    """What the ``task`` variable says: the family's name, and the project's description."""
    info = FAMILIES.get(project.task_family)
    name = info.name if info else project.task_family
    return f"{name}: {project.description}" if project.description else name


def prompt_context(
    *, project: Project, role: str, example: Example, prediction: str = ""
) -> dict[str, Any]:
    """The variables of ``role`` filled from a real example of the project (as a worker
    would fill them): the example itself, the project's skills, neighbours as references."""
    role_prompt(role)  # an unknown role raises TemplateError
    item = example_item(example)
    skills = [SkillInfo(name, description) for name, description in
              Skill.objects.filter(project=project).order_by("name")
              .values_list("name", "description")]
    context: dict[str, Any] = {"task": task_text(project)}
    if role == "extract_skills":
        others = (Example.objects.filter(project=project).exclude(pk=example.pk)
                  .prefetch_related("skills").order_by("id")[:CONTEXT_ITEMS - 1])
        context.update(items=[item, *(example_item(e) for e in others)], max_skills=12)
    elif role == "label_skills":
        context.update(question=item.prompt, answer=item.answer, skills=skills)
    elif role == "grade":
        context.update(question=item.prompt, reference=item.answer, skills=skills,
                       prediction=prediction or "(no answer)")
    elif role == "synthesize":
        first = example.skills.all()[0] if item.skills else None
        references = [item]
        if first is not None:
            references += [example_item(e) for e in Example.objects.filter(
                project=project, level=example.level, skill_links__skill=first,
            ).exclude(pk=example.pk).prefetch_related("skills").order_by("id")[:2]]
        context.update(
            skill=first.name if first else "", level=item.level, references=references, n=2,
            skill_description=first.description if first else "",
        )
    elif role == "solve":
        context.update(question=item.prompt)
    elif role == "rate_difficulty":
        levels = sorted(set(Example.objects.filter(project=project)
                            .values_list("level", flat=True).distinct()))
        context.update(question=item.prompt, answer=item.answer, levels=levels)
    return context
