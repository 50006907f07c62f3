import pytest
from django.urls import reverse

from apps.projects.models import Project, Skill
from tests.factories import (
    CurriculumFactory,
    ExampleFactory,
    RunFactory,
    SkillFactory,
)

# The smallest valid "new project from a task family" form.
NEW = {"task_family": "arithmetic", "train_size": 20, "eval_size": 5, "seed": 0}


def test_pages_need_login(client, project_a):
    for url in (reverse("core:home"), reverse("core:project-detail", args=[project_a.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))


def test_home_lists_own_teams_and_projects_only(client_for, owner, stranger, project_a, project_b):
    html = client_for(owner).get(reverse("core:home")).content.decode()
    assert "Team A" in html and project_a.name in html
    assert "Team B" not in html and project_b.name not in html


def test_home_offers_project_form_to_editors_not_viewers(client_for, viewer, project_a):
    html = client_for(viewer).get(reverse("core:home")).content.decode()
    assert project_a.name in html
    assert reverse("projects:project-new") not in html
    assert reverse("projects:skill-new", args=[project_a.pk]) not in client_for(viewer).get(
        reverse("projects:skill-list", args=[project_a.pk])).content.decode()


def test_project_detail_shows_skill_counts_per_level(client_for, viewer, project_a):
    parent = SkillFactory(project=project_a, name="add")
    child = SkillFactory(project=project_a, name="carry", parent=parent)
    ExampleFactory.create_batch(2, project=project_a, level=1, skills=[parent])
    ExampleFactory(project=project_a, level=3, skills=[parent, child])
    ExampleFactory(project=project_a, level=3, skills=[child], review_status="pending")
    CurriculumFactory(project=project_a, name="my uniform")
    RunFactory(project=project_a, name="first run")
    response = client_for(viewer).get(reverse("core:project-detail", args=[project_a.pk]))
    assert response.status_code == 200
    rows = {r["skill"].name: r for r in response.context["skills"]}
    assert response.context["levels"] == [1, 3]
    assert rows["add"]["per_level"] == [2, 1] and rows["add"]["depth"] == 0
    assert rows["carry"]["per_level"] == [0, 1] and rows["carry"]["depth"] == 1
    html = response.content.decode()
    assert "my uniform" in html and "first run" in html


@pytest.mark.parametrize("size", [1, 20])
def test_project_detail_query_count_does_not_grow(client_for, viewer, project_a, size,
                                                  django_assert_max_num_queries):
    skills = [SkillFactory(project=project_a, name=f"s{i}") for i in range(2 * size)]
    for i in range(5 * size):
        ExampleFactory(project=project_a, level=i % 4, skills=skills[i % len(skills):][:2])
    for i in range(size):
        CurriculumFactory(project=project_a, name=f"c{i}")
        RunFactory(project=project_a, name=f"run {i}")
    client = client_for(viewer)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("core:project-detail", args=[project_a.pk]))
    assert len(response.context["skills"]) == 2 * size
    assert len(response.context["runs"]) == size


def test_stranger_gets_404_for_another_teams_project(client_for, stranger, project_a):
    client = client_for(stranger)
    assert client.get(reverse("core:project-detail", args=[project_a.pk])).status_code == 404
    response = client.post(reverse("projects:skill-new", args=[project_a.pk]), {"name": "x"})
    assert response.status_code == 404
    response = client.post(reverse("projects:project-new"),
                           {**NEW, "team": project_a.team_id, "name": "x"})
    assert response.status_code == 404
    assert not Skill.objects.filter(name="x").exists()
    assert not Project.objects.filter(name="x").exists()


def test_viewer_cannot_write(client_for, viewer, project_a):
    client = client_for(viewer)
    response = client.post(reverse("projects:skill-new", args=[project_a.pk]), {"name": "borrow"})
    assert response.status_code == 403
    data = {**NEW, "team": project_a.team_id, "name": "New"}
    response = client.post(reverse("projects:project-new"), data)
    assert response.status_code == 403
    assert not Skill.objects.filter(name="borrow").exists()
    assert not Project.objects.filter(name="New").exists()


@pytest.mark.parametrize("who", ["owner", "editor"])
def test_owner_and_editor_can_write(request, client_for, who, project_a):
    client = client_for(request.getfixturevalue(who))
    response = client.post(reverse("projects:skill-new", args=[project_a.pk]), {"name": "borrow"})
    assert response.status_code == 302
    assert Skill.objects.filter(project=project_a, name="borrow").exists()
    data = {**NEW, "team": project_a.team_id, "name": "New"}
    response = client.post(reverse("projects:project-new"), data)
    created = Project.objects.get(team=project_a.team, name="New")
    assert response.url == reverse("core:project-detail", args=[created.pk])


def test_bad_skill_input_is_shown_on_the_form(client_for, owner, project_a):
    SkillFactory(project=project_a, name="carry")
    client = client_for(owner)
    response = client.post(reverse("projects:skill-new", args=[project_a.pk]), {"name": "carry"})
    assert response.status_code == 400
    assert "already has a skill" in response.content.decode()


def test_duplicate_project_name_is_refused_with_message(client_for, owner, project_a):
    response = client_for(owner).post(
        reverse("projects:project-new"), {**NEW, "team": project_a.team_id, "name": project_a.name}
    )
    assert response.status_code == 400
    assert "already has a project" in response.content.decode()
