from __future__ import annotations

from django.db import models
from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.shortcuts import get_object_or_404

from apps.accounts.models import ROLE_RANK, ApiToken, Membership, MembershipChange, Team


def team_list_for_user(*, user) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user).order_by("name")


def team_get_for_user(*, user, pk: int) -> Team:
    """The team, or Http404 when it does not exist or the user is not a member."""
    return get_object_or_404(team_list_for_user(user=user), pk=pk)


def team_list_for_editor(*, user) -> QuerySet[Team]:
    """Teams in which ``user`` may create projects (editors and owners)."""
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(
        memberships__user=user, memberships__role__in=["editor", "owner"]
    ).order_by("name")


def team_rows_for_user(*, user) -> QuerySet[Team]:
    """The user's teams with ``my_role`` and ``member_count`` (the team list page)."""
    if not user.is_authenticated:
        return Team.objects.none()
    mine = Membership.objects.filter(team=models.OuterRef("pk"), user=user)
    # the teams are picked by id so that the count is not narrowed to the user's own row
    return (Team.objects.filter(pk__in=Membership.objects.filter(user=user).values("team_id"))
            .annotate(my_role=models.Subquery(mine.values("role")[:1]),
                      member_count=Count("memberships"))
            .order_by("name"))


def member_list_for_team(*, team: Team) -> QuerySet[Membership]:
    """The team's members with their users: owners first, then editors, then viewers."""
    rank = Case(*(When(role=role, then=Value(-n)) for role, n in ROLE_RANK.items()),
                output_field=IntegerField())
    return (Membership.objects.filter(team=team).select_related("user")
            .annotate(rank=rank).order_by("rank", "user__username"))


def member_get(*, team: Team, user_pk: int) -> Membership:
    """A member of ``team`` by their user id, or Http404 (an id out of the column's range
    too: ``user__id`` is the id field's own lookup, which knows its range, where ``user_id``
    would hand SQLite an integer it cannot hold)."""
    return get_object_or_404(Membership.objects.select_related("user"), team=team,
                             user__id=user_pk)


def membership_change_list(*, team: Team, limit: int = 100) -> list[MembershipChange]:
    """The team's latest member changes, newest first."""
    return list(MembershipChange.objects.filter(team=team).order_by("-created_at", "-id")[:limit])


def api_token_list_for_user(*, user) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (revoked and expired ones included)."""
    if not user.is_authenticated:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def api_token_get_for_user(*, user, pk: int) -> ApiToken:
    """One of the user's tokens, or Http404 (another person's token is not found)."""
    return get_object_or_404(api_token_list_for_user(user=user), pk=pk)
