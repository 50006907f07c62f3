"""Per-user (or per-anything) rate limits kept in Django's default cache.

A :class:`RateLimit` allows ``limit`` hits per ``period`` seconds for one key. The window
opens at the first hit and closes ``period`` seconds later (one counter in the cache, which
expires with the window). The cache is the project's default one: per process with the
embedded default (local memory), shared by every web process once ``CACHES`` names a
shared cache such as Redis.

Views use :func:`rate_limited`; the login view uses :meth:`RateLimit.peek`,
:meth:`RateLimit.hit` and :meth:`RateLimit.reset` to count failures only.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.html import escape


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int  # hits in the current window, this one included
    retry_after: int  # seconds until the window closes (0 when allowed)


@dataclass(frozen=True)
class RateLimit:
    """``limit`` hits of ``what`` per ``period`` seconds; ``scope`` names the counter.

    ``settings.STUDIO_RATE_LIMITS`` may override a scope: ``{"prompt-try": (5, 60)}``.
    """

    scope: str
    limit: int
    period: int
    what: str

    def _rate(self) -> tuple[int, int]:
        overrides = getattr(settings, "STUDIO_RATE_LIMITS", {}) or {}
        limit, period = overrides.get(self.scope, (self.limit, self.period))
        return int(limit), int(period)

    def _keys(self, ident: str) -> tuple[str, str]:
        digest = hashlib.sha256(ident.encode("utf-8")).hexdigest()[:32]
        base = f"ratelimit:{self.scope}:{digest}"
        return f"{base}:n", f"{base}:t"

    def _verdict(self, count: int, started: float | None, limit: int, period: int) -> Verdict:
        if count <= limit:
            return Verdict(True, count, 0)
        left = period if started is None else started + period - time.time()
        return Verdict(False, count, max(1, math.ceil(left)))

    def peek(self, ident: str) -> Verdict:
        """Would one more hit be allowed? (counts nothing)"""
        limit, period = self._rate()
        count_key, start_key = self._keys(ident)
        values = cache.get_many([count_key, start_key])
        return self._verdict(values.get(count_key, 0) + 1, values.get(start_key), limit, period)

    def hit(self, ident: str) -> Verdict:
        """Count one hit and say whether it is within the limit."""
        limit, period = self._rate()
        count_key, start_key = self._keys(ident)
        if cache.add(count_key, 1, timeout=period):
            cache.set(start_key, time.time(), timeout=period)
            count = 1
        else:
            try:
                count = cache.incr(count_key)
            except ValueError:  # the window closed between add and incr
                cache.set(count_key, 1, timeout=period)
                cache.set(start_key, time.time(), timeout=period)
                count = 1
        return self._verdict(count, cache.get(start_key), limit, period)

    def reset(self, ident: str) -> None:
        cache.delete_many(list(self._keys(ident)))

    def message(self, verdict: Verdict) -> str:
        limit, period = self._rate()
        per = "a minute" if period == 60 else f"per {_duration(period)}"
        return (f"Too many {self.what}: the limit is {limit} {per}. "
                f"Try again in {_duration(verdict.retry_after)}.")


def _duration(seconds: int) -> str:
    if seconds >= 60:
        minutes = math.ceil(seconds / 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def user_key(request: HttpRequest) -> str:
    """The signed-in user, else the client address."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"ip:{client_ip(request)}"


def client_ip(request: HttpRequest) -> str:
    """The address the request came from. ``X-Forwarded-For`` is not read: a client can set
    it, so behind a proxy the proxy's address is what counts."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def too_many_requests(request: HttpRequest, message: str, retry_after: int) -> HttpResponse:
    """The plain 429 answer: the message as a small HTML fragment."""
    response = HttpResponse(f'<p class="error" role="alert">{escape(message)}</p>', status=429)
    response["Retry-After"] = str(retry_after)
    return response


Respond = Callable[[HttpRequest, str], HttpResponse]


def rate_limited(limit: RateLimit, *, key: Callable[[HttpRequest], str] = user_key,
                 respond: Respond | None = None):
    """View decorator: past ``limit`` the view is not called and the answer is a 429 with a
    message naming the limit (``respond(request, message)`` renders it; the
    ``Retry-After`` header is added either way)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            verdict = limit.hit(key(request))
            if verdict.allowed:
                return view(request, *args, **kwargs)
            message = limit.message(verdict)
            if respond is None:
                return too_many_requests(request, message, verdict.retry_after)
            response = respond(request, message)
            response.status_code = 429
            response["Retry-After"] = str(verdict.retry_after)
            return response

        return wrapped

    return decorator
