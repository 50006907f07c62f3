import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from apps.accounts.permissions import has_role, require_role, role_for
from apps.accounts.services import membership_set, team_create


def test_roles_rank_owner_over_editor_over_viewer(team_a, owner, editor, viewer):
    assert [role_for(u, team_a) for u in (owner, editor, viewer)] == ["owner", "editor", "viewer"]
    assert has_role(owner, team_a, "editor")
    assert has_role(editor, team_a, "editor")
    assert not has_role(viewer, team_a, "editor")
    assert has_role(viewer, team_a, "viewer")
    assert not has_role(editor, team_a, "owner")


def test_require_role_names_user_team_and_needed_role(team_a, viewer, stranger):
    with pytest.raises(PermissionDenied, match="bob is viewer of team 'Team A'; this needs editor"):
        require_role(viewer, team_a, "editor")
    with pytest.raises(PermissionDenied, match="charlie is not a member of team 'Team A'"):
        require_role(stranger, team_a, "viewer")
    with pytest.raises(PermissionDenied, match="anonymous"):
        require_role(AnonymousUser(), team_a, "viewer")


def test_require_role_refuses_unknown_role(team_a, owner):
    with pytest.raises(ValueError, match="unknown role 'admin'"):
        require_role(owner, team_a, "admin")


def test_team_create_makes_the_creator_owner(owner):
    team = team_create(user=owner, name="  New team ")
    assert team.name == "New team"
    assert role_for(owner, team) == "owner"


def test_team_create_refuses_a_taken_name_even_in_a_race(owner, team_a, monkeypatch):
    from django.core.exceptions import ValidationError

    from apps.accounts.models import Team

    with pytest.raises(ValidationError, match="exists already"):
        team_create(user=owner, name="TEAM A")
    # another request made it between the check and the insert: the same clear error
    monkeypatch.setattr(Team.objects, "filter", lambda **kw: Team.objects.none())
    with pytest.raises(ValidationError, match="exists already"):
        team_create(user=owner, name="Team A")
    assert Team.objects.count() == 1


def test_only_owners_manage_members(team_a, owner, editor, stranger):
    with pytest.raises(PermissionDenied):
        membership_set(user=editor, team=team_a, member=stranger, role="viewer")
    membership_set(user=owner, team=team_a, member=stranger, role="viewer")
    assert role_for(stranger, team_a) == "viewer"
    membership_set(user=owner, team=team_a, member=stranger, role="editor")
    assert role_for(stranger, team_a) == "editor"
