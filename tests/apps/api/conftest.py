"""Fixtures of the API tests: a project with something of every resource, a token for each
person of the access tests (owner, editor, viewer, stranger), and a client that checks
every answer for the teacher's API key."""

from __future__ import annotations

import json

import pytest
from django.test import Client

TEACHER_KEY = "sk-test-TEACHER-KEY-must-never-leave-0123456789"
API = "/api/v1"


class ApiClient:
    """Calls the API as one person, by token (``token``) or by session (``user``).

    Every answer is checked: JSON when it has a body, and never the teacher's key."""

    def __init__(self, *, token: str | None = None, user=None, csrf: bool = False):
        self.client = Client(enforce_csrf_checks=csrf, raise_request_exception=False)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        if user is not None:
            self.client.force_login(user)

    def _check(self, response):
        if getattr(response, "streaming", False):  # exports: read the whole stream here
            response.body = b"".join(response.streaming_content)
        else:
            response.body = response.content
        text = response.body.decode("utf-8", "replace")
        assert TEACHER_KEY not in text
        assert response.status_code < 500, text[:2000]
        if response.body and response["Content-Type"].split(";")[0] == "application/json":
            response.data = json.loads(text)
        else:
            response.data = None
        return response

    def get(self, path: str, params: dict | None = None, **headers):
        return self._check(self.client.get(API + path, params or {},
                                           headers={**self.headers, **headers}))

    def send(self, method: str, path: str, body=None, *, raw: bytes | str | None = None,
             **headers):
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        call = getattr(self.client, method.lower())
        return self._check(call(API + path, data=data, content_type="application/json",
                                headers={**self.headers, **headers}))

    def multipart(self, method: str, path: str, data: dict, **headers):
        """A multipart/form-data call (a file upload)."""
        call = getattr(self.client, method.lower())
        return self._check(call(API + path, data=data, headers={**self.headers, **headers}))

    def delete(self, path: str, **headers):
        return self._check(self.client.delete(API + path, headers={**self.headers, **headers}))

    def post(self, path: str, body=None, **kw):
        return self.send("POST", path, body, **kw)

    def patch(self, path: str, body=None, **kw):
        return self.send("PATCH", path, body, **kw)


def make_token(user, name: str = "test") -> str:
    from apps.accounts.services import api_token_create

    return api_token_create(user=user, name=name)[1]


@pytest.fixture
def api_as():
    """``api_as(user)``: a token client; ``api_as(user, session=True)`` a session one."""

    def build(user, *, session: bool = False, csrf: bool = False):
        if session:
            return ApiClient(user=user, csrf=csrf)
        return ApiClient(token=make_token(user))

    return build


def _checked_upload(user, project) -> str:
    """An upload checked for ``project`` and kept for "import" or "cancel"."""
    from apps.projects import imports
    from tests.apps.api.operations import CHAT_JSONL

    token, _check, _options = imports.import_upload(
        user=user, project=project, chunks=[CHAT_JSONL], filename="chat.jsonl",
        default_skill="add")
    return token


@pytest.fixture
def world(owner, editor, viewer, stranger, team_a, project_a, project_b, settings, tmp_path):
    """Project A with skills (a tree), examples, a teacher with a stored key, a curriculum,
    a prompt with two versions and a failed run with two rounds; project B of the stranger."""
    from apps.projects.models import ImportJob
    from apps.runs.models import RunStatus
    from tests.factories import (
        CurriculumFactory,
        ExampleFactory,
        LevelStatFactory,
        RoundFactory,
        RunFactory,
        SkillFactory,
        SkillStatFactory,
        TeacherConfigFactory,
        TeacherPromptFactory,
        TeacherPromptVersionFactory,
    )

    settings.DATA_DIR = tmp_path
    settings.STUDIO_MODEL_ROOTS = [tmp_path / "models"]
    settings.STUDIO_ARTIFACTS_DIR = tmp_path / "artifacts"
    add = SkillFactory(project=project_a, name="add")
    carry = SkillFactory(project=project_a, name="carry", parent=add)
    examples = [
        ExampleFactory(project=project_a, prompt="1+1=", answer="2", skills=[add], level=1),
        ExampleFactory(project=project_a, prompt="47+38=", answer="85", skills=[add, carry],
                       level=2, split="eval"),
        ExampleFactory(project=project_a, prompt="9+9=", answer="18", skills=[carry], level=2,
                       origin="synthesized", review_status="pending"),
    ]
    teacher = TeacherConfigFactory(project=project_a, name="gpt", kind="openai",
                                   base_url="https://api.example.com/v1", model="m",
                                   api_key=TEACHER_KEY)
    oracle = TeacherConfigFactory(project=project_a, name="oracle")
    curriculum = CurriculumFactory(project=project_a, name="uniform")
    prompt = TeacherPromptFactory(project=project_a, role="solve", name="solver")
    TeacherPromptVersionFactory(prompt=prompt, version=1, template="Solve: {{ question }}")
    TeacherPromptVersionFactory(prompt=prompt, version=2, template="Q: {{ question }}")
    run = RunFactory(project=project_a, status=RunStatus.FAILED, rounds=2, teacher_config=teacher,
                     curriculum=curriculum, error="boom", spec={"seed": 0})
    for index in (0, 1):
        rnd = RoundFactory(run=run, index=index, metrics={"accuracy": 0.4 + index / 10},
                           plan={"entries": [{"skill": "add", "level": 1, "count": 4}]})
        SkillStatFactory(round=rnd, run=run, skill=add, failed=3 - index)
        SkillStatFactory(round=rnd, run=run, skill=carry)
        LevelStatFactory(round=rnd, run=run, level=1)
        LevelStatFactory(round=rnd, run=run, level=2)
    checkpoint = tmp_path / "artifacts" / "runs" / f"run-{run.pk}" / "checkpoints" / "round-001"
    checkpoint.mkdir(parents=True)
    (checkpoint / "config.json").write_text('{"model_type": "llama"}')
    (checkpoint / "state.json").write_text('{"round": 1, "complete": true}')
    rnd.checkpoint_path = str(checkpoint.relative_to(tmp_path / "artifacts"))
    rnd.save(update_fields=["checkpoint_path"])
    import_job = ImportJob.objects.create(project=project_a, token="0" * 32, status="succeeded",
                                          total_rows=3, done_rows=3)
    b_teacher = TeacherConfigFactory(project=project_b, name="b-oracle")
    b_curriculum = CurriculumFactory(project=project_b, name="b-uniform")
    b_prompt = TeacherPromptFactory(project=project_b, role="solve", name="b-solver")
    TeacherPromptVersionFactory(prompt=b_prompt, version=1)
    b_run = RunFactory(project=project_b, teacher_config=b_teacher, curriculum=b_curriculum)
    b_import_job = ImportJob.objects.create(project=project_b, token="1" * 32)
    upload = _checked_upload(owner, project_a)
    from apps.compare.models import Comparison

    comparison = Comparison.objects.create(project=project_a, name="saved", run_ids=[run.pk])
    b_comparison = Comparison.objects.create(project=project_b, name="b-saved",
                                             run_ids=[b_run.pk])
    return {
        "owner": owner, "editor": editor, "viewer": viewer, "stranger": stranger,
        "project": project_a, "skills": [add, carry], "examples": examples,
        "teacher": teacher, "oracle": oracle, "curriculum": curriculum, "prompt": prompt,
        "run": run, "import_job": import_job, "upload": upload, "comparison": comparison,
        "b": {"project": project_b, "teacher": b_teacher, "curriculum": b_curriculum,
              "prompt": b_prompt, "run": b_run, "import_job": b_import_job,
              "comparison": b_comparison},
    }
