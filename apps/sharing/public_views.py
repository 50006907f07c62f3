"""The public side of share links: ``/s/<token>/`` shows the one run dashboard or
comparison the link names, to anyone, without an account; ``/s/<token>/failures/`` is the
dashboard's failed-items list, for that run only.

Nothing but the token picks what is shown: the object comes from the link, never from an
id in the URL or the query, so a link to run A reads nothing of run B. An unknown, revoked
or expired token, and a link whose object was deleted, are all the same 404. Every answer
(404 and 429 included) carries ``Referrer-Policy: no-referrer`` (the token in the URL is
not sent on to other sites), ``X-Robots-Tag: noindex`` and ``Cache-Control: no-store`` (a
revoked link stops working at once, also in caches). The views only read: GET only, no
form, nothing exempt from CSRF.
"""

from __future__ import annotations

import functools

from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import escape
from django.views.decorators.http import require_GET

from apps.common.ratelimit import RateLimit, client_ip, rate_limited
from apps.sharing.models import ShareKind, ShareLink
from apps.sharing.selectors import share_link_resolve, share_target_for_link
from apps.sharing.services import share_link_touch
from apps.sharing.shared import (
    comparison_page_context,
    run_page_context,
    shared_failures_response,
)

SHARED_VIEWS = RateLimit("share-view", 120, 60, what="views of shared pages from your address")
MISSING = "This link does not exist, was revoked or has expired."


def _ip(request: HttpRequest) -> str:
    return f"ip:{client_ip(request)}"


def shared_page(view):
    """The headers of every shared answer; any Http404 becomes the one plain 404 page."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            response = render(request, "sharing/shared_missing.html", {"message": MISSING},
                              status=404)
        except BadRequest as exc:
            response = HttpResponseBadRequest(escape(str(exc)))
        response["Referrer-Policy"] = "no-referrer"
        response["X-Robots-Tag"] = "noindex, nofollow"
        add_never_cache_headers(response)
        return response

    return wrapped


def _resolve(token: str) -> tuple[ShareLink, object]:
    link = share_link_resolve(token)
    if link is None:
        raise Http404(MISSING)
    obj = share_target_for_link(link=link)
    if obj is None:
        raise Http404(MISSING)
    return link, obj


@shared_page
@rate_limited(SHARED_VIEWS, key=_ip)
@require_GET
def shared_view(request: HttpRequest, token: str) -> HttpResponse:
    link, obj = _resolve(token)
    share_link_touch(link=link)
    if link.kind == ShareKind.RUN:
        failures_url = reverse("sharing:shared-failures", args=[token])
        context = run_page_context(run=obj, link=link, failures_url=failures_url)
        return render(request, "sharing/shared_run.html", context)
    return render(request, "sharing/shared_comparison.html",
                  comparison_page_context(comparison=obj, link=link))


@shared_page
@rate_limited(SHARED_VIEWS, key=_ip)
@require_GET
def shared_failures(request: HttpRequest, token: str) -> HttpResponse:
    """The failed items of one skill in one round of the link's run."""
    link, run = _resolve(token)
    if link.kind != ShareKind.RUN:
        raise Http404(MISSING)
    return shared_failures_response(request, run=run)
