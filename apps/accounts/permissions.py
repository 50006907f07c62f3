"""The one place that decides what a team member may do.

Viewers read; editors also write (projects, skills, examples, prompts, curricula, runs);
owners also manage the team itself. Services call :func:`require_role` before any write.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from apps.accounts.models import ROLE_RANK, Membership, Role, Team


def role_for(user, team: Team) -> str | None:
    """The user's role in ``team``, or None when they are not a member."""
    if user is None or not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(user=user, team=team).values_list("role", flat=True).first()
    )


def has_role(user, team: Team, role: str) -> bool:
    current = role_for(user, team)
    return current is not None and ROLE_RANK[Role(current)] >= ROLE_RANK[Role(role)]


def require_role(user, team: Team, role: str) -> None:
    """Raise PermissionDenied unless ``user`` holds ``role`` (or a higher one) in ``team``."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r} (known: {', '.join(ROLE_RANK)})")
    if not has_role(user, team, role):
        current = role_for(user, team)
        who = getattr(user, "username", None) or "anonymous"
        held = f"is {current}" if current else "is not a member"
        raise PermissionDenied(f"{who} {held} of team {team.name!r}; this needs {role}")
