"""Runs through the API: launch (the launch page's service), controls, detail, and rounds
with the Missing-Skill-Profile, level stats and data plan."""

import pytest

from apps.runs.models import Run, RunStatus
from tests.apps.api.operations import BY_ID

pytestmark = pytest.mark.django_db


def _launch(world, api_as, **changes):
    body = BY_ID["run_launch"].body(world) | changes
    return api_as(world["editor"]).post(f"/projects/{world['project'].pk}/runs", body)


def test_launch_queues_a_run_with_its_spec(world, api_as, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = _launch(world, api_as, name="api run")
    assert response.status_code == 201
    data = response.data
    assert (data["name"], data["status"], data["rounds"], data["seed"]) == (
        "api run", "queued", 1, 1)
    assert data["student"]["preset"] == "tiny" and data["curriculum"]["name"] == "uniform"
    assert data["spec"]["seed"] == 1 and data["spec"]["device"] == "cpu"
    assert data["controls"] == ["cancel", "delete"]
    assert len(callbacks) == 1  # the GPU task is sent after commit, as from the page
    assert Run.objects.get(pk=data["id"]).created_by == world["editor"]


def test_launch_with_the_keyed_teacher_keeps_the_key_out_of_the_spec(world, api_as):
    response = _launch(world, api_as, teacher_config=world["teacher"].pk)
    assert response.status_code == 201
    assert "api_key" not in response.data["spec"]["teacher"]


def test_launch_defaults_are_the_services(world, api_as):
    body = {"preset": "tiny", "teacher_config": world["oracle"].pk,
            "curriculum": world["curriculum"].pk}
    response = api_as(world["editor"]).post(f"/projects/{world['project'].pk}/runs", body)
    assert response.status_code == 201
    assert (response.data["rounds"], response.data["steps_per_round"]) == (5, 100)


@pytest.mark.parametrize("changes, field", [
    ({"preset": None}, "preset"),
    ({"model_dir": "/nowhere/model"}, "preset"),  # both a preset and a directory
    ({"preset": None, "model_dir": "/etc"}, "model_dir"),
    ({"lr": -1.0}, "spec.train.lr"),
])
def test_launch_refusals_are_400_on_the_field_and_save_nothing(world, api_as, changes, field):
    before = Run.objects.count()
    response = _launch(world, api_as, **changes)
    assert response.status_code == 400, response.data
    assert field in response.data["errors"]
    assert Run.objects.count() == before


def test_launch_with_another_projects_teacher_or_curriculum_is_400(world, api_as):
    response = _launch(world, api_as, teacher_config=world["b"]["teacher"].pk,
                       curriculum=world["b"]["curriculum"].pk)
    assert response.status_code == 400
    assert set(response.data["errors"]) == {"teacher_config", "curriculum"}


@pytest.mark.parametrize("changes, field", [
    ({"rounds": 0}, "rounds"), ({"rounds": "2"}, "rounds"), ({"seed": 2**31}, "seed"),
    ({"device": "tpu"}, "device"), ({"teacher_config": 2**63}, "teacher_config"),
    ({"priority": 1}, "priority"),
])
def test_launch_schema_errors_are_422(world, api_as, changes, field):
    response = _launch(world, api_as, **changes)
    assert response.status_code == 422
    assert field in response.data["errors"]


def test_run_list_filters_and_pages(world, api_as):
    from tests.factories import RunFactory

    project = world["project"]
    for _ in range(3):
        RunFactory(project=project, status=RunStatus.SUCCEEDED,
                   teacher_config=world["oracle"], curriculum=world["curriculum"])
    client = api_as(world["viewer"])
    page = client.get(f"/projects/{project.pk}/runs", {"limit": 2}).data
    assert len(page["results"]) == 2 and page["next_cursor"]
    rest = client.get(f"/projects/{project.pk}/runs",
                      {"limit": 2, "cursor": page["next_cursor"]}).data
    assert len(rest["results"]) == 2 and rest["next_cursor"] is None
    failed = client.get(f"/projects/{project.pk}/runs", {"status": "failed"}).data["results"]
    assert [r["id"] for r in failed] == [world["run"].pk]
    assert failed[0]["controls"] == []  # a viewer has none


def test_run_detail_offers_the_editor_the_controls_of_its_state(world, api_as):
    detail = api_as(world["editor"]).get(f"/runs/{world['run'].pk}").data
    assert detail["status"] == "failed" and detail["error"] == "boom"
    assert detail["controls"] == ["retry", "delete"]


def test_controls_follow_the_state_machine(world, api_as):
    client = api_as(world["editor"])
    run = world["run"]
    assert client.post(f"/runs/{run.pk}/retry").data["status"] == "queued"
    refused = client.post(f"/runs/{run.pk}/pause")
    assert refused.status_code == 400
    assert "only a running run can be paused" in refused.data["errors"]["status"][0]
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    assert client.post(f"/runs/{run.pk}/pause").data["stop_request"] == "pause"
    assert client.post(f"/runs/{run.pk}/cancel").data["stop_request"] == "cancel"
    Run.objects.filter(pk=run.pk).update(status=RunStatus.PAUSED, stop_request="")
    assert client.post(f"/runs/{run.pk}/resume").data["status"] == "queued"
    assert client.post(f"/runs/{run.pk}/cancel").data["status"] == "cancelled"


def test_rounds_carry_metrics_plan_profile_and_levels(world, api_as):
    rounds = api_as(world["viewer"]).get(f"/runs/{world['run'].pk}/rounds").data
    assert [r["index"] for r in rounds["results"]] == [0, 1]
    first = rounds["results"][1]
    assert first["metrics"] == {"accuracy": 0.5}
    assert first["plan"] == {"entries": [{"skill": "add", "level": 1, "count": 4}]}
    assert [(p["skill_name"], p["failed"]) for p in first["profile"]] == [
        ("add", 2), ("carry", 3)]
    assert [lv["level"] for lv in first["levels"]] == [1, 2]
    assert "checkpoint_path" not in first


def test_rounds_page_by_index(world, api_as):
    client = api_as(world["viewer"])
    page = client.get(f"/runs/{world['run'].pk}/rounds", {"limit": 1}).data
    assert [r["index"] for r in page["results"]] == [0]
    rest = client.get(f"/runs/{world['run'].pk}/rounds",
                      {"limit": 1, "cursor": page["next_cursor"]}).data
    assert [r["index"] for r in rest["results"]] == [1] and rest["next_cursor"] is None


def test_round_reads_do_not_grow_with_rounds(world, api_as, django_assert_max_num_queries):
    from tests.factories import LevelStatFactory, RoundFactory, SkillStatFactory

    run = world["run"]
    for index in range(2, 30):
        rnd = RoundFactory(run=run, index=index)
        SkillStatFactory(round=rnd, run=run, skill=world["skills"][0])
        LevelStatFactory(round=rnd, run=run, level=1)
    client = api_as(world["viewer"])
    with django_assert_max_num_queries(8):
        assert len(client.get(f"/runs/{run.pk}/rounds").data["results"]) == 30
