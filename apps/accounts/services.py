from __future__ import annotations

import datetime as dt
import hmac

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import ApiToken, Membership, MembershipChange, Role, Team
from apps.accounts.permissions import require_role
from apps.accounts.tokens import token_generate, token_parse

# A token's time of last use is written at most this often, so that a busy client does not
# turn every API read into a database write.
TOKEN_TOUCH_EVERY = dt.timedelta(minutes=1)
TOKEN_NAME_MAX = ApiToken._meta.get_field("name").max_length


TEAM_NAME_MAX = Team._meta.get_field("name").max_length


def team_create(*, user, name: str) -> Team:
    """A new team with ``user`` as its first owner (recorded like any member change).
    Team names are unique (ignoring case): a taken one is a ValidationError on ``name``."""
    if user is None or not user.is_authenticated:
        raise PermissionDenied("sign in to make a team")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "give the team a name"})
    if len(name) > TEAM_NAME_MAX:
        raise ValidationError({"name": f"at most {TEAM_NAME_MAX} characters"})
    taken = ValidationError({"name": f"a team named {name!r} exists already: choose another "
                                     "name"})
    if Team.objects.filter(name__iexact=name).exists():
        raise taken
    try:
        with transaction.atomic():
            team = Team.objects.create(name=name)
            Membership.objects.create(user=user, team=team, role=Role.OWNER)
            _record(team=team, actor=user, member=user, action=MembershipChange.Action.ADDED,
                    new_role=Role.OWNER)
    except IntegrityError:  # made by someone else since the check
        raise taken from None
    return team


# --- members ---------------------------------------------------------------------------------
# Every change of a team's members goes through these services, from the team page, the API
# and the admin alike: the acting owner is checked after the team row is locked (two owners
# demoting each other at once cannot leave a team with none), the last owner can be neither
# demoted nor removed, and each change is recorded as a MembershipChange. A superuser (an
# operator, in the admin) may act on any team, under the same rules and on the record.


def _lock_team(team: Team) -> Team:
    return Team.objects.select_for_update().get(pk=team.pk)


def _require_owner(user, team: Team) -> None:
    if getattr(user, "is_superuser", False) and user.is_active:
        return
    require_role(user, team, Role.OWNER)


def member_change_problem(*, team: Team, member, role: str | None) -> str | None:
    """Why giving ``member`` of ``team`` the role ``role`` (None: removing them) would break
    the rules, or None; for forms, before the change (the services check again, locked)."""
    membership = Membership.objects.filter(team=team, user=member).first()
    if membership is None or membership.role != Role.OWNER or role == Role.OWNER:
        return None
    if _owner_count(team) == 1:
        return (f"{member.get_username()} is the last owner of {team.name}: make someone "
                "else owner first")
    return None


def _owner_count(team: Team) -> int:
    return Membership.objects.filter(team=team, role=Role.OWNER).count()


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError({"role": f"unknown role {role!r} (known: {', '.join(Role.values)})"})


def _record(*, team: Team, actor, member, action: str, old_role: str = "",
            new_role: str = "") -> MembershipChange:
    return MembershipChange.objects.create(
        team=team, actor=actor, actor_username=actor.get_username(), member=member,
        member_username=member.get_username(), action=action, old_role=old_role,
        new_role=new_role)


def user_find(identifier: str):
    """The active user whose username (or, with an ``@``, e-mail) is ``identifier``; a
    ValidationError on ``who`` that says why when there is none or the e-mail is ambiguous."""
    User = get_user_model()
    ident = (identifier or "").strip()
    if not ident:
        raise ValidationError({"who": "give a username or an e-mail address"})
    users = User.objects.filter(is_active=True)
    if "@" in ident:
        found = list(users.filter(email__iexact=ident)[:2])
        if len(found) > 1:
            raise ValidationError({"who": f"several people use the e-mail {ident}: "
                                          "give the username instead"})
    else:  # the exact username, else the one that differs only in case
        found = list(users.filter(username=ident)[:1]) \
            or list(users.filter(username__iexact=ident)[:2])
        if len(found) > 1:
            raise ValidationError({"who": f"several usernames match {ident!r} but for case: "
                                          "type it exactly"})
    if not found:
        what = "e-mail" if "@" in ident else "username"
        raise ValidationError({"who": f"no user with the {what} {ident!r}: they need an "
                                      "account before they can be added"})
    return found[0]


@transaction.atomic
def member_add(*, user, team: Team, member, role: str) -> Membership:
    """Add the existing user ``member`` to ``team`` with ``role``. Owners only."""
    _lock_team(team)
    _require_owner(user, team)
    _check_role(role)
    current = Membership.objects.filter(team=team, user=member).first()
    if current is not None:
        raise ValidationError({"who": f"{member.get_username()} is already a member of "
                                      f"{team.name} ({current.role})"})
    membership = Membership.objects.create(user=member, team=team, role=role)
    _record(team=team, actor=user, member=member, action=MembershipChange.Action.ADDED,
            new_role=role)
    return membership


def _membership(team: Team, member) -> Membership:
    membership = Membership.objects.filter(team=team, user=member).first()
    if membership is None:
        raise ValidationError(f"{member.get_username()} is not a member of {team.name}")
    return membership


@transaction.atomic
def member_role_change(*, user, team: Team, member, role: str) -> Membership:
    """Give ``member`` of ``team`` the role ``role``. Owners only; the last owner keeps
    theirs. Setting the role a member already has changes (and records) nothing."""
    _lock_team(team)
    _require_owner(user, team)
    _check_role(role)
    membership = _membership(team, member)
    old = membership.role
    if old == role:
        return membership
    problem = member_change_problem(team=team, member=member, role=role)
    if problem:
        raise ValidationError({"role": problem})
    membership.role = role
    membership.save(update_fields=["role"])
    _record(team=team, actor=user, member=member, action=MembershipChange.Action.ROLE_CHANGED,
            old_role=old, new_role=role)
    return membership


@transaction.atomic
def member_remove(*, user, team: Team, member) -> None:
    """Take ``member`` out of ``team``. Owners only; the last owner cannot be removed."""
    _lock_team(team)
    _require_owner(user, team)
    membership = _membership(team, member)
    problem = member_change_problem(team=team, member=member, role=None)
    if problem:
        raise ValidationError(problem)
    membership.delete()
    _record(team=team, actor=user, member=member, action=MembershipChange.Action.REMOVED,
            old_role=membership.role)


def membership_set(*, user, team: Team, member, role: str) -> Membership:
    """Add ``member`` to ``team`` with ``role``, or change their role. Owners only."""
    if Membership.objects.filter(team=team, user=member).exists():
        return member_role_change(user=user, team=team, member=member, role=role)
    return member_add(user=user, team=team, member=member, role=role)


def membership_remove(*, user, team: Team, member) -> None:
    member_remove(user=user, team=team, member=member)


# --- personal API tokens ----------------------------------------------------------------------

@transaction.atomic
def api_token_create(*, user, name: str, expires_at: dt.datetime | None = None
                     ) -> tuple[ApiToken, str]:
    """A new token of ``user``: ``(its row, the token itself)``. The token is not stored
    and cannot be shown again; only its prefix and the digest of its secret are."""
    if user is None or not user.is_authenticated:
        raise ValidationError("sign in to make an API token")
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "must not be empty"
    elif len(name) > TOKEN_NAME_MAX:
        errors["name"] = f"at most {TOKEN_NAME_MAX} characters"
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = "must be in the future"
    if errors:
        raise ValidationError(errors)
    raw, prefix, digest = token_generate()
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, digest=digest,
                                    expires_at=expires_at)
    return token, raw


@transaction.atomic
def api_token_revoke(*, user, token: ApiToken) -> ApiToken:
    """Revoke one of ``user``'s own tokens (revoking twice keeps the first time)."""
    if token.user_id != getattr(user, "pk", None):
        raise ValidationError("this token belongs to someone else")
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now())
    token.refresh_from_db()
    return token


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The live token ``raw`` names (with its user), or None: malformed, unknown, wrong
    secret, revoked, expired, or its user is inactive. Records the time of use, at most
    once per ``TOKEN_TOUCH_EVERY``."""
    parsed = token_parse(raw)
    if parsed is None:
        return None
    prefix, digest = parsed
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.digest, digest):
        return None
    now = timezone.now()
    if token.state(now) != "active" or not token.user.is_active:
        return None
    if token.last_used_at is None or token.last_used_at <= now - TOKEN_TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - TOKEN_TOUCH_EVERY)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token
