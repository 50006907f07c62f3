"""The OpenAPI document is valid and complete, and the docs page loads nothing from
outside the site."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from openapi_spec_validator import validate

from apps.api.main import api
from tests.apps.api.conftest import API

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema(db):
    response = Client().get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_document_validates_as_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)  # raises on any structural error (bad refs, missing fields)


def test_every_operation_has_responses_an_id_and_errors(schema):
    ids = []
    for path, operations in schema["paths"].items():
        assert path.startswith(f"{API}/")
        for method, op in operations.items():
            assert method in METHODS
            ids.append(op["operationId"])
            codes = set(op["responses"])
            assert any(c.startswith("2") for c in codes), (path, method)
            assert {"401", "404", "422"} <= codes, (path, method)
            if method != "get":
                assert {"400", "403"} <= codes, (path, method)
            assert op["security"] == [{"TokenAuth": []}, {"SessionAuth": []}]
    assert len(ids) == len(set(ids)), "operation ids must be unique"


def test_every_json_body_refuses_unknown_fields(schema):
    """Each request body derives from ``schemas.In`` (unknown fields and loose types are
    refused), which the document shows as ``additionalProperties: false``."""
    components = schema["components"]["schemas"]
    bodies = [(path, method, content["schema"]["$ref"].rsplit("/", 1)[-1])
              for path, operations in schema["paths"].items()
              for method, op in operations.items()
              for kind, content in op.get("requestBody", {}).get("content", {}).items()
              if kind == "application/json"]
    assert len(bodies) >= 10
    loose = [b for b in bodies if components[b[2]].get("additionalProperties") is not False]
    assert loose == []


def test_both_ways_in_are_described(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    assert schemes["SessionAuth"]["in"] == "cookie"


def test_no_schema_offers_the_teacher_key_in_an_answer(schema):
    components = schema["components"]["schemas"]
    for name, component in components.items():
        if name.endswith("Out"):
            assert "api_key" not in component.get("properties", {}), name
    for name in ("TeacherOut", "TeacherUpdateOut"):
        assert "has_api_key" in components[name]["properties"]
    assert "api_key" in components["TeacherIn"]["properties"]  # write-only: in, never out


def test_the_schema_matches_the_api_object(schema, settings):
    assert schema["info"]["title"] == api.title and schema["info"]["version"] == "1"


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.I)


def test_docs_page_loads_only_local_assets(db):
    response = Client().get(f"{API}/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "http://" not in html and "https://" not in html
    assets = re.findall(r"""(?:src|href)="([^"]+)\"""", html)
    assert {"/static/ninja/swagger-ui-bundle.js", "/static/ninja/swagger-ui.css"} <= set(assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not a static file"
    # Swagger UI would otherwise fetch a validity badge from validator.swagger.io
    assert '"validatorUrl": null' in html


def test_docs_page_has_no_inline_code(db):
    """The site's CSP (script-src 'self') allows no inline script: the page's settings
    travel in a JSON script tag, read by the package's own init script."""
    response = Client().get(f"{API}/docs")
    html = response.content.decode()
    for attrs, _body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
        assert "src=" in attrs or 'type="application/json"' in attrs
    assert "script-src 'self'" in response["Content-Security-Policy"]
