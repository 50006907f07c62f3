"""Who may call what: every operation, with a token and with the session, for a stranger
(another team: 404 for objects, nothing in lists), a viewer (reads; 403 on every write), an
editor (writes), and nobody (401); with a token for the owner (reads and writes). The table
(``operations.OPERATIONS``) must name every operation of the schema, so a new endpoint
cannot slip through untested."""

import pytest
from django.test import Client

from apps.api.main import api
from tests.apps.api.conftest import API
from tests.apps.api.operations import BY_ID, OPERATIONS, call

AUTH = ["token", "session"]
WRITES = [op for op in OPERATIONS if op.writes]
TEAM_WRITES = [op for op in WRITES if not op.anyone]  # a viewer of the team may not
READS = [op for op in OPERATIONS if not op.writes]


def _ids(ops):
    return [op.id for op in ops]


def _client(api_as, user, auth):
    return api_as(user, session=auth == "session")


def test_every_operation_is_in_the_table():
    schema = api.get_openapi_schema()
    ids = {op["operationId"] for ops in schema["paths"].values() for op in ops.values()}
    assert ids == set(BY_ID)


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPERATIONS, ids=_ids(OPERATIONS))
def test_nobody_gets_401(op, world):
    client = Client()
    response = (client.get(API + op.path(world)) if not op.writes else
                getattr(client, op.method.lower())(API + op.path(world), data="{}",
                                                    content_type="application/json"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
@pytest.mark.parametrize("auth", AUTH)
@pytest.mark.parametrize("op", OPERATIONS, ids=_ids(OPERATIONS))
def test_stranger_finds_nothing(op, auth, world, api_as):
    client = _client(api_as, world["stranger"], auth)
    response = call(client, op, world)
    if op.id == "project_list":
        assert response.status_code == 200
        assert [p["id"] for p in response.data] == [world["b"]["project"].pk]
    elif op.id == "team_list":
        assert [t["id"] for t in response.data] == [world["b"]["project"].team_id]
    elif op.id == "team_create":  # a team of their own, which nobody of team A is in
        from apps.accounts.models import Membership

        assert response.status_code == 201, response.data
        assert response.data["role"] == "owner"
        members = Membership.objects.filter(team_id=response.data["id"])
        assert [(m.user, m.role) for m in members] == [(world["stranger"], "owner")]
    elif not op.team_scoped:
        assert response.status_code == 200
    else:
        assert response.status_code == 404, response.data
        assert response.data == {"detail": "not found"}


@pytest.mark.django_db
@pytest.mark.parametrize("auth", AUTH)
@pytest.mark.parametrize("op", READS, ids=_ids(READS))
def test_viewer_reads(op, auth, world, api_as):
    response = call(_client(api_as, world["viewer"], auth), op, world)
    assert response.status_code == 200, response.data


@pytest.mark.django_db
@pytest.mark.parametrize("auth", AUTH)
@pytest.mark.parametrize("op", TEAM_WRITES, ids=_ids(TEAM_WRITES))
def test_viewer_may_not_write(op, auth, world, api_as):
    from apps.compare.models import Comparison
    from apps.projects.models import Example
    from apps.prompts.models import TeacherConfig, TeacherPromptVersion
    from apps.review.models import ReviewDecision
    from apps.runs.models import Run

    models = (Example, TeacherConfig, TeacherPromptVersion, Run, Comparison, ReviewDecision)
    counts = [m.objects.count() for m in models]
    run_status = world["run"].status
    teacher_model = world["teacher"].model
    response = call(_client(api_as, world["viewer"], auth), op, world)
    assert response.status_code == 403, response.data
    assert "viewer" in response.data["detail"] and "editor" in response.data["detail"]
    assert [m.objects.count() for m in models] == counts
    world["run"].refresh_from_db()
    world["teacher"].refresh_from_db()
    assert world["run"].status == run_status and world["teacher"].model == teacher_model


def _assert_write_succeeds(op, response):
    if op.id in ("run_cancel_op", "run_pause_op", "run_resume_op"):
        assert response.status_code == 400
        assert "status" in response.data["errors"]
    else:
        assert response.status_code in (200, 201, 204), response.data


@pytest.mark.django_db
@pytest.mark.parametrize("auth", AUTH)
@pytest.mark.parametrize("op", WRITES, ids=_ids(WRITES))
def test_editor_writes(op, auth, world, api_as):
    """Every write succeeds for an editor (the run is failed: retry applies; the other
    controls are refused by the run's state with a 400, not by the editor's role)."""
    _assert_write_succeeds(op, call(_client(api_as, world["editor"], auth), op, world))


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPERATIONS, ids=_ids(OPERATIONS))
def test_owner_reads_and_writes(op, world, api_as):
    """The team's owner may do everything an editor may (with a token)."""
    response = call(api_as(world["owner"]), op, world)
    if op.writes:
        _assert_write_succeeds(op, response)
    else:
        assert response.status_code == 200, response.data


@pytest.mark.django_db
@pytest.mark.parametrize("op", READS, ids=_ids(READS))
def test_objects_of_another_team_are_not_found_by_id(op, world, api_as):
    """The owner of team A asks for team B's objects by id: 404, as if they did not exist."""
    if not op.team_scoped or op.id == "project_list":
        return
    response = call(api_as(world["owner"]), op, world["b"] | {
        "examples": [], "oracle": world["b"]["teacher"]})
    assert response.status_code == 404
