"""Making, revoking and using share links. Editors and owners of the object's team make
and revoke them; viewers may only look at the list."""

from __future__ import annotations

import datetime as dt
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Role
from apps.accounts.permissions import require_role
from apps.compare.models import Comparison
from apps.runs.models import Run
from apps.sharing.models import ShareKind, ShareLink
from apps.sharing.selectors import TOKEN_BYTES, team_of, token_digest

# A link's time of last use is written at most this often: a busy shared page does not
# turn every view into a database write.
TOUCH_EVERY = dt.timedelta(minutes=1)
HINT_LENGTH = 6
LABEL_MAX = ShareLink._meta.get_field("label").max_length


def _kind_of(obj) -> str:
    if isinstance(obj, Run):
        return ShareKind.RUN
    if isinstance(obj, Comparison):
        return ShareKind.COMPARISON
    raise ValidationError(f"a {type(obj).__name__} cannot be shared")


@transaction.atomic
def share_link_create(*, user, obj, expires_at: dt.datetime | None = None,
                      show_prompts: bool = False) -> tuple[ShareLink, str]:
    """A new read-only link to ``obj`` (a run or a comparison): ``(its row, the token)``.
    The token is not stored and cannot be shown again. Editors and owners only.
    ``show_prompts`` is for runs (a comparison shows no prompt text)."""
    kind = _kind_of(obj)
    team = team_of(obj)
    require_role(user, team, Role.EDITOR)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "must be in the future"})
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = ShareLink.objects.create(
        team=team, kind=kind, object_id=obj.pk, label=str(obj.name)[:LABEL_MAX],
        digest=token_digest(token), hint=token[:HINT_LENGTH],
        show_prompts=bool(show_prompts) and kind == ShareKind.RUN,
        created_by=user, expires_at=expires_at)
    return link, token


@transaction.atomic
def share_link_revoke(*, user, link: ShareLink) -> ShareLink:
    """Revoke ``link`` at once (revoking twice keeps the first time). Editors and owners."""
    require_role(user, link.team, Role.EDITOR)
    ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=user)
    link.refresh_from_db()
    return link


def share_link_touch(*, link: ShareLink) -> None:
    """Record that ``link`` was opened, at most once per ``TOUCH_EVERY``."""
    now = timezone.now()
    if link.last_used_at is not None and link.last_used_at > now - TOUCH_EVERY:
        return
    ShareLink.objects.filter(pk=link.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - TOUCH_EVERY)
    ).update(last_used_at=now)
    link.last_used_at = now
