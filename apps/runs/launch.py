"""Launching a run from the browser: the student the form describes is found or created
and the run launched in one transaction, so a refused launch leaves nothing behind."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.db import transaction

from apps.accounts.models import Role
from apps.accounts.permissions import require_role
from apps.curricula.models import Curriculum
from apps.projects.models import Project
from apps.prompts.models import TeacherConfig
from apps.runs.models import Run, StudentSpec
from apps.runs.services import run_launch, student_spec_create

DEFAULT_MAX_LENGTH = 64


def _student_name(*, project: Project, preset: str, model_dir: str, max_length: int) -> str:
    tokens = f" ({max_length} tokens)" if max_length != DEFAULT_MAX_LENGTH else ""
    # The folder name is cut so that the name, its tokens and a " #n" fit the column.
    room = StudentSpec._meta.get_field("name").max_length - len(tokens) - len(" #999999")
    base = (preset or PurePath(model_dir).name or "model")[:room] + tokens
    taken = set(
        StudentSpec.objects.filter(project=project, name__startswith=base)
        .values_list("name", flat=True)
    )
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base} #{n}"
    return name


def student_spec_for_launch(
    *, user, project: Project, preset: str = "", model_dir: str = "", max_length: int,
) -> StudentSpec:
    """The project's student with exactly these settings (no LoRA), created if missing."""
    require_role(user, project.team, Role.EDITOR)
    existing = StudentSpec.objects.filter(
        project=project, preset=preset, model_dir=model_dir, max_length=max_length,
        lora__isnull=True,
    ).order_by("pk").first()
    if existing is not None:
        return existing
    name = _student_name(project=project, preset=preset, model_dir=model_dir,
                         max_length=max_length)
    return student_spec_create(user=user, project=project, name=name, preset=preset,
                               model_dir=model_dir, max_length=max_length)


@transaction.atomic
def run_launch_for_student_settings(
    *, user, project: Project, preset: str, model_dir: str, max_length: int,
    teacher_config: TeacherConfig, curriculum: Curriculum, **options: Any,
) -> Run:
    """Find or create the student, then :func:`run_launch` the run (same ``options``)."""
    student = student_spec_for_launch(user=user, project=project, preset=preset,
                                      model_dir=model_dir, max_length=max_length)
    return run_launch(user=user, project=project, student=student,
                      teacher_config=teacher_config, curriculum=curriculum, **options)


def launch_missing(*, project: Project, n_teachers: int, n_curricula: int) -> list[dict]:
    """What the project still lacks before a run can launch, each with the page that adds
    it: ``[{"what", "url", "action"}]`` (empty when the launch form can be used)."""
    from django.urls import reverse

    from apps.projects.models import Example

    missing = []
    if not n_teachers:
        teachers = reverse("prompts:teacher-list", args=[project.pk])
        missing.append({"what": "a teacher", "action": "Add a teacher",
                        "url": f"{teachers}#teacher-form"})
    if not n_curricula:
        missing.append({"what": "a curriculum", "action": "Add a curriculum",
                        "url": reverse("curricula:curriculum-new", args=[project.pk])})
    if project.task_family == "jsonl" and not Example.objects.filter(
        project=project, split=Example.Split.TRAIN, added_at__isnull=False,
    ).exists():
        missing.append({"what": "training examples", "action": "Import examples",
                        "url": reverse("projects:example-import", args=[project.pk])})
    return missing
