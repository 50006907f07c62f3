"""Projects pages: list, create from a task family, create from a JSONL upload."""

import json
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.projects.models import Example, Project, Skill
from tests.factories import ExampleFactory, ProjectFactory

FAMILY = {"task_family": "arithmetic", "train_size": 30, "eval_size": 10, "seed": 1,
          "require_review": "on"}


def jsonl(*rows):
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n"


GOOD = jsonl(
    {"id": "a1", "prompt": "2+2=", "answer": "4", "skills": ["add"], "level": 1},
    {"id": "a2", "prompt": "12+9=", "answer": "21", "skills": ["add", "carry"], "level": 2,
     "split": "eval"},
    {"id": "a3", "prompt": "7-3=", "answer": "4", "skills": ["sub"], "level": 1},
)


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def upload(text, name="items.jsonl"):
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="application/jsonl")


def preview(client, team, text, **extra):
    data = {"team": team.pk, "name": "From file", "answer_mode": "exact", "eval_share": "0.2",
            "file": upload(text), **extra}
    return client.post(reverse("projects:jsonl-preview"), data)


# --- list -----------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["owner", "editor", "viewer"])
def test_project_list_shows_team_projects_with_counts(request, client_for, who, project_a,
                                                      project_b):
    ExampleFactory.create_batch(3, project=project_a)
    html = client_for(request.getfixturevalue(who)).get(
        reverse("projects:project-list")).content.decode()
    assert project_a.name in html and project_b.name not in html
    assert (reverse("projects:project-new") in html) == (who != "viewer")


def test_project_list_query_count_does_not_grow(client_for, owner, team_a,
                                                django_assert_max_num_queries):
    for i in range(15):
        project = ProjectFactory(team=team_a, name=f"p{i}")
        ExampleFactory.create_batch(2, project=project)
    client = client_for(owner)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("projects:project-list"))
    assert response.content.decode().count("<tr>") == 16


def test_new_project_page(client_for, owner, viewer, team_a):
    html = client_for(owner).get(reverse("projects:project-new")).content.decode()
    assert "From a built-in task family" in html and "From a JSONL file" in html
    html = client_for(viewer).get(reverse("projects:project-new")).content.decode()
    assert "only in teams where you are an editor" in html


# --- create from a task family --------------------------------------------------------------

@pytest.mark.parametrize("who", ["owner", "editor"])
def test_create_from_arithmetic_seeds_skills_and_examples(request, client_for, who, team_a):
    client = client_for(request.getfixturevalue(who))
    response = client.post(reverse("projects:project-new"), {
        **FAMILY, "team": team_a.pk, "name": "Sums", "task_options": '{"levels": [1, 2]}'})
    project = Project.objects.get(team=team_a, name="Sums")
    assert response.status_code == 302
    assert response.url == reverse("core:project-detail", args=[project.pk])
    assert project.task_options == {"levels": [1, 2]}
    assert Skill.objects.filter(project=project, name="carry", origin="builtin").exists()
    assert Example.objects.filter(project=project, split="train").count() == 30
    assert Example.objects.filter(project=project, split="eval").count() == 10
    assert set(Example.objects.filter(project=project).values_list("level", flat=True)) <= {1, 2}


@pytest.mark.parametrize("options, message", [
    ('{"levels": [9]}', "levels"),
    ('{"colour": 1}', "unknown option"),
    ("[1, 2]", "must be a JSON object"),
    ("{not json", "not valid JSON"),
])
def test_bad_task_options_are_shown_inline_and_nothing_is_saved(client_for, owner, team_a,
                                                                options, message):
    response = client_for(owner).post(reverse("projects:project-new"), {
        **FAMILY, "team": team_a.pk, "name": "Bad", "task_options": options})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Project.objects.filter(name="Bad").exists()
    assert not Skill.objects.exists()


def test_reasoning_gym_without_the_package_says_how_to_install(client_for, owner, team_a,
                                                               monkeypatch):
    monkeypatch.setitem(sys.modules, "reasoning_gym", None)  # as if it were not installed
    response = client_for(owner).post(reverse("projects:project-new"), {
        **FAMILY, "team": team_a.pk, "name": "Gym", "task_family": "reasoning_gym",
        "task_options": '{"dataset": "basic_arithmetic"}'})
    assert response.status_code == 400
    assert "reasoning-gym" in response.content.decode()
    assert not Project.objects.filter(name="Gym").exists()


def test_create_from_reasoning_gym_datasets_seeds_skills_sub_skills_and_levels(
        client_for, owner, team_a):
    options = {"datasets": {"chain_sum": {"levels": [1, 2]},
                            "complex_arithmetic": {"levels": [1, 2]}}}
    response = client_for(owner).post(reverse("projects:project-new"), {
        **FAMILY, "team": team_a.pk, "name": "Gym", "task_family": "reasoning_gym",
        "task_options": json.dumps(options)})
    assert response.status_code == 302
    project = Project.objects.get(team=team_a, name="Gym")
    multiply = Skill.objects.get(project=project, name="complex_arithmetic/multiply")
    assert multiply.parent.name == "complex_arithmetic" and multiply.origin == "builtin"
    examples = Example.objects.filter(project=project)
    assert examples.count() == 40
    assert set(examples.values_list("level", flat=True)) <= {1, 2}
    assert {e.meta["dataset"] for e in examples} == {"chain_sum", "complex_arithmetic"}
    assert not examples.filter(answer="None").exists()


def test_create_refused_to_viewer_and_stranger(client_for, viewer, stranger, team_a):
    data = {**FAMILY, "team": team_a.pk, "name": "Nope"}
    assert client_for(viewer).post(reverse("projects:project-new"), data).status_code == 403
    assert client_for(stranger).post(reverse("projects:project-new"), data).status_code == 404
    assert not Project.objects.filter(name="Nope").exists()


# --- create from a JSONL upload -------------------------------------------------------------

def test_jsonl_preview_shows_rows_and_saves_nothing(client_for, owner, team_a, data_dir):
    response = preview(client_for(owner), team_a, GOOD)
    assert response.status_code == 200
    html = response.content.decode()
    assert "3 good items, 0 bad lines" in html
    assert "12+9=" in html and "add, carry" in html
    assert reverse("projects:jsonl-confirm") in html
    assert not Project.objects.exists() and not Skill.objects.exists()
    assert len(list((data_dir / "uploads").iterdir())) == 1


def test_jsonl_preview_lists_every_broken_line_and_offers_no_confirm(client_for, owner, team_a,
                                                                      data_dir):
    text = jsonl(
        {"prompt": "1+1=", "answer": "2", "skills": ["add"], "level": 1},
        "{broken",
        {"prompt": "3+3=", "answer": "6", "skills": [], "level": 1},
        {"prompt": "4+4=", "answer": "8", "skills": ["add"], "level": "two"},
    )
    response = preview(client_for(owner), team_a, text)
    html = response.content.decode()
    assert response.status_code == 400
    assert "1 good item, 3 bad lines" in html
    assert "broken JSON" in html and "needs 1 to 5 skills" in html
    assert "level must be a whole number" in html
    assert reverse("projects:jsonl-confirm") not in html
    assert not Project.objects.exists()
    assert not (data_dir / "uploads").exists()


def test_jsonl_preview_as_htmx_returns_the_partial(client_for, owner, team_a, data_dir):
    client = client_for(owner)
    data = {"team": team_a.pk, "name": "F", "answer_mode": "exact", "eval_share": "0.2",
            "file": upload(GOOD)}
    response = client.post(reverse("projects:jsonl-preview"), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="jsonl-preview">') and "<html" not in html


def test_jsonl_over_the_size_limit_is_refused_inline(client_for, owner, team_a, settings,
                                                     data_dir):
    settings.STUDIO_MAX_UPLOAD_BYTES = 100
    response = preview(client_for(owner), team_a, GOOD)
    assert response.status_code == 400
    assert "the limit is 100 bytes" in response.content.decode()
    assert not Project.objects.exists()


def test_jsonl_that_is_not_utf8_is_refused_inline(client_for, owner, team_a, data_dir):
    data = {"team": team_a.pk, "name": "F", "answer_mode": "exact", "eval_share": "0.2",
            "file": SimpleUploadedFile("x.jsonl", b"\xff\xfe\x00bad")}
    response = client_for(owner).post(reverse("projects:jsonl-preview"), data)
    assert response.status_code == 400
    assert "not UTF-8 text" in response.content.decode()


def test_jsonl_confirm_creates_project_skills_and_examples(client_for, owner, team_a, data_dir):
    client = client_for(owner)
    confirm = preview(client, team_a, GOOD).context["confirm"]
    token = confirm.initial["token"]
    response = client.post(reverse("projects:jsonl-confirm"), {
        "team": team_a.pk, "name": "From file", "description": "", "token": token,
        "answer_mode": "exact", "eval_share": "0", "require_review": "on"})
    project = Project.objects.get(name="From file")
    assert response.status_code == 302
    assert project.task_family == "jsonl"
    assert sorted(Skill.objects.filter(project=project).values_list("name", flat=True)) == [
        "add", "carry", "sub"]
    examples = {e.key: e for e in Example.objects.filter(project=project)}
    assert set(examples) == {"a1", "a2", "a3"}
    assert examples["a2"].split == "eval" and examples["a1"].split == "train"
    assert examples["a1"].origin == "imported"
    assert {s.name for s in examples["a2"].skills.all()} == {"add", "carry"}
    stored = project.task_options["path"]
    assert Path(stored).read_text(encoding="utf-8") == GOOD
    assert not (data_dir / "uploads" / f"{token}.jsonl").exists()


def test_jsonl_confirm_with_a_taken_name_saves_nothing(client_for, owner, team_a, project_a,
                                                       data_dir):
    client = client_for(owner)
    token = preview(client, team_a, GOOD).context["confirm"].initial["token"]
    response = client.post(reverse("projects:jsonl-confirm"), {
        "team": team_a.pk, "name": project_a.name, "token": token, "answer_mode": "exact",
        "eval_share": "0.2"})
    assert response.status_code == 400
    assert "already has a project" in response.content.decode()
    assert Project.objects.count() == 1 and not Skill.objects.exists()
    assert not Example.objects.exists()


def test_jsonl_confirm_with_a_bad_token_is_refused(client_for, owner, team_a, data_dir):
    for token in ("../../etc/passwd", "0" * 32):
        response = client_for(owner).post(reverse("projects:jsonl-confirm"), {
            "team": team_a.pk, "name": "X", "token": token, "answer_mode": "exact",
            "eval_share": "0.2"})
        assert response.status_code == 400
        assert "upload" in response.content.decode()
    assert not Project.objects.exists()


def test_jsonl_upload_refused_to_viewer_and_stranger(client_for, viewer, stranger, team_a,
                                                     data_dir):
    assert preview(client_for(viewer), team_a, GOOD).status_code == 403
    assert preview(client_for(stranger), team_a, GOOD).status_code == 404
    assert not (data_dir / "uploads").exists()


# --- an upload never outlives its import ----------------------------------------------------

def _uploads(data_dir):
    folder = data_dir / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("change", [
    {"name": "Arithmetic A"},  # a name the team already has: the service refuses
    {"eval_share": "5"},  # the form refuses
    {"team": "999999"},  # no such team: 404
])
def test_a_failed_jsonl_import_removes_its_upload(client_for, owner, team_a, project_a,
                                                  data_dir, change):
    client = client_for(owner)
    token = preview(client, team_a, GOOD).context["confirm"].initial["token"]
    assert _uploads(data_dir) == [f"{token}.jsonl"]
    data = {"team": team_a.pk, "name": "From file", "token": token, "answer_mode": "exact",
            "eval_share": "0.2", **change}
    response = client.post(reverse("projects:jsonl-confirm"), data)
    assert response.status_code in (400, 404)
    assert _uploads(data_dir) == []
    assert Project.objects.count() == 1 and not Example.objects.exists()


def test_cancelling_a_jsonl_import_removes_its_upload(client_for, owner, team_a, data_dir):
    client = client_for(owner)
    response = preview(client, team_a, GOOD)
    assert reverse("projects:jsonl-cancel") in response.content.decode()
    token = response.context["confirm"].initial["token"]
    response = client.post(reverse("projects:jsonl-cancel"), {"token": token})
    assert response.status_code == 302 and response.url == reverse("projects:project-new")
    assert _uploads(data_dir) == [] and not Project.objects.exists()
    # a token that names nothing (or no token) is simply nothing to remove
    assert client.post(reverse("projects:jsonl-cancel"), {"token": "../x"}).status_code == 302


def test_an_abandoned_upload_is_removed_a_day_later(client_for, owner, team_a, data_dir):
    import os
    import time

    from apps.projects.uploads import UPLOAD_MAX_AGE_S

    client = client_for(owner)
    old = preview(client, team_a, GOOD).context["confirm"].initial["token"]
    path = data_dir / "uploads" / f"{old}.jsonl"
    stale = time.time() - UPLOAD_MAX_AGE_S - 60
    os.utime(path, (stale, stale))
    new = preview(client, team_a, GOOD).context["confirm"].initial["token"]
    assert _uploads(data_dir) == [f"{new}.jsonl"]
