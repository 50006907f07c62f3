"""Members changed in the admin follow the team page's rules: the last owner stays, and every
change is on the team's record (apps/accounts/admin.py, through the member services)."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.accounts.models import Membership, MembershipChange, Team
from tests.apps.test_admin import _page_data
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _staff(user):
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
    return user


def _records(team):
    return list(MembershipChange.objects.filter(team=team).order_by("id").values_list(
        "actor_username", "action", "member_username", "old_role", "new_role"))


def _team_page(client, team):
    return client.get(reverse("admin:accounts_team_change", args=[team.pk]))


def _rows(page) -> dict:
    """The posted data of the team's change page, and each member's row prefix."""
    formset = next(i.formset for i in page.context["inline_admin_formsets"]
                   if i.formset.model is Membership)
    prefixes = {form.instance.user.username: form.prefix for form in formset.forms}
    return _page_data(page), prefixes, formset.prefix


def test_the_last_owner_keeps_the_role_on_the_membership_page(client, owner, viewer, team_a):
    client.force_login(_staff(owner))
    mine = Membership.objects.get(user=owner, team=team_a)
    url = reverse("admin:accounts_membership_change", args=[mine.pk])
    response = client.post(url, {"role": "viewer"})
    assert response.status_code == 200
    assert "last owner" in str(response.context["adminform"].form.errors["role"])
    assert Membership.objects.get(pk=mine.pk).role == "owner"
    # another member's role changes, and the change is recorded with who made it
    theirs = Membership.objects.get(user=viewer, team=team_a)
    url = reverse("admin:accounts_membership_change", args=[theirs.pk])
    assert client.post(url, {"role": "editor"}).status_code == 302
    assert Membership.objects.get(pk=theirs.pk).role == "editor"
    assert _records(team_a) == [("alice", "role_changed", "bob", "viewer", "editor")]


def test_the_person_of_a_membership_cannot_be_swapped(client, owner, viewer, editor, team_a):
    client.force_login(_staff(owner))
    theirs = Membership.objects.get(user=viewer, team=team_a)
    url = reverse("admin:accounts_membership_change", args=[theirs.pk])
    assert client.post(url, {"role": "viewer", "user": editor.pk, "team": team_a.pk}
                       ).status_code == 302
    assert Membership.objects.get(pk=theirs.pk).user == viewer  # read-only once saved


def test_removing_in_the_admin_is_checked_and_recorded(client, owner, viewer, team_a):
    client.force_login(_staff(owner))
    mine = Membership.objects.get(user=owner, team=team_a)
    delete = reverse("admin:accounts_membership_delete", args=[mine.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403  # the last owner
    assert Membership.objects.filter(pk=mine.pk).exists()
    changelist = client.get(reverse("admin:accounts_membership_changelist"))
    assert changelist.status_code == 200 and b"delete_selected" not in changelist.content
    theirs = Membership.objects.get(user=viewer, team=team_a)
    delete = reverse("admin:accounts_membership_delete", args=[theirs.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not Membership.objects.filter(pk=theirs.pk).exists()
    assert _records(team_a) == [("alice", "removed", "bob", "viewer", "")]


def test_team_page_rows_keep_an_owner_and_are_recorded(client, owner, viewer, team_a):
    client.force_login(_staff(owner))
    data, rows, prefix = _rows(_team_page(client, team_a))
    demoted = {**data, f"{rows['alice']}-role": "viewer"}
    response = client.post(reverse("admin:accounts_team_change", args=[team_a.pk]), demoted)
    assert response.status_code == 200
    assert "no owner left" in str(response.context["inline_admin_formsets"][0]
                                  .formset.non_form_errors())
    removed = {**data, f"{rows['alice']}-DELETE": "on"}
    response = client.post(reverse("admin:accounts_team_change", args=[team_a.pk]), removed)
    assert response.status_code == 200
    assert Membership.objects.get(user=owner, team=team_a).role == "owner"
    assert _records(team_a) == []
    # a new owner and the old one stepping down, in one save: allowed, whatever the order
    handover = {**data, f"{rows['alice']}-role": "editor", f"{rows['bob']}-role": "owner"}
    response = client.post(reverse("admin:accounts_team_change", args=[team_a.pk]), handover)
    assert response.status_code == 302
    assert dict(Membership.objects.filter(team=team_a).values_list("user__username", "role")
                ) == {"alice": "editor", "bob": "owner"}
    assert _records(team_a) == [("alice", "role_changed", "bob", "viewer", "owner"),
                                ("alice", "role_changed", "alice", "owner", "editor")]
    assert prefix == "memberships"


def test_a_row_keeps_its_person(client, owner, viewer, team_a):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    newcomer = UserFactory(username="frank")
    data, rows, _prefix = _rows(_team_page(client, team_a))
    swapped = {**data, f"{rows['bob']}-user": str(newcomer.pk)}
    response = client.post(reverse("admin:accounts_team_change", args=[team_a.pk]), swapped)
    assert response.status_code == 200
    assert "cannot be changed" in str(response.context["inline_admin_formsets"][0]
                                      .formset.non_form_errors())
    assert Membership.objects.get(user=viewer, team=team_a).role == "viewer"
    assert not Membership.objects.filter(user=newcomer).exists()
    assert _records(team_a) == []


def test_an_operator_makes_a_team_with_its_first_owner(client, db):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    person = UserFactory(username="erin")
    client.force_login(root)
    page = client.get(reverse("admin:accounts_team_add"))
    data = {**_page_data(page), "name": "Team E", "memberships-TOTAL_FORMS": "1",
            "memberships-0-user": str(person.pk), "memberships-0-role": "owner"}
    response = client.post(reverse("admin:accounts_team_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    team = Team.objects.get(name="Team E")
    assert list(team.memberships.values_list("user__username", "role")) == [("erin", "owner")]
    assert _records(team) == [("root", "added", "erin", "", "owner")]
    # the operator too keeps the team's last owner
    membership = team.memberships.get()
    url = reverse("admin:accounts_membership_change", args=[membership.pk])
    assert client.post(url, {"role": "viewer"}).status_code == 200
    assert team.memberships.get().role == "owner"
    MembershipFactory(team=team, role="owner")
    assert client.post(url, {"role": "viewer"}).status_code == 302
    assert team.memberships.get(user=person).role == "viewer"
