"""Prompt versions, curricula and teachers through the API; the teacher's key is write-only
and follows the rule of ``stored_key_usable`` (a blank key never travels to a new URL)."""

import pytest

from apps.prompts.models import TeacherConfig
from tests.apps.api.conftest import TEACHER_KEY

pytestmark = pytest.mark.django_db


def test_prompt_list_and_versions(world, api_as):
    client = api_as(world["viewer"])
    project, prompt = world["project"], world["prompt"]
    rows = client.get(f"/projects/{project.pk}/prompts").data
    assert [(r["name"], r["role"], r["latest_version"]) for r in rows] == [("solver", "solve", 2)]
    versions = client.get(f"/projects/{project.pk}/prompts/{prompt.pk}/versions").data
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["template"] == "Q: {{ question }}" and versions[0]["n_runs"] == 0


def test_create_a_version(world, api_as):
    project, prompt = world["project"], world["prompt"]
    url = f"/projects/{project.pk}/prompts/{prompt.pk}/versions"
    client = api_as(world["editor"])
    response = client.post(url, {"template": "A: {{ question }}", "note": "terse"})
    assert response.status_code == 201
    assert (response.data["version"], response.data["created_by"]) == (3, "dave")
    # the same text again is the same version, not an empty new one
    again = client.post(url, {"template": "A: {{ question }}"})
    assert again.data["id"] == response.data["id"]


def test_a_template_the_renderer_refuses_is_400_on_template(world, api_as):
    project, prompt = world["project"], world["prompt"]
    response = api_as(world["editor"]).post(
        f"/projects/{project.pk}/prompts/{prompt.pk}/versions",
        {"template": "{{ nope }} {% for x in y %}"})
    assert response.status_code == 400
    assert list(response.data["errors"]) == ["template"]
    assert prompt.versions.count() == 2


def test_strategies_carry_their_parameter_schema(world, api_as):
    rows = {r["name"]: r for r in api_as(world["viewer"]).get("/strategies").data}
    assert "uniform" in rows and "stat_sel" in rows
    assert any(p["name"] == "k" for p in rows["stat_sel"]["params"])


def test_curricula_list_and_create(world, api_as):
    project = world["project"]
    client = api_as(world["editor"])
    created = client.post(f"/projects/{project.pk}/curricula",
                          {"name": "stat", "strategy": "stat_sel", "params": {"k": 3}})
    assert created.status_code == 201
    assert created.data["params"]["k"] == 3 and len(created.data["params"]) > 1  # defaults
    names = [c["name"] for c in client.get(f"/projects/{project.pk}/curricula").data]
    assert names == ["stat", "uniform"]


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "strategy": "nope"}, "strategy"),
    ({"name": "x", "strategy": "stat_sel", "params": {"k": -5}}, "params.k"),
    ({"name": "x", "strategy": "stat_sel", "params": {"zzz": 1}}, "params.zzz"),
    ({"name": "uniform", "strategy": "uniform"}, "name"),
    ({"name": " ", "strategy": "uniform"}, "name"),
])
def test_curriculum_refusals_name_the_field(world, api_as, body, field):
    project = world["project"]
    response = api_as(world["editor"]).post(f"/projects/{project.pk}/curricula", body)
    assert response.status_code == 400, response.data
    assert field in response.data["errors"]
    assert project.curricula.count() == 1


def test_teachers_never_show_the_key(world, api_as):
    rows = api_as(world["owner"]).get(f"/projects/{world['project'].pk}/teachers").data
    gpt = next(r for r in rows if r["name"] == "gpt")
    assert gpt["has_api_key"] is True and "api_key" not in gpt


def test_create_a_teacher_with_a_key(world, api_as):
    project = world["project"]
    response = api_as(world["editor"]).post(f"/projects/{project.pk}/teachers", {
        "name": "new", "kind": "openai", "base_url": "https://api.example.org/v1",
        "model": "m", "api_key": TEACHER_KEY, "timeout_s": 30})
    assert response.status_code == 201
    assert response.data["has_api_key"] is True and "api_key" not in response.data
    assert TeacherConfig.objects.get(pk=response.data["id"]).api_key == TEACHER_KEY


@pytest.mark.parametrize("body, field, status", [
    ({"name": "x", "kind": "openai"}, "base_url", 400),
    ({"name": "x", "kind": "hf_local"}, "model_dir", 400),
    ({"name": "gpt"}, "name", 400),
    ({"name": "x", "kind": "cloud"}, "kind", 422),
    ({"name": "x", "timeout_s": 0}, "timeout_s", 422),
    ({"name": "x", "max_retries": 11}, "max_retries", 422),
    ({"name": "x", "api_key": "k" * 501}, "api_key", 422),
    ({"name": "x", "api_key": 12345}, "api_key", 422),
])
def test_teacher_refusals(world, api_as, body, field, status):
    response = api_as(world["editor"]).post(f"/projects/{world['project'].pk}/teachers", body)
    assert response.status_code == status
    assert field in response.data["errors"]
    assert TeacherConfig.objects.filter(project=world["project"]).count() == 2


def _patch(world, api_as, body):
    teacher = world["teacher"]
    response = api_as(world["editor"]).patch(
        f"/projects/{world['project'].pk}/teachers/{teacher.pk}", body)
    teacher.refresh_from_db()
    return response, teacher


def test_patch_other_fields_keeps_the_key(world, api_as):
    response, teacher = _patch(world, api_as, {"model": "m2", "timeout_s": 10})
    assert response.status_code == 200
    assert response.data["model"] == "m2" and response.data["has_api_key"] is True
    assert response.data["api_key_removed"] is False
    assert teacher.api_key == TEACHER_KEY


def test_patch_a_new_url_without_a_key_removes_the_stored_key(world, api_as):
    for body in ({"base_url": "https://attacker.example/v1"},
                 {"base_url": "https://attacker.example/v1", "api_key": ""}):
        world["teacher"].base_url = "https://api.example.com/v1"
        world["teacher"].api_key = TEACHER_KEY
        world["teacher"].save()
        response, teacher = _patch(world, api_as, body)
        assert response.status_code == 200
        assert response.data["api_key_removed"] is True and response.data["has_api_key"] is False
        assert teacher.api_key == ""


def test_patch_a_new_kind_without_a_key_removes_it(world, api_as):
    response, teacher = _patch(world, api_as, {"kind": "oracle"})
    assert response.status_code == 200 and teacher.api_key == ""


def test_patch_a_new_url_with_a_new_key_stores_the_new_key(world, api_as):
    response, teacher = _patch(world, api_as, {"base_url": "https://other.example/v1",
                                               "api_key": "sk-new-key"})
    assert response.data["has_api_key"] is True and response.data["api_key_removed"] is False
    assert teacher.api_key == "sk-new-key"
    assert "sk-new-key" not in response.content.decode()


def test_patch_clear_api_key(world, api_as):
    response, teacher = _patch(world, api_as, {"clear_api_key": True})
    assert response.data["has_api_key"] is False and response.data["api_key_removed"] is False
    assert teacher.api_key == ""


def test_refused_patch_changes_nothing(world, api_as):
    response, teacher = _patch(world, api_as, {"base_url": "ftp://x", "model": "m3"})
    assert response.status_code == 400 and "base_url" in response.data["errors"]
    assert (teacher.base_url, teacher.model, teacher.api_key) == (
        "https://api.example.com/v1", "m", TEACHER_KEY)


def test_unknown_patch_field_is_422(world, api_as):
    response, teacher = _patch(world, api_as, {"project": world["b"]["project"].pk})
    assert response.status_code == 422 and "project" in response.data["errors"]
