from __future__ import annotations

from django.db.models import Max, QuerySet
from django.shortcuts import get_object_or_404

from apps.projects.models import Project
from apps.prompts.models import TeacherConfig, TeacherPrompt, TeacherPromptVersion


def teacher_config_list_for_project(*, project: Project) -> QuerySet[TeacherConfig]:
    return TeacherConfig.objects.filter(project=project).order_by("name")


def teacher_config_get_for_user(*, user, pk: int) -> TeacherConfig:
    return get_object_or_404(
        TeacherConfig.objects.filter(project__team__memberships__user=user)
        .select_related("project__team"),
        pk=pk,
    )


def prompt_list_for_project(*, project: Project) -> QuerySet[TeacherPrompt]:
    return (
        TeacherPrompt.objects.filter(project=project)
        .annotate(latest_version=Max("versions__version"))
        .order_by("role", "name")
    )


def prompt_get_for_user(*, user, pk: int) -> TeacherPrompt:
    return get_object_or_404(
        TeacherPrompt.objects.filter(project__team__memberships__user=user)
        .select_related("project__team"),
        pk=pk,
    )


def prompt_version_list(*, prompt: TeacherPrompt) -> QuerySet[TeacherPromptVersion]:
    return prompt.versions.order_by("-version")


def prompt_version_latest(*, prompt: TeacherPrompt) -> TeacherPromptVersion | None:
    return prompt.versions.order_by("-version").first()


def prompt_version_get_for_user(*, user, pk: int) -> TeacherPromptVersion:
    return get_object_or_404(
        TeacherPromptVersion.objects.filter(prompt__project__team__memberships__user=user)
        .select_related("prompt__project__team"),
        pk=pk,
    )


def prompt_versions_current(*, project: Project) -> dict[str, TeacherPromptVersion]:
    """role -> the latest version of the role's oldest prompt (the project's default)."""
    out: dict[str, TeacherPromptVersion] = {}
    for prompt in TeacherPrompt.objects.filter(project=project).order_by("created_at", "pk"):
        if prompt.role in out:
            continue
        latest = prompt_version_latest(prompt=prompt)
        if latest is not None:
            out[prompt.role] = latest
    return out
