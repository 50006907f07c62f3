from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.models import ApiToken, Team


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


def api_token_list_for_user(*, user) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (revoked and expired ones included)."""
    if not user.is_authenticated:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def api_token_get_for_user(*, user, pk: int) -> ApiToken:
    """One of the user's tokens, or Http404 (another person's token is not found)."""
    return get_object_or_404(api_token_list_for_user(user=user), pk=pk)
