"""The API object: version 1 under ``/api/v1/``, its schema at ``/api/v1/openapi.json`` and
its docs page at ``/api/v1/docs`` (Swagger UI from django-ninja's own static files, no CDN)."""

from __future__ import annotations

from ninja import NinjaAPI, Swagger
from ninja.parser import Parser

from apps.api import errors
from apps.api.auth import SessionAuth, TokenAuth
from apps.api.routers import curricula, data, projects, prompts, review, runs, uploads
from apps.common.safejson import json_loads_safe

DESCRIPTION = """\
The Curriculum Studio's REST API: projects, skills, examples (review decisions, file
imports), teacher prompts, teachers, curricula, runs and saved comparisons, with the same
rules as the pages.

**Authentication**: a personal token from *API tokens* (top bar) as
`Authorization: Bearer <token>`, or the browser's session (writes then need the
`X-CSRFToken` header). A token acts with its user's roles: viewers read, editors write.

**Errors** are JSON: `{"detail": "...", "errors": {"field": ["message"]}}`, with 400
(refused by the product's rules, or a body that is not JSON), 401, 403, 404 (also for
another team's objects), 409 (a review decision on an item decided since you read it),
422 (input that does not fit the schema) and 429.
"""


class SafeJSONParser(Parser):
    """Request bodies read like every form's JSON: no NaN, no NUL, no deep nesting."""

    def parse_body(self, request):
        return json_loads_safe(request.body)


class StudioAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        # The view function's name: unique across the routers (a test checks it).
        return operation.view_func.__name__


api = StudioAPI(
    title="Curriculum Studio API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=[TokenAuth(), SessionAuth()],
    parser=SafeJSONParser(),
    # validatorUrl: Swagger UI would otherwise load a badge from validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
errors.install(api)
for module in (projects, prompts, curricula, runs, data, uploads, review):
    api.add_router("", module.router)
