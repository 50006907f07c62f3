"""The team pages: owner, editor, viewer and stranger on every endpoint; clear errors."""

import pytest
from django.urls import reverse

from apps.accounts.models import Membership, MembershipChange
from apps.accounts.permissions import role_for
from tests.factories import UserFactory


@pytest.fixture
def erin(db):
    return UserFactory(username="erin", email="erin@example.com")


def members_url(team):
    return reverse("accounts:member-list", args=[team.pk])


def add_url(team):
    return reverse("accounts:member-add", args=[team.pk])


def role_url(team, user):
    return reverse("accounts:member-role", args=[team.pk, user.pk])


def remove_url(team, user):
    return reverse("accounts:member-remove", args=[team.pk, user.pk])


def test_team_list_shows_my_teams_and_roles(client_for, team_a, team_b, owner, viewer):
    html = client_for(viewer).get(reverse("accounts:team-list")).content.decode()
    assert "Team A" in html and "Team B" not in html
    assert members_url(team_a) in html and ">viewer<" in html
    [team] = client_for(viewer).get(reverse("accounts:team-list")).context["teams"]
    assert (team.my_role, team.member_count) == ("viewer", 2)


def test_the_nav_links_to_the_teams(client_for, owner):
    html = client_for(owner).get(reverse("accounts:token-list")).content.decode()
    assert f'href="{reverse("accounts:team-list")}"' in html


def test_anonymous_is_sent_to_login(client, team_a):
    for url in (reverse("accounts:team-list"), members_url(team_a)):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_owner_sees_members_with_controls(client_for, team_a, owner, editor, viewer):
    response = client_for(owner).get(members_url(team_a))
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("alice", "dave", "bob"):
        assert f'data-member="{name}"' in html
    assert add_url(team_a) in html and role_url(team_a, viewer) in html
    assert remove_url(team_a, viewer) in html
    # the only owner gets no remove button
    assert remove_url(team_a, owner) not in html and "last owner" in html
    assert [m.user.username for m in response.context["members"]] == ["alice", "dave", "bob"]


@pytest.mark.parametrize("who", ["editor", "viewer"])
def test_non_owners_see_the_list_read_only(request, client_for, team_a, owner, who):
    user = request.getfixturevalue(who)
    response = client_for(user).get(members_url(team_a))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-member="alice"' in html
    assert add_url(team_a) not in html and role_url(team_a, owner) not in html
    assert "<select" not in html


def test_stranger_gets_404_everywhere(client_for, team_a, owner, viewer, stranger, erin):
    client = client_for(stranger)
    assert client.get(members_url(team_a)).status_code == 404
    assert client.post(add_url(team_a), {"who": "erin", "role": "owner"}).status_code == 404
    assert client.post(role_url(team_a, viewer), {"role": "owner"}).status_code == 404
    assert client.post(remove_url(team_a, viewer)).status_code == 404
    assert role_for(erin, team_a) is None and role_for(viewer, team_a) == "viewer"
    assert not MembershipChange.objects.exists()


@pytest.mark.parametrize("who", ["editor", "viewer"])
def test_non_owners_get_403_on_writes(request, client_for, team_a, owner, viewer, erin, who):
    client = client_for(request.getfixturevalue(who))
    assert client.post(add_url(team_a), {"who": "erin", "role": "owner"}).status_code == 403
    assert client.post(role_url(team_a, viewer), {"role": "owner"}).status_code == 403
    assert client.post(remove_url(team_a, viewer)).status_code == 403
    # bad input from a non-owner is still a 403, not a form error
    assert client.post(add_url(team_a), {}).status_code == 403
    assert role_for(erin, team_a) is None and role_for(viewer, team_a) == "viewer"
    assert not MembershipChange.objects.exists()


def test_writes_need_post(client_for, team_a, owner, viewer):
    client = client_for(owner)
    assert client.get(add_url(team_a)).status_code == 405
    assert client.get(role_url(team_a, viewer)).status_code == 405
    assert client.get(remove_url(team_a, viewer)).status_code == 405


@pytest.mark.parametrize("ident", ["erin", "ERIN@example.com"])
def test_owner_adds_by_username_or_email(client_for, team_a, owner, erin, ident):
    client = client_for(owner)
    response = client.post(add_url(team_a), {"who": ident, "role": "editor"})
    assert response.status_code == 302 and response["Location"] == members_url(team_a)
    assert role_for(erin, team_a) == "editor"
    html = client.get(members_url(team_a)).content.decode()
    assert "Added erin as editor." in html
    changes = html.split('id="member-changes"')[1]
    assert "alice" in changes and "erin" in changes and "added" in changes


@pytest.mark.parametrize(("data", "error"), [
    ({"who": "nobody", "role": "viewer"}, "no user with the username &#x27;nobody&#x27;"),
    ({"who": "no@where.org", "role": "viewer"}, "no user with the e-mail"),
    ({"who": "bob", "role": "editor"}, "bob is already a member of Team A (viewer)"),
    ({"who": "erin", "role": "admin"}, "Select a valid choice"),
    ({"who": "", "role": "viewer"}, "This field is required"),
    ({"who": "er\x00in", "role": "viewer"}, "Null characters are not allowed"),
])
def test_add_errors_are_clear_and_save_nothing(client_for, team_a, owner, viewer, erin,
                                               data, error):
    before = set(Membership.objects.values_list("pk", "role"))
    response = client_for(owner).post(add_url(team_a), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert set(Membership.objects.values_list("pk", "role")) == before
    assert not MembershipChange.objects.exists()


def test_owner_changes_a_role(client_for, team_a, owner, viewer):
    client = client_for(owner)
    response = client.post(role_url(team_a, viewer), {"role": "editor"})
    assert response.status_code == 302
    assert role_for(viewer, team_a) == "editor"
    html = client.get(members_url(team_a)).content.decode()
    assert "bob is now editor." in html
    change = MembershipChange.objects.get()
    assert (change.actor_username, change.old_role, change.new_role) == ("alice", "viewer",
                                                                          "editor")


def test_last_owner_cannot_be_demoted_or_removed_on_the_page(client_for, team_a, owner):
    client = client_for(owner)
    response = client.post(role_url(team_a, owner), {"role": "viewer"})
    assert response.status_code == 400
    assert "alice is the last owner of Team A" in response.content.decode()
    response = client.post(remove_url(team_a, owner))
    assert response.status_code == 400
    assert "alice is the last owner of Team A" in response.content.decode()
    assert role_for(owner, team_a) == "owner"
    assert not MembershipChange.objects.exists()


def test_bad_role_is_a_400(client_for, team_a, owner, viewer):
    response = client_for(owner).post(role_url(team_a, viewer), {"role": "root"})
    assert response.status_code == 400 and "Pick one of the roles" in response.content.decode()
    assert role_for(viewer, team_a) == "viewer"


def test_a_non_member_is_404(client_for, team_a, owner, stranger):
    client = client_for(owner)
    assert client.post(role_url(team_a, stranger), {"role": "viewer"}).status_code == 404
    assert client.post(remove_url(team_a, stranger)).status_code == 404


def test_owner_removes_a_member(client_for, team_a, owner, viewer):
    client = client_for(owner)
    response = client.post(remove_url(team_a, viewer))
    assert response.status_code == 302
    assert role_for(viewer, team_a) is None
    html = client.get(members_url(team_a)).content.decode()
    assert "Removed bob from Team A." in html and 'data-member="bob"' not in html
    # bob no longer sees the team
    assert client_for(viewer).get(members_url(team_a)).status_code == 404


def test_an_owner_who_leaves_goes_to_the_team_list(client_for, team_a, owner, editor):
    client = client_for(owner)
    client.post(role_url(team_a, editor), {"role": "owner"})
    response = client.post(remove_url(team_a, owner))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:team-list")
    assert role_for(owner, team_a) is None and role_for(editor, team_a) == "owner"


def test_the_page_lists_changes_newest_first(client_for, team_a, owner, viewer, erin):
    client = client_for(owner)
    client.post(add_url(team_a), {"who": "erin", "role": "viewer"})
    client.post(role_url(team_a, viewer), {"role": "editor"})
    client.post(remove_url(team_a, erin))
    changes = client.get(members_url(team_a)).context["changes"]
    assert [(c.action, c.member_username) for c in changes] == [
        ("removed", "erin"), ("role_changed", "bob"), ("added", "erin")]
    assert all(c.actor_username == "alice" for c in changes)


def test_anyone_signed_in_makes_a_team_and_owns_it(client_for, erin, team_a):
    client = client_for(erin)
    home = client.get(reverse("core:home")).content.decode()
    assert f'{reverse("accounts:team-list")}#team-create' in home  # a newcomer's way in
    page = client.get(reverse("accounts:team-list")).content.decode()
    assert "make one below" in page and reverse("accounts:team-create") in page
    response = client.post(reverse("accounts:team-create"), {"name": "  Erin's lab "})
    team = erin.memberships.get().team
    assert response.status_code == 302 and response.url == members_url(team)
    assert (team.name, role_for(erin, team)) == ("Erin's lab", "owner")
    assert list(MembershipChange.objects.filter(team=team).values_list(
        "actor_username", "action", "member_username", "new_role")) == [
        ("erin", "added", "erin", "owner")]
    assert "Erin&#x27;s lab" in client.get(reverse("accounts:team-list")).content.decode()


@pytest.mark.parametrize(("name", "error"), [
    ("", "This field is required"),
    ("   ", "This field is required"),
    ("team a", "exists already"),  # names are unique, whatever the case
    ("x" * 101, "at most 100 characters"),
])
def test_a_bad_team_name_is_a_clear_error(client_for, erin, team_a, name, error):
    response = client_for(erin).post(reverse("accounts:team-create"), {"name": name})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not erin.memberships.exists()


def test_making_a_team_needs_a_sign_in_and_a_post(client, erin):
    url = reverse("accounts:team-create")
    assert client.post(url, {"name": "Lab"}).status_code == 302  # to the sign-in page
    client.force_login(erin)
    assert client.get(url).status_code == 405
    assert not erin.memberships.exists()
