"""Teams through the API: anyone signed in makes a team and becomes its first owner, on the
team's record; a taken, empty or over-long name is refused and saves nothing."""

import pytest

from apps.accounts.models import Membership, MembershipChange, Team

pytestmark = pytest.mark.django_db


def _saved():
    return Team.objects.count(), Membership.objects.count(), MembershipChange.objects.count()


def test_a_viewer_makes_a_team_and_owns_it(world, api_as):
    client = api_as(world["viewer"])
    response = client.post("/teams", {"name": "  Night shift  "})
    assert response.status_code == 201, response.data
    team = Team.objects.get(pk=response.data["id"])
    assert response.data == {"id": team.pk, "name": "Night shift", "role": "owner"}
    assert [(m.user, m.role) for m in team.memberships.all()] == [(world["viewer"], "owner")]
    change = MembershipChange.objects.get(team=team)
    assert (change.actor, change.member, change.action, change.new_role) == (
        world["viewer"], world["viewer"], "added", "owner")
    # the new team is theirs to use at once: it is listed with their role in it
    listed = {t["id"]: t["role"] for t in client.get("/teams").data}
    assert listed[team.pk] == "owner"


@pytest.mark.parametrize("name", ["team a", "TEAM A", "Team A"])
def test_a_taken_name_in_any_case_is_400_and_saves_nothing(world, api_as, name):
    before = _saved()
    response = api_as(world["stranger"]).post("/teams", {"name": name})
    assert response.status_code == 400, response.data
    assert "exists already" in response.data["errors"]["name"][0]
    assert _saved() == before


def test_a_blank_name_is_400(world, api_as):
    before = _saved()
    response = api_as(world["editor"]).post("/teams", {"name": "   "})
    assert response.status_code == 400
    assert response.data["errors"]["name"] == ["give the team a name"]
    assert _saved() == before


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 101}, {"name": 5},
                                  {"name": "ok", "extra": 1}])
def test_a_body_that_breaks_the_schema_is_422_naming_the_field(world, api_as, body):
    before = _saved()
    response = api_as(world["editor"]).post("/teams", body)
    assert response.status_code == 422, response.data
    assert response.data["errors"]
    assert _saved() == before


def test_a_nul_character_is_400(world, api_as):
    before = _saved()
    response = api_as(world["editor"]).post("/teams", {"name": "a\u0000b"})
    assert response.status_code == 400
    assert "NUL" in response.data["detail"]
    assert _saved() == before
