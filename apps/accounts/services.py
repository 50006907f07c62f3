from __future__ import annotations

from django.db import transaction

from apps.accounts.models import Membership, Role, Team
from apps.accounts.permissions import require_role


@transaction.atomic
def team_create(*, user, name: str) -> Team:
    """A new team with ``user`` as its owner."""
    team = Team.objects.create(name=name.strip())
    Membership.objects.create(user=user, team=team, role=Role.OWNER)
    return team


@transaction.atomic
def membership_set(*, user, team: Team, member, role: str) -> Membership:
    """Add ``member`` to ``team`` with ``role``, or change their role. Owners only."""
    require_role(user, team, Role.OWNER)
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r} (known: {', '.join(Role.values)})")
    membership, _ = Membership.objects.update_or_create(
        user=member, team=team, defaults={"role": role}
    )
    return membership


@transaction.atomic
def membership_remove(*, user, team: Team, member) -> None:
    require_role(user, team, Role.OWNER)
    Membership.objects.filter(user=member, team=team).delete()
