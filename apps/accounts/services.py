from __future__ import annotations

import datetime as dt
import hmac

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import ApiToken, Membership, Role, Team
from apps.accounts.permissions import require_role
from apps.accounts.tokens import token_generate, token_parse

# A token's time of last use is written at most this often, so that a busy client does not
# turn every API read into a database write.
TOKEN_TOUCH_EVERY = dt.timedelta(minutes=1)
TOKEN_NAME_MAX = ApiToken._meta.get_field("name").max_length


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
