"""The member services: who may change a team's members, the last-owner rule, the record."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.accounts.models import Membership, MembershipChange
from apps.accounts.permissions import role_for
from apps.accounts.services import (
    member_add,
    member_remove,
    member_role_change,
    membership_set,
    user_find,
)
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def erin(db):
    return UserFactory(username="erin", email="Erin@Example.com")


def test_user_find_by_username_or_email(erin):
    assert user_find("erin") == erin
    assert user_find("  erin@example.COM ") == erin
    assert user_find("ERIN") == erin
    other = UserFactory(username="Erin")
    assert user_find("Erin") == other and user_find("erin") == erin
    with pytest.raises(ValidationError, match="several usernames match 'ERIN'"):
        user_find("ERIN")


@pytest.mark.parametrize(("ident", "message"), [
    ("", "give a username or an e-mail address"),
    ("nobody", "no user with the username 'nobody'"),
    ("nobody@example.com", "no user with the e-mail 'nobody@example.com'"),
])
def test_user_find_says_why_nobody_matches(erin, ident, message):
    with pytest.raises(ValidationError) as exc:
        user_find(ident)
    assert message in exc.value.message_dict["who"][0]


def test_user_find_refuses_inactive_users_and_ambiguous_email(erin):
    UserFactory(username="gone", is_active=False)
    with pytest.raises(ValidationError, match="no user with the username 'gone'"):
        user_find("gone")
    UserFactory(username="erin2", email="erin@example.com")
    with pytest.raises(ValidationError, match="several people use the e-mail"):
        user_find("erin@example.com")


def test_owner_adds_a_member_and_it_is_recorded(team_a, owner, erin):
    membership = member_add(user=owner, team=team_a, member=erin, role="editor")
    assert membership.role == "editor" and role_for(erin, team_a) == "editor"
    change = MembershipChange.objects.get(team=team_a)
    assert (change.actor, change.actor_username, change.member, change.member_username,
            change.action, change.old_role, change.new_role) == (
        owner, "alice", erin, "erin", "added", "", "editor")
    assert change.created_at is not None


def test_adding_a_member_twice_is_refused(team_a, owner, viewer):
    with pytest.raises(ValidationError) as exc:
        member_add(user=owner, team=team_a, member=viewer, role="editor")
    assert exc.value.message_dict["who"] == ["bob is already a member of Team A (viewer)"]
    assert role_for(viewer, team_a) == "viewer"
    assert not MembershipChange.objects.exists()


def test_unknown_role_is_refused(team_a, owner, erin, viewer):
    with pytest.raises(ValidationError, match="unknown role 'admin'"):
        member_add(user=owner, team=team_a, member=erin, role="admin")
    with pytest.raises(ValidationError, match="unknown role 'admin'"):
        member_role_change(user=owner, team=team_a, member=viewer, role="admin")
    assert role_for(erin, team_a) is None and role_for(viewer, team_a) == "viewer"


@pytest.mark.parametrize("who", ["editor", "viewer", "stranger"])
def test_only_owners_change_members(request, team_a, owner, viewer, erin, who):
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        member_add(user=user, team=team_a, member=erin, role="viewer")
    with pytest.raises(PermissionDenied):
        member_role_change(user=user, team=team_a, member=viewer, role="owner")
    with pytest.raises(PermissionDenied):
        member_remove(user=user, team=team_a, member=viewer)
    assert role_for(erin, team_a) is None and role_for(viewer, team_a) == "viewer"
    assert not MembershipChange.objects.exists()


def test_role_change_is_recorded_with_old_and_new_role(team_a, owner, viewer):
    member_role_change(user=owner, team=team_a, member=viewer, role="editor")
    assert role_for(viewer, team_a) == "editor"
    change = MembershipChange.objects.get()
    assert (change.action, change.old_role, change.new_role) == ("role_changed", "viewer",
                                                                  "editor")
    # the same role again changes and records nothing
    member_role_change(user=owner, team=team_a, member=viewer, role="editor")
    assert MembershipChange.objects.count() == 1


def test_last_owner_can_be_neither_demoted_nor_removed(team_a, owner):
    with pytest.raises(ValidationError, match="alice is the last owner of Team A"):
        member_role_change(user=owner, team=team_a, member=owner, role="editor")
    with pytest.raises(ValidationError, match="alice is the last owner of Team A"):
        member_remove(user=owner, team=team_a, member=owner)
    assert role_for(owner, team_a) == "owner"
    assert not MembershipChange.objects.exists()


def test_with_a_second_owner_an_owner_may_step_down_or_leave(team_a, owner, editor):
    member_role_change(user=owner, team=team_a, member=editor, role="owner")
    member_role_change(user=editor, team=team_a, member=owner, role="viewer")
    assert role_for(owner, team_a) == "viewer"
    with pytest.raises(ValidationError, match="dave is the last owner"):
        member_remove(user=editor, team=team_a, member=editor)
    member_role_change(user=editor, team=team_a, member=owner, role="owner")
    member_remove(user=owner, team=team_a, member=owner)
    assert role_for(owner, team_a) is None
    assert list(MembershipChange.objects.order_by("id").values_list(
        "actor_username", "action", "member_username", "old_role", "new_role")) == [
        ("alice", "role_changed", "dave", "editor", "owner"),
        ("dave", "role_changed", "alice", "owner", "viewer"),
        ("dave", "role_changed", "alice", "viewer", "owner"),
        ("alice", "removed", "alice", "owner", ""),
    ]


def test_removing_a_member_is_recorded(team_a, owner, viewer):
    member_remove(user=owner, team=team_a, member=viewer)
    assert not Membership.objects.filter(team=team_a, user=viewer).exists()
    change = MembershipChange.objects.get()
    assert (change.action, change.member_username, change.old_role) == ("removed", "bob",
                                                                        "viewer")


def test_removing_a_non_member_is_refused(team_a, owner, stranger):
    with pytest.raises(ValidationError, match="charlie is not a member of Team A"):
        member_remove(user=owner, team=team_a, member=stranger)


def test_the_record_outlives_the_people_in_it(team_a, owner, erin):
    member_add(user=owner, team=team_a, member=erin, role="viewer")
    erin.delete()
    change = MembershipChange.objects.get()
    assert change.member is None and change.member_username == "erin"


def test_membership_set_adds_or_changes(team_a, owner, erin):
    membership_set(user=owner, team=team_a, member=erin, role="viewer")
    membership_set(user=owner, team=team_a, member=erin, role="owner")
    assert role_for(erin, team_a) == "owner"
    assert list(MembershipChange.objects.order_by("id").values_list("action", flat=True)) == [
        "added", "role_changed"]


def test_another_teams_owner_counts_for_nothing(team_a, team_b, owner, stranger):
    # charlie owns team B: that does not let alice step down in team A
    MembershipFactory(user=stranger, team=team_a, role="editor")
    with pytest.raises(ValidationError, match="last owner"):
        member_role_change(user=owner, team=team_a, member=owner, role="editor")
