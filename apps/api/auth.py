"""Who is calling: a personal token (``Authorization: Bearer <token>``) or the browser's
session.

- A request that carries an ``Authorization`` header is judged by it alone: a bad, revoked
  or expired token (or another scheme) is a 401, never a fall back to the session cookie.
  Failed token checks are counted per client address; past the limit every token from
  that address is refused with a 429 (the right one too) until the window ends.
- Without the header, the session's user is the caller, and a write (any method but GET,
  HEAD, OPTIONS, TRACE) must carry the CSRF token (``X-CSRFToken``), as the pages' forms
  do. Token writes need none: a browser never adds the header by itself.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from apps.accounts.services import api_token_authenticate
from apps.common.ratelimit import RateLimit, client_ip

TOKEN_FAILURES = RateLimit("api-token-failures", 20, 300,
                           what="failed API token checks from your address")
BAD_TOKEN = "invalid, expired or revoked API token"


class RateLimited(HttpError):
    def __init__(self, message: str, retry_after: int):
        super().__init__(429, message)
        self.retry_after = retry_after


class TokenAuth(HttpBearer):
    """``Authorization: Bearer cst_...``: acts as the token's user."""

    def __call__(self, request: HttpRequest):
        header = request.headers.get(self.header)
        if header is None:
            return None  # no token: the session decides
        scheme, _, raw = header.partition(" ")
        ident = f"ip:{client_ip(request)}"
        verdict = TOKEN_FAILURES.peek(ident)
        if not verdict.allowed:
            raise RateLimited(TOKEN_FAILURES.message(verdict), verdict.retry_after)
        if scheme.lower() != "bearer":
            raise AuthenticationError(401, "use Authorization: Bearer <token>")
        return self.authenticate(request, raw.strip())

    def authenticate(self, request: HttpRequest, token: str):
        found = api_token_authenticate(token)
        if found is None:
            TOKEN_FAILURES.hit(f"ip:{client_ip(request)}")
            raise AuthenticationError(401, BAD_TOKEN)
        request.user = found.user
        request.api_token = found
        return found.user


class SessionAuth(APIKeyCookie):
    """The browser's session, with Django's CSRF check on writes."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)  # also tells the docs page to send X-CSRFToken

    def _get_key(self, request: HttpRequest):
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed: a write with the session cookie must "
                                 "send the X-CSRFToken header (or use an API token)")
        return user
