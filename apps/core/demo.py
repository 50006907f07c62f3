"""The demo team, user and project on the built-in arithmetic family.

Everything is created with get-or-create, so seeding twice changes nothing. Skills, seed
examples and prompts come from the engine (the task family and the default templates).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.accounts.models import Membership, Role, Team
from apps.projects.models import Example, Project, Skill
from apps.projects.services import example_bulk_create, project_create
from apps.projects.starter import project_starter_install
from apps.runs.models import StudentSpec
from apps.runs.services import student_spec_create
from workers.engine.api import build_family

DEMO_TEAM = "Demo team"
DEMO_USER = "demo"
DEMO_PROJECT = "Multi-digit arithmetic"
DEMO_SEED = 1234
DEMO_TRAIN = 500
DEMO_EVAL = 200


@dataclass
class DemoResult:
    project: Project
    user_created: bool
    password: str | None  # set when the password was (re)set by this call


def _demo_user(password: str | None, reset_password: bool):
    User = get_user_model()
    user, created = User.objects.get_or_create(username=DEMO_USER)
    new_password = None
    if created or reset_password or password:
        new_password = password or secrets.token_urlsafe(12)
        user.set_password(new_password)
        user.save()
    return user, created, new_password


def _skills(project: Project, family) -> dict[str, Skill]:
    infos = family.skills()
    for info in infos:
        Skill.objects.get_or_create(
            project=project, name=info.name,
            defaults={"description": info.description, "origin": Skill.Origin.BUILTIN},
        )
    skills = {s.name: s for s in Skill.objects.filter(project=project)}
    for info in infos:
        parent = skills.get(info.parent) if info.parent else None
        if parent is not None and skills[info.name].parent_id != parent.pk:
            skills[info.name].parent = parent
            skills[info.name].save(update_fields=["parent"])
    return skills


def _examples(project: Project, family, skills: dict[str, Skill]) -> int:
    # One draw for both splits: the family keeps prompts unique within a draw, so no eval
    # item leaks into the train split.
    items = family.sample(n=DEMO_TRAIN + DEMO_EVAL, rng=random.Random(DEMO_SEED))
    rows = []
    for i, item in enumerate(items):
        rows.append({
            "key": item.id, "prompt": item.prompt, "answer": item.answer, "level": item.level,
            "skills": [skills[name] for name in item.skills], "meta": dict(item.meta),
            "split": Example.Split.TRAIN if i < DEMO_TRAIN else Example.Split.EVAL,
            "origin": Example.Origin.SEED, "review_status": Example.ReviewStatus.APPROVED,
        })
    return len(example_bulk_create(project=project, rows=rows))


@transaction.atomic
def seed_demo(*, password: str | None = None, reset_password: bool = False) -> DemoResult:
    user, user_created, new_password = _demo_user(password, reset_password)
    team, _ = Team.objects.get_or_create(name=DEMO_TEAM)
    Membership.objects.update_or_create(user=user, team=team, defaults={"role": Role.OWNER})

    project = Project.objects.filter(team=team, name=DEMO_PROJECT).first()
    if project is None:
        project = project_create(
            user=user, team=team, name=DEMO_PROJECT, task_family="arithmetic",
            description="Addition, subtraction, multiplication and comparison of 1-5 digit "
                        "numbers; the oracle teacher knows every item's skills exactly.",
            require_review=False,
        )
    family = build_family(project.task_family, project.task_options)
    skills = _skills(project, family)
    _examples(project, family, skills)

    project_starter_install(user=user, project=project)  # a demo seeded by an older version
    if not StudentSpec.objects.filter(project=project, name="tiny").exists():
        student_spec_create(user=user, project=project, name="tiny", preset="tiny", max_length=32)
    return DemoResult(project=project, user_created=user_created, password=new_password)
