"""The members' side of share links: make one (from a run page or a comparison), list the
team's links, revoke one. The public side is ``apps/sharing/public_views.py``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.models import Role, Team
from apps.accounts.permissions import has_role, require_role
from apps.accounts.selectors import team_get_for_user
from apps.common.forms import add_service_errors
from apps.sharing.forms import ShareLinkForm
from apps.sharing.models import ShareKind, ShareLink
from apps.sharing.selectors import (
    share_link_get_for_user,
    share_link_list_for_team,
    share_target_for_user,
    team_of,
)
from apps.sharing.services import share_link_create, share_link_revoke

# Where a member opens the object of a link (the comparison page may not be installed).
OBJECT_URLS = {ShareKind.RUN: "runs:run-detail", ShareKind.COMPARISON: "compare:comparison-detail"}


def _object_url(link: ShareLink) -> str:
    try:
        return reverse(OBJECT_URLS[link.kind], args=[link.object_id])
    except (KeyError, NoReverseMatch):
        return ""


def _links_page(request: HttpRequest, team: Team, *, form: ShareLinkForm | None = None,
                new_url: str = "", status: int = 200) -> HttpResponse:
    now = timezone.now()
    rows = [{"link": link, "state": link.state(now), "object_url": _object_url(link)}
            for link in share_link_list_for_team(team=team)]
    context = {"team": team, "rows": rows, "form": form, "new_url": new_url,
               "can_share": has_role(request.user, team, Role.EDITOR)}
    return render(request, "sharing/link_list.html", context, status=status)


@never_cache
@login_required
@require_GET
def link_list(request: HttpRequest, pk: int) -> HttpResponse:
    return _links_page(request, team_get_for_user(user=request.user, pk=pk))


@never_cache
@login_required
@require_POST
@sensitive_variables("token", "new_url")
def link_new(request: HttpRequest) -> HttpResponse:
    """Make a link and show it on this answer only (the token is never stored)."""
    form = ShareLinkForm(request.POST)
    form.is_valid()
    kind, object_id = form.cleaned_data.get("kind"), form.cleaned_data.get("object_id")
    if not kind or not object_id:
        raise Http404("nothing to share: the form names no run or comparison")
    obj = share_target_for_user(user=request.user, kind=kind, object_id=object_id)
    team = team_of(obj)
    require_role(request.user, team, Role.EDITOR)
    if form.is_valid():
        try:
            _link, token = share_link_create(
                user=request.user, obj=obj, expires_at=form.expires_at(),
                show_prompts=form.cleaned_data["show_prompts"])
        except ValidationError as exc:
            add_service_errors(form, exc, name_unplaced=True)
        else:
            new_url = request.build_absolute_uri(reverse("sharing:shared-view", args=[token]))
            return _links_page(request, team, new_url=new_url)
    return _links_page(request, team, form=form, status=400)


@login_required
@require_POST
def link_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    link = share_link_get_for_user(user=request.user, pk=pk)
    share_link_revoke(user=request.user, link=link)
    messages.success(request, f"Revoked the link to {link.label!r}: it opens nothing now.")
    return redirect("sharing:link-list", pk=link.team_id)
