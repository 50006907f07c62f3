"""What a new project starts with, so that its launch form is not a dead end: the built-in
oracle teacher, the default prompt version of every teacher role, and a ``uniform`` and a
``stat_sel`` curriculum (the control arm and skill-targeted selection).

Idempotent: what exists (by name) is left alone. The prompts and curricula apps build on
projects, so they are imported when the starter runs, not when this module loads.
"""

from __future__ import annotations

from apps.projects.models import Project

STARTER_TEACHER = "oracle"
STARTER_CURRICULA = (
    ("uniform", "uniform", "Equal weight over the pool: the control arm."),
    ("stat_sel", "stat_sel", "Skill-targeted selection from the Missing-Skill-Profile."),
)


def project_starter_install(*, user, project: Project) -> None:
    from apps.curricula.models import Curriculum
    from apps.curricula.services import curriculum_create
    from apps.prompts.models import TeacherConfig, TeacherKind
    from apps.prompts.services import prompt_defaults_install, teacher_config_create

    if not TeacherConfig.objects.filter(project=project, name=STARTER_TEACHER).exists():
        teacher_config_create(user=user, project=project, name=STARTER_TEACHER,
                              kind=TeacherKind.ORACLE)
    prompt_defaults_install(user=user, project=project)
    for name, strategy, description in STARTER_CURRICULA:
        if not Curriculum.objects.filter(project=project, name=name).exists():
            curriculum_create(user=user, project=project, name=name, strategy=strategy,
                              description=description)
