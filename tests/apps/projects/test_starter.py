"""A new project is ready to launch: oracle teacher, default prompts, two curricula."""

from __future__ import annotations

import pytest

from apps.curricula.models import Curriculum
from apps.projects.services import project_create
from apps.projects.starter import project_starter_install
from apps.prompts.models import TeacherConfig, TeacherPrompt
from workers.engine.api import ROLES

pytestmark = pytest.mark.django_db


def test_a_new_project_comes_ready_to_launch(owner, team_a):
    project = project_create(user=owner, team=team_a, name="Fresh")
    assert list(TeacherConfig.objects.filter(project=project).values_list("name", "kind")) \
        == [("oracle", "oracle")]
    assert set(TeacherPrompt.objects.filter(project=project).values_list("role", flat=True)) \
        == set(ROLES)
    assert all(p.versions.count() == 1 for p in TeacherPrompt.objects.filter(project=project))
    assert sorted(Curriculum.objects.filter(project=project).values_list("name", "strategy")) \
        == [("stat_sel", "stat_sel"), ("uniform", "uniform")]


def test_the_starter_leaves_what_exists_alone(owner, team_a):
    project = project_create(user=owner, team=team_a, name="Fresh")
    uniform = Curriculum.objects.get(project=project, name="uniform")
    uniform.description = "mine"
    uniform.save()
    project_starter_install(user=owner, project=project)
    assert Curriculum.objects.filter(project=project).count() == 2
    assert Curriculum.objects.get(pk=uniform.pk).description == "mine"
    assert TeacherConfig.objects.filter(project=project).count() == 1


def test_without_the_starter_the_project_is_bare(owner, team_a):
    project = project_create(user=owner, team=team_a, name="Bare", starter=False)
    assert not TeacherConfig.objects.filter(project=project).exists()
    assert not Curriculum.objects.filter(project=project).exists()


def test_launch_page_lists_nothing_missing_for_a_starter_project(client_for, owner, team_a):
    from django.urls import reverse

    project = project_create(user=owner, team=team_a, name="Fresh")
    html = client_for(owner).get(reverse("runs:run-new", args=[project.pk])).content.decode()
    assert 'id="launch-missing"' not in html


def test_launch_page_lists_what_a_bare_jsonl_project_misses(client_for, owner, team_a):
    from django.urls import reverse

    project = project_create(user=owner, team=team_a, name="Bare", task_family="jsonl",
                             starter=False)
    html = client_for(owner).get(reverse("runs:run-new", args=[project.pk])).content.decode()
    assert "a teacher, a curriculum and training examples" in html
    assert reverse("projects:example-import", args=[project.pk]) in html
