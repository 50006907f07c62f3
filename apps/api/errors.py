"""Every refusal of the API as JSON, in one shape::

    {"detail": "what went wrong", "errors": {"field.path": ["message", ...]}}

- input that does not fit the schema (wrong type, unknown field, out of range): 422, one
  entry per field (``examples.3.level``);
- a body that is not JSON we read (bad syntax, NaN, NUL characters, nesting, too large): 400;
- a service's ValidationError: 400 with its field errors (the same messages the pages show);
- PermissionDenied (e.g. a viewer writing): 403; no such object in the caller's teams: 404;
- no credentials or a bad token: 401 (with ``WWW-Authenticate: Bearer``); too many failed
  token checks: 429 (with ``Retry-After``).

Messages never hold the input itself, so a secret sent in the wrong field is not echoed.
"""

from __future__ import annotations

from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.errors import ValidationError as SchemaError

from apps.api.auth import RateLimited
from apps.common.safejson import JSONInputError

# Where an input error sits, without ninja's parameter wrappers.
_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}


def _location(loc) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    if len(parts) > 1 and parts[0] in ("payload", "filters", "params"):
        parts = parts[1:]
    return ".".join(parts) or "__all__"


def schema_error_dict(errors: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for err in errors:
        out.setdefault(_location(err.get("loc", ())), []).append(str(err.get("msg", "invalid")))
    return out


def install(api: NinjaAPI) -> None:
    def answer(request, status: int, detail: str, errors=None):
        body = {"detail": detail}
        if errors:
            body["errors"] = errors
        return api.create_response(request, body, status=status)

    @api.exception_handler(SchemaError)
    def on_schema_error(request, exc: SchemaError):
        return answer(request, 422, "the input does not fit the schema",
                      schema_error_dict(exc.errors))

    @api.exception_handler(ValidationError)
    def on_service_error(request, exc: ValidationError):
        if hasattr(exc, "error_dict"):
            return answer(request, 400, "refused", exc.message_dict)
        return answer(request, 400, " ".join(exc.messages), {"__all__": exc.messages})

    @api.exception_handler(PermissionDenied)
    def on_permission_denied(request, exc: PermissionDenied):
        return answer(request, 403, str(exc) or "permission denied")

    @api.exception_handler(Http404)
    def on_not_found(request, exc: Http404):
        return answer(request, 404, "not found")

    @api.exception_handler(BadRequest)
    def on_bad_request(request, exc: BadRequest):
        return answer(request, 400, str(exc) or "bad request")

    @api.exception_handler(HttpError)
    def on_http_error(request, exc: HttpError):
        detail = str(exc)
        cause = exc.__cause__
        if isinstance(cause, JSONInputError):
            detail = f"cannot read the request body: {cause}"
        elif exc.status_code == 400 and cause is not None:
            detail = "cannot read the request body: it must be a JSON document"
        response = answer(request, exc.status_code, detail)
        if exc.status_code == 401:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response
