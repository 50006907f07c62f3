"""Reading share links: a team's list, one link for a member, and the one object a token
opens (never any other: the object is found by the link's kind and id inside the link's
team, and nothing of the request but the token is used to find it)."""

from __future__ import annotations

import hashlib
import re

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.accounts.models import Team
from apps.compare.models import Comparison
from apps.runs.models import Run
from apps.sharing.models import ShareKind, ShareLink

# secrets.token_urlsafe(32): 32 random bytes, 43 URL-safe characters.
TOKEN_BYTES = 32
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def share_link_list_for_team(*, team: Team) -> QuerySet[ShareLink]:
    """The team's links, newest first (revoked and expired ones included)."""
    return ShareLink.objects.filter(team=team).select_related("created_by", "revoked_by") \
        .order_by("-created_at", "-id")


def share_link_get_for_user(*, user, pk: int) -> ShareLink:
    """A link of one of the user's teams, or Http404."""
    if not user.is_authenticated:
        raise Http404("no such share link")
    return get_object_or_404(
        ShareLink.objects.select_related("team").filter(team__memberships__user=user), pk=pk)


def share_link_resolve(token: str) -> ShareLink | None:
    """The live link of ``token``, or None: malformed, unknown, revoked or expired."""
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        return None
    link = ShareLink.objects.select_related("team").filter(digest=token_digest(token)).first()
    if link is None or link.state(timezone.now()) != "active":
        return None
    return link


def _targets(kind: str):
    if kind == ShareKind.RUN:
        return Run.objects.select_related("project__team", "curriculum", "student",
                                          "teacher_config"), "project__team"
    if kind == ShareKind.COMPARISON:
        return Comparison.objects.select_related("project__team"), "project__team"
    raise Http404(f"nothing of the kind {kind!r} can be shared")


def share_target_for_user(*, user, kind: str, object_id: int):
    """The run or comparison ``object_id`` if it is in one of the user's teams, else
    Http404 (as every page answers a stranger)."""
    if not user.is_authenticated:
        raise Http404("no such object")
    qs, team_path = _targets(kind)
    return get_object_or_404(qs.filter(**{f"{team_path}__memberships__user": user}),
                             pk=object_id)


def share_target_for_link(*, link: ShareLink):
    """The one object ``link`` opens, or None when it was deleted or left the link's team."""
    qs, team_path = _targets(link.kind)
    return qs.filter(**{f"{team_path}_id": link.team_id}).filter(pk=link.object_id).first()


def team_of(obj) -> Team:
    """The team a shared object belongs to (runs and comparisons belong to a project)."""
    return obj.project.team
