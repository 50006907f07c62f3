"""Bodies and values that must be refused with a 400 or 422 (never a 500) and save nothing.
Run under PostgreSQL too (``DATABASE_URL``): NUL characters and out-of-range numbers are
refused there by the database, so the API must refuse them first."""

import pytest

from apps.accounts.models import Team
from apps.curricula.models import Curriculum
from apps.projects.models import Example
from apps.prompts.models import TeacherConfig
from apps.runs.models import Run
from tests.apps.api.operations import BY_ID, OPERATIONS, call

pytestmark = pytest.mark.django_db
WRITES = [op for op in OPERATIONS if op.writes and op.body]
RAW = [
    ("not json", 400), ("{", 400), ("[]", 422), ("null", 422), ("1", 422), ('"x"', 422),
    ('{"a": NaN}', 400), ('{"a": Infinity}', 400), ('{"a": "\\u0000"}', 400),
    ("[" * 50_000 + "]" * 50_000, 400), ("1" + "0" * 5000, 400), (b"\xff\xfe\x00", 400),
]


DEEP: list = []
for _ in range(40):
    DEEP = [DEEP]


def _counts():
    return [m.objects.count() for m in (Example, TeacherConfig, Curriculum, Run, Team)]


@pytest.mark.parametrize("raw, status", RAW, ids=[str(i) for i in range(len(RAW))])
@pytest.mark.parametrize("op", WRITES, ids=[op.id for op in WRITES])
def test_bodies_that_are_not_json_objects(op, world, api_as, raw, status):
    before = _counts()
    body = raw if isinstance(raw, bytes) else raw.encode()
    response = api_as(world["editor"]).send(op.method, op.path(world), raw=body)
    assert response.status_code == status, response.data
    assert isinstance(response.data["detail"], str)
    assert _counts() == before


def test_a_body_over_the_upload_limit_is_400(world, api_as, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    row = {"prompt": "x" * 2000, "answer": "4", "skills": ["add"], "level": 1}
    response = api_as(world["editor"]).post(f"/projects/{world['project'].pk}/examples",
                                            {"examples": [row]})
    assert response.status_code == 400
    assert Example.objects.count() == 3


@pytest.mark.parametrize("op_id, change", [
    ("example_bulk_create", {"examples": [{"prompt": "1", "answer": "1", "skills": ["add"],
                                           "level": 1, "meta": {"a\u0000": 1}}]}),
    ("example_bulk_create", {"examples": [{"prompt": "1", "answer": "1", "skills": ["add"],
                                           "level": 10**30}]}),
    ("example_bulk_create", {"examples": [{"prompt": "1", "answer": "1", "skills": ["add"],
                                           "level": 1, "meta": {"d": DEEP}}]}),
    ("curriculum_new", {"name": "c", "strategy": "stat_sel", "params": {"k": 10**400}}),
    ("curriculum_new", {"name": "c", "strategy": "stat_sel", "params": {"k": 1e308}}),
    ("curriculum_new", {"name": "c", "strategy": "stat_sel", "params": {"k": True}}),
    ("curriculum_new", {"name": "c" * 101, "strategy": "uniform"}),
    ("teacher_create", {"name": "t", "timeout_s": 1e308}),
    ("teacher_create", {"name": "t", "concurrency": 2**63}),
    ("teacher_create", {"name": "t", "kind": "openai", "base_url": "https://x/" + "a" * 600,
                        "model": "m"}),
    ("run_launch", {"preset": "tiny", "teacher_config": 1, "curriculum": 1, "lr": "0.1"}),
    ("run_launch", {"preset": "tiny", "teacher_config": 1, "curriculum": 1,
                    "eval_size": 10**30}),
    ("run_launch", {"preset": "tiny", "teacher_config": 1, "curriculum": 1,
                    "max_length": 2**40}),
    ("prompt_version_new", {"template": "{{ question }}" * 5000}),
    ("prompt_version_new", {"template": "ok {{ question }}", "note": "n" * 201}),
])
def test_values_beyond_every_column(op_id, change, world, api_as):
    op = BY_ID[op_id]
    before = _counts()
    response = call(api_as(world["editor"]), op, world, body=change)
    assert response.status_code in (400, 422), response.data
    assert response.data["detail"]
    assert _counts() == before


@pytest.mark.parametrize("path", ["/projects/0", "/projects/-1", f"/projects/{2**63}",
                                  "/projects/99999999999999999999", "/projects/abc",
                                  "/projects/%C2%B2", "/projects/1%00", f"/runs/{2**63 - 1}",
                                  "/runs/1.5/rounds"])
def test_bad_path_ids(path, world, api_as):
    response = api_as(world["owner"]).get(path)
    assert response.status_code in (404, 422)


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.form], ids=lambda op: op.id)
def test_every_multipart_operation_refuses_an_unknown_field(op, world, api_as):
    """As a JSON body's unknown field, an unknown form field is a 422 naming it, and
    nothing is saved (a misspelt option must not fall back to its default in silence)."""
    before = _counts()
    client = api_as(world["owner"])
    response = client.multipart(op.method, op.path(world), {**op.form(world), "typo": "1"})
    assert response.status_code == 422, response.data
    assert response.data["errors"] == {"typo": ["Extra inputs are not permitted"]}
    assert _counts() == before
