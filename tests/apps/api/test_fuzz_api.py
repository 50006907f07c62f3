"""Fuzz every API operation: hostile JSON bodies (wrong types, unknown fields, NUL
characters, numbers beyond every column, deep nesting, NaN, not JSON at all), hostile query
parameters and path ids must answer 400, 401, 403, 404, 409, 422 or 429 — never a 500 —
and never echo the teacher's key.

Each example starts from the valid call of ``operations.OPERATIONS`` and replaces a value
somewhere in its body (also inside the rows of a list), adds an unknown field, replaces the
whole body with raw text, or changes a path id or query parameter. Every example runs in a
savepoint that is rolled back. As in tests/apps/test_fuzz.py, server errors come back as
status 500 (``raise_request_exception=False``) with DEBUG off.
"""

from __future__ import annotations

import copy
import json
import os
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.apps.api.conftest import ApiClient, make_token
from tests.apps.api.operations import OPERATIONS
from tests.apps.test_fuzz import HOSTILE, JSON_TEXT, JSON_VALUES, _Unlimited

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
HOSTILE_JSON = [
    None, True, False, 0, -1, 1.5, 2**31, -(2**31) - 1, 2**63, 10**30, -(10**30), "",
    "\x00", "a\x00b", "²", "x" * 5000, "1", "true", [], {}, [None], {"": None},
    {"a\x00": 1}, [[[[[]]]]], float("nan"), float("inf"), 10**400,
]
RAW_BODIES = [
    "", "not json", "{", "[]", "null", "1", '"text"', '{"a": NaN}', '{"a": "\\u0000"}',
    "[" * 5000 + "]" * 5000, '{"a": ' * 60 + "1" + "}" * 60, "1" + "0" * 5000,
    "\ufeff{}", '{"a": 1, "a": 2}', "\x00", "\udcff",
]
ALLOWED = {200, 201, 202, 204, 400, 401, 403, 404, 405, 409, 422, 429}


def _dicts(node) -> list[dict]:
    """Every dict in a JSON tree (the body and the rows inside it)."""
    found, stack = [], [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


@st.composite
def calls(draw, op, world):
    path = op.path(world)
    if draw(st.integers(min_value=0, max_value=5)) == 0:
        parts = path.split("/")
        ids = [i for i, p in enumerate(parts) if p.isdigit()]
        if ids:
            parts[draw(st.sampled_from(ids))] = draw(st.sampled_from(
                ["0", "-1", str(2**31), str(2**63), "9" * 30, "²", "abc", "%00", "1.5"]))
            path = "/".join(parts)
    if op.query:
        query = draw(st.dictionaries(st.sampled_from(op.query), st.one_of(
            st.sampled_from([str(v) for v in HOSTILE_JSON if not isinstance(v, dict | list)]),
            st.sampled_from(HOSTILE), st.text(max_size=20)), max_size=3))
        if query:
            path += "?" + urlencode(query)
    if op.method == "GET":
        return path, None
    if op.form is not None and draw(st.booleans()):
        # a multipart body: hostile text in its fields, hostile bytes in its file
        form = {k: (("file", v.name, v.read()) if hasattr(v, "read") else v)
                for k, v in op.form(world).items()}
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            key = draw(st.sampled_from(sorted(form) + ["zzz"]))
            if key == "file" and draw(st.booleans()):
                form[key] = ("file", draw(st.sampled_from(["a.jsonl", "a.csv", "", "../x"])),
                             draw(st.binary(max_size=300)))
            else:
                form[key] = draw(st.one_of(
                    st.sampled_from([str(v) for v in HOSTILE_JSON
                                     if not isinstance(v, dict | list)]),
                    st.sampled_from(HOSTILE), st.text(max_size=20)))
        return path, form
    if draw(st.integers(min_value=0, max_value=4)) == 0:
        return path, draw(st.one_of(st.sampled_from(RAW_BODIES), JSON_TEXT))
    body = copy.deepcopy(op.body(world)) if op.body else {}
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        targets = _dicts(body) or [body]
        target = draw(st.sampled_from(targets))
        key = draw(st.sampled_from(sorted(target) + ["zzz", "id", "project", "\x00"]))
        # a copy: a later step may write into it, and the samples must stay as they are
        target[key] = copy.deepcopy(draw(st.one_of(st.sampled_from(HOSTILE_JSON), JSON_VALUES,
                                                   st.sampled_from(HOSTILE))))
    return path, json.dumps(body, allow_nan=True)


@pytest.mark.django_db
@pytest.mark.parametrize("op", OPERATIONS, ids=[op.id for op in OPERATIONS])
def test_no_server_error(op, world, settings):
    settings.DEBUG = False
    settings.STUDIO_RATE_LIMITS = _Unlimited()
    client = ApiClient(token=make_token(world["owner"]))

    @hypothesis_settings(
        max_examples=MAX_EXAMPLES, deadline=None, database=None, print_blob=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(call=calls(op, world))
    def check(call):
        path, raw = call
        savepoint = transaction.savepoint()
        try:
            if raw is None:
                response = client.get(path)
            elif isinstance(raw, dict):
                response = client.multipart(op.method, path, {
                    k: (SimpleUploadedFile(v[1] or "f", v[2]) if isinstance(v, tuple) else v)
                    for k, v in raw.items()})
            else:
                response = client.send(op.method, path, raw=raw.encode("utf-8", "surrogatepass"))
        finally:
            transaction.savepoint_rollback(savepoint)
        assert response.status_code in ALLOWED, (path, raw and str(raw)[:300], response.data)
        if response.status_code >= 400:
            assert isinstance(response.data, dict) and isinstance(response.data["detail"], str)

    check()
