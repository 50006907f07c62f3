"""Schemathesis against the schema the API serves (``/api/v1/openapi.json``), with an
owner's token, over every operation: no server error, and every answer as the schema
describes it (a documented status code, content type, headers and body).

Each operation gets ``SCHEMATHESIS_EXAMPLES`` cases (default 8) of data that fits the
schema with the ids of the fixture ``world``'s objects, the same with generated ids, and
data that breaks the schema (negative cases, which must be refused with a documented 4xx).
Requests go through Django's WSGI application in this process; every case runs in a
savepoint that is rolled back, so the world stays as it was. Bounded: about 30 s for all
operations on two cores.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.api.main import api
from tests.apps.api.conftest import TEACHER_KEY, make_token
from tests.apps.test_fuzz import _Unlimited

pytestmark = pytest.mark.slow
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
_SCHEMA = None
OPERATIONS = sorted((method.upper(), path)
                    for path, ops in api.get_openapi_schema()["paths"].items()
                    for method in ops)


def _ids(world) -> dict:
    """A real value for every path parameter of the schema."""
    return {"project_id": world["project"].pk, "prompt_id": world["prompt"].pk,
            "teacher_id": world["teacher"].pk, "run_id": world["run"].pk,
            "job_id": world["import_job"].pk, "upload": world["upload"],
            "example_id": world["examples"][2].pk, "comparison_id": world["comparison"].pk}


@pytest.fixture
def keep_connection():
    """As Django's test client does: the end of a request must not close the test's
    database connection (it is inside the test's transaction)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), OPERATIONS,
                         ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_schemathesis(method, path, world, settings, keep_connection):
    from config.wsgi import application

    settings.DEBUG = False
    settings.STUDIO_RATE_LIMITS = _Unlimited()
    global _SCHEMA
    if _SCHEMA is None:  # loaded once: the schema as the API serves it
        _SCHEMA = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    schema = _SCHEMA
    operation = schema[path][method]
    names = {p.name for p in operation.path_parameters}
    real = {k: v for k, v in _ids(world).items() if k in names}
    headers = {"Authorization": f"Bearer {make_token(world['owner'])}",
               "Accept-Encoding": "identity"}  # the test client does not unzip
    strategy = st.one_of(
        operation.as_strategy(path_parameters=real),
        operation.as_strategy(),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE,
                              path_parameters=real),
    )

    @hypothesis_settings(
        max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case):
        savepoint = transaction.savepoint()
        try:
            response = case.call(headers=headers)
            assert TEACHER_KEY.encode() not in response.content
            case.validate_response(response, checks=CHECKS)
        finally:
            transaction.savepoint_rollback(savepoint)

    check()
