"""The team pages: the teams a person belongs to, and one team's members with the history of
their changes. Everyone in the team reads; owners add, change and remove members
(``apps/accounts/services.py``); a stranger gets 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.forms import MemberAddForm, MemberRoleForm, TeamCreateForm
from apps.accounts.models import Role, Team
from apps.accounts.permissions import has_role, require_role, role_for
from apps.accounts.selectors import (
    member_get,
    member_list_for_team,
    membership_change_list,
    team_get_for_user,
    team_rows_for_user,
)
from apps.accounts.services import (
    member_add,
    member_remove,
    member_role_change,
    team_create,
    user_find,
)
from apps.common.forms import add_service_errors


def _teams_page(request: HttpRequest, *, form: TeamCreateForm | None = None,
                status: int = 200) -> HttpResponse:
    return render(request, "accounts/team_list.html",
                  {"teams": team_rows_for_user(user=request.user),
                   "form": form or TeamCreateForm()}, status=status)


@login_required
@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    return _teams_page(request)


@login_required
@require_POST
def team_create_view(request: HttpRequest) -> HttpResponse:
    form = TeamCreateForm(request.POST)
    if form.is_valid():
        try:
            team = team_create(user=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Made the team {team.name}: you are its owner. Add "
                                      "people below.")
            return redirect("accounts:member-list", pk=team.pk)
    return _teams_page(request, form=form, status=400)


def _members_page(request: HttpRequest, team: Team, *, form: MemberAddForm | None = None,
                  error: str = "", status: int = 200) -> HttpResponse:
    members = list(member_list_for_team(team=team))
    context = {
        "team": team,
        "members": members,
        "owners": sum(1 for m in members if m.role == Role.OWNER),
        "my_role": role_for(request.user, team),
        "can_manage": has_role(request.user, team, Role.OWNER),
        "roles": Role.choices,
        "form": form or MemberAddForm(),
        "error": error,
        "changes": membership_change_list(team=team),
    }
    return render(request, "accounts/member_list.html", context, status=status)


@login_required
@require_GET
def member_list(request: HttpRequest, pk: int) -> HttpResponse:
    return _members_page(request, team_get_for_user(user=request.user, pk=pk))


@login_required
@require_POST
def member_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    team = team_get_for_user(user=request.user, pk=pk)
    require_role(request.user, team, Role.OWNER)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            member = user_find(form.cleaned_data["who"])
            member_add(user=request.user, team=team, member=member,
                       role=form.cleaned_data["role"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Added {member.get_username()} as "
                                      f"{form.cleaned_data['role']}.")
            return redirect("accounts:member-list", pk=team.pk)
    return _members_page(request, team, form=form, status=400)


@login_required
@require_POST
def member_role_view(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    team = team_get_for_user(user=request.user, pk=pk)
    require_role(request.user, team, Role.OWNER)
    membership = member_get(team=team, user_pk=user_pk)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return _members_page(request, team, error="Pick one of the roles.", status=400)
    try:
        member_role_change(user=request.user, team=team, member=membership.user,
                           role=form.cleaned_data["role"])
    except ValidationError as exc:
        return _members_page(request, team, error=" ".join(exc.messages), status=400)
    messages.success(request, f"{membership.user.get_username()} is now "
                              f"{form.cleaned_data['role']}.")
    return redirect("accounts:member-list", pk=team.pk)


@login_required
@require_POST
def member_remove_view(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    team = team_get_for_user(user=request.user, pk=pk)
    require_role(request.user, team, Role.OWNER)
    membership = member_get(team=team, user_pk=user_pk)
    try:
        member_remove(user=request.user, team=team, member=membership.user)
    except ValidationError as exc:
        return _members_page(request, team, error=" ".join(exc.messages), status=400)
    name = membership.user.get_username()
    if membership.user_id == request.user.pk:
        messages.success(request, f"You left {team.name}.")
        return redirect("accounts:team-list")
    messages.success(request, f"Removed {name} from {team.name}.")
    return redirect("accounts:member-list", pk=team.pk)
