"""Fuzz every page: each view with hostile values in its form fields, query parameters and
path ids must answer below 500.

The table ``ENDPOINTS`` names every view of the URL resolver (a test checks that none is
left out) with the fields its forms read and the query parameters it reads. Each example
starts from valid input and replaces some fields with values from ``HOSTILE``: NUL
characters, Unicode digits, numbers beyond every column, long text, JSON nested deep, NaN;
a JSONL upload gets rows built the same way. Every example runs in a savepoint that is
rolled back, so one example's writes (or a PostgreSQL error that aborts the transaction)
never reach the next one. Server errors come back as status 500
(``raise_request_exception=False``) with DEBUG off, as in production.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.accounts.forms import ApiTokenForm
from apps.accounts.services import api_token_create
from apps.curricula.selectors import strategy_choices, strategy_schema
from apps.projects.creation import upload_store
from apps.projects.forms import (
    ExampleImportConfirmForm,
    ExampleImportForm,
    FamilyProjectForm,
    JsonlConfirmForm,
    JsonlUploadForm,
)
from apps.projects.models import ImportJob
from apps.prompts.forms import PromptNewForm, PromptVersionForm, TeacherForm, TryForm
from apps.runs.forms import RunLaunchForm
from apps.runs.models import RunStatus
from apps.sharing.services import share_link_create
from tests.factories import (
    CurriculumFactory,
    ExampleFactory,
    LevelStatFactory,
    RoundFactory,
    RunFactory,
    SkillFactory,
    SkillProposalFactory,
    SkillStatFactory,
    TeacherConfigFactory,
    TeacherPromptFactory,
    TeacherPromptVersionFactory,
    UserFactory,
)

pytestmark = pytest.mark.slow  # about 30 s in all; part of the default run

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))  # more for a longer hunt
HUGE = "99999999999999999999"

HOSTILE = [
    "", " ", "\x00", "a\x00b", "\x00" * 3, "²", "١٢٣", "٣", "½", "-1", "0", "1", "+1", "1.5",
    "2147483647", "2147483648", "-2147483649", "9223372036854775808", HUGE, "9" * 400,
    "9" * 5000, "1e400", "-1e400", "nan", "inf", "NaN", "x" * 1001, "é" * 300, "\u2028",
    "\ufeff", "<script>alert(1)</script>", "' OR 1=1 --", "{{" * 300, "{{ question }}",
    "{% if x %}", "[" * 3000 + "]" * 3000, '{"a": ' * 40 + "1" + "}" * 40, '{"a": NaN}',
    '{"a": "\\u0000"}', '{"levels": [1e400]}', "null", "[]", "{}", "true", "/etc/passwd",
    "../../../x", "/" + "m" * 300, "%00", "0x10", "\t\n", "on", "off",
]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**80, max_value=2**80)
    | st.floats() | st.text(max_size=8) | st.sampled_from(["\x00", "²", "x" * 300]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=8,
)


def _json_text(value) -> str:
    return json.dumps(value, allow_nan=True)


JSON_TEXT = st.one_of(
    JSON_VALUES.map(_json_text),
    st.integers(min_value=1, max_value=5000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=1, max_value=3000).map(lambda n: '{"a":' * n + "1" + "}" * n),
)
VALUES = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=30),
    st.integers(min_value=-2**70, max_value=2**70).map(str),
    JSON_TEXT,
)

GOOD_ROW = {"id": "a1", "prompt": "2+2=", "answer": "4", "skills": ["add"], "level": 1}
ROW_KEYS = [*GOOD_ROW, "split", "note"]


@st.composite
def jsonl_text(draw) -> str:
    """A JSONL file: valid rows, rows with one field replaced, raw hostile lines."""
    lines = []
    for i in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["good", "field", "raw"]))
        row = {**GOOD_ROW, "id": f"a{i}"}
        if kind == "raw":
            lines.append(draw(st.one_of(st.sampled_from(HOSTILE), JSON_TEXT)))
            continue
        if kind == "field":
            key = draw(st.sampled_from(ROW_KEYS + ["x\x00"]))
            row[key] = draw(st.one_of(JSON_VALUES, st.sampled_from(
                [2**31, -1, 10**30, "x" * 201, ["s" * 101], ["a\x00"], "\x00", float("nan")])))
        lines.append(json.dumps(row, allow_nan=True))
    return "\n".join(lines) + "\n"


# --- the world every example starts from ----------------------------------------------------

@pytest.fixture
def world(owner, team_a, project_a, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.DEBUG = False
    settings.STUDIO_MODEL_ROOTS = [tmp_path / "models"]
    settings.STUDIO_RATE_LIMITS = _Unlimited()  # every example reaches the view
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    add = SkillFactory(project=project_a, name="add")
    carry = SkillFactory(project=project_a, name="carry", parent=add)
    example = ExampleFactory(project=project_a, prompt="47+38=", answer="85",
                             skills=[add, carry], level=2, split="eval")
    teacher = TeacherConfigFactory(project=project_a, name="oracle")
    curriculum = CurriculumFactory(project=project_a, name="uniform")
    CurriculumFactory(project=project_a, name="stat", strategy="stat_sel", params={"k": 3})
    prompt = TeacherPromptFactory(project=project_a, role="solve", name="solver")
    TeacherPromptVersionFactory(prompt=prompt, version=1)
    TeacherPromptVersionFactory(prompt=prompt, version=2, template="Q: {{ question }}")
    run = RunFactory(project=project_a, status=RunStatus.FAILED, rounds=3)
    for index in (0, 1):
        rnd = RoundFactory(run=run, index=index, metrics={"accuracy": 0.5, "seconds": 3.0},
                           curriculum_state={"q": {"1": 0.5}})
        SkillStatFactory(round=rnd, run=run, skill=add)
        LevelStatFactory(round=rnd, run=run, level=1)
    proposal = SkillProposalFactory(project=project_a, extraction__teacher_config=teacher)
    import_job = ImportJob.objects.create(project=project_a, token="0" * 32, total_rows=9)
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    token = api_token_create(user=owner, name="fuzz token")[0]
    pending = ExampleFactory(project=project_a, prompt="12+13=", answer="25", skills=[add],
                             level=1, origin="synthesized", review_status="pending",
                             added_at=None)
    link, share_token = share_link_create(user=owner, obj=run)
    yield {
        "owner": owner, "admin": admin, "team": team_a, "project": project_a, "skill": add,
        "other_skill": carry, "example": example, "teacher": teacher,
        "curriculum": curriculum, "prompt": prompt, "run": run, "proposal": proposal,
        "model_dir": str(tmp_path / "models" / "tiny"),
        "token": token, "import_job": import_job, "pending": pending, "link": link,
        "share_token": share_token,
    }
    cache.clear()  # rate-limit counters and the like stay out of the other tests


class _Unlimited(dict):
    """``STUDIO_RATE_LIMITS`` that lifts every scope's limit."""

    def get(self, key, default=None):
        return (10**9, 60)


# --- the table of views ---------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    """One view as the fuzz drives it: ``url`` gives the URL name and its arguments,
    ``data`` the valid input the examples start from (form fields for POST), ``query`` the
    query parameters it reads, ``user`` who signs in (None: nobody)."""

    name: str
    method: str
    args: Callable[[dict], list] = lambda w: []
    data: Callable[[dict], dict] = lambda w: {}
    query: tuple[str, ...] = ()
    query_base: tuple[tuple[str, str], ...] = ()  # valid query parameters to start from
    user: str | None = "owner"
    extra: tuple[str, ...] = ()  # posted names no form declares (buttons, raw team ids)
    answers_503: bool = False  # a health check: 503 is its answer when a part is down

    def fields(self, world) -> list[str]:
        return sorted({*self.data(world), *self.extra})

    @property
    def id(self) -> str:
        return f"{self.name}:{self.method}"


def _project(w):
    return [w["project"].pk]


def _skill(w):
    return [w["project"].pk, w["skill"].pk]


def _prompt(w):
    return [w["project"].pk, w["prompt"].pk]


def _form_fields(form_class, **values) -> dict:
    """Every field of ``form_class`` with ``values`` (others empty)."""
    return {name: values.get(name, "") for name in form_class.base_fields} | values


def _family(w):
    return _form_fields(FamilyProjectForm, team=w["team"].pk, name="Fuzz family",
                        task_family="arithmetic", train_size="3", eval_size="1", seed="1",
                        require_review="on", task_options='{"levels": [1, 2]}')


def _jsonl(w):
    return _form_fields(JsonlUploadForm, team=w["team"].pk, name="Fuzz file",
                        answer_mode="exact", eval_share="0.2", file=None)


def _confirm(w):
    return _form_fields(JsonlConfirmForm, team=w["team"].pk, name="Fuzz file",
                        answer_mode="exact", eval_share="0.2", token=None)


def _teacher(w):
    return _form_fields(TeacherForm, name="fuzz teacher", kind="oracle", timeout_s="5",
                        max_retries="1", concurrency="1", check_connection="on")


def _params(w):
    names = {f"params-{p['name']}" for s, _ in strategy_choices()
             for p in strategy_schema(strategy=s)}
    return dict.fromkeys(sorted(names), "")


def _curriculum(w):
    return {"name": "fuzz curriculum", "strategy": "stat_sel", "description": "",
            **_params(w), "params-k": "3"}


def _launch(w):
    return _form_fields(RunLaunchForm, name="", preset="tiny", model_dir="", max_length="64",
                        teacher_config=w["teacher"].pk, curriculum=w["curriculum"].pk,
                        rounds="2", steps_per_round="20", batch_size="16", lr="0.001",
                        eval_size="40", seed="7", device="cpu")


def _try(w):
    return _form_fields(TryForm, template="Q: {{ question }}", example=w["example"].pk,
                        prediction="85", teacher=w["teacher"].pk)


SORTS = ("sort",)
COMPARE_QUERY = ("run", "strategy", "status", "group", "baseline")
REVIEW_QUERY = ("run", "round", "skill", "level", "origin", "status", "agreement", "reviewer",
                "q", "after", "before", "focus", "view")


def _comparison(w):
    from apps.compare.models import Comparison

    return Comparison.objects.get_or_create(
        project=w["project"], name="fuzz saved", defaults={"run_ids": [w["run"].pk]})[0]
ENDPOINTS = [
    Endpoint("accounts:login", "GET", query=("next",), user=None),
    Endpoint("accounts:login", "POST", data=lambda w: {"username": "alice",
                                                       "password": "password"},
             query=("next",), user=None),
    Endpoint("accounts:logout", "POST", query=("next",)),
    Endpoint("accounts:token-list", "GET"),
    Endpoint("accounts:token-new", "POST", data=lambda w: _form_fields(
        ApiTokenForm, name="fuzz", expires_in="30")),
    Endpoint("accounts:token-revoke", "POST", lambda w: [w["token"].pk]),
    Endpoint("core:home", "GET"),
    Endpoint("core:project-detail", "GET", _project),
    Endpoint("projects:project-list", "GET"),
    Endpoint("projects:project-new", "GET", query=("team",)),
    Endpoint("projects:project-new", "POST", data=_family, query=("team",)),
    Endpoint("projects:jsonl-preview", "POST", data=_jsonl),
    Endpoint("projects:jsonl-confirm", "POST", data=_confirm),
    Endpoint("projects:jsonl-cancel", "POST", data=lambda w: {"token": None}),
    Endpoint("projects:skill-list", "GET", _project),
    Endpoint("projects:example-import", "GET", _project),
    Endpoint("projects:example-import", "POST", _project, data=lambda w: _form_fields(
        ExampleImportForm, file=None, format="auto", default_skill="add", default_level="1")),
    Endpoint("projects:example-import-confirm", "POST", _project, data=lambda w: _form_fields(
        ExampleImportConfirmForm, token=None, kind="jsonl", format="auto",
        default_skill="add", default_level="1")),
    Endpoint("projects:example-import-cancel", "POST", _project,
             data=lambda w: {"token": None}),
    Endpoint("projects:import-job", "GET", lambda w: [w["project"].pk, w["import_job"].pk]),
    Endpoint("projects:project-export", "GET", _project, query=("format",)),
    Endpoint("projects:skill-new", "POST", _project,
             data=lambda w: {"name": "fuzz skill", "description": "d",
                             "parent": w["skill"].pk}),
    Endpoint("projects:skill-detail", "GET", _skill),
    Endpoint("projects:skill-rename", "POST", _skill, data=lambda w: {"name": "renamed"}),
    Endpoint("projects:skill-move", "POST", lambda w: [w["project"].pk, w["other_skill"].pk],
             data=lambda w: {"parent": w["skill"].pk}),
    Endpoint("projects:skill-merge", "POST", _skill,
             data=lambda w: {"target": w["other_skill"].pk}),
    Endpoint("projects:skill-delete", "GET", _skill),
    Endpoint("projects:skill-delete", "POST", _skill),
    Endpoint("projects:skill-extract", "POST", _project,
             data=lambda w: {"teacher": w["teacher"].pk, "sample_size": "5"}),
    Endpoint("projects:extraction-detail", "GET",
             lambda w: [w["project"].pk, w["proposal"].extraction_id]),
    Endpoint("projects:proposal-accept", "POST",
             lambda w: [w["project"].pk, w["proposal"].pk]),
    Endpoint("projects:proposal-reject", "POST",
             lambda w: [w["project"].pk, w["proposal"].pk]),
    Endpoint("prompts:teacher-list", "GET", _project),
    Endpoint("prompts:teacher-new", "POST", _project, data=_teacher, extra=("action",)),
    Endpoint("prompts:teacher-edit", "GET", lambda w: [w["project"].pk, w["teacher"].pk]),
    Endpoint("prompts:teacher-edit", "POST", lambda w: [w["project"].pk, w["teacher"].pk],
             data=lambda w: {**_teacher(w), "clear_api_key": ""}, extra=("action",)),
    Endpoint("prompts:prompt-list", "GET", _project),
    Endpoint("prompts:prompt-defaults", "POST", _project),
    Endpoint("prompts:prompt-new", "GET", _project, query=("role",)),
    Endpoint("prompts:prompt-new", "POST", _project, data=lambda w: _form_fields(
        PromptNewForm, role="solve", name="fuzz prompt", template="Q: {{ question }}")),
    Endpoint("prompts:prompt-detail", "GET", _prompt, query=("from",)),
    Endpoint("prompts:prompt-detail", "POST", _prompt, query=("from",),
             data=lambda w: _form_fields(PromptVersionForm, template="A: {{ question }}")),
    Endpoint("prompts:prompt-preview", "POST", _prompt,
             data=lambda w: {k: v for k, v in _try(w).items() if k != "teacher"}),
    Endpoint("prompts:prompt-try", "POST", _prompt, data=_try),
    Endpoint("prompts:prompt-diff", "GET", _prompt, query=("a", "b"),
             query_base=(("a", "1"), ("b", "2"))),
    Endpoint("curricula:curriculum-list", "GET", _project),
    Endpoint("curricula:curriculum-new", "GET", _project, query=("strategy",)),
    Endpoint("curricula:curriculum-new", "POST", _project, data=_curriculum),
    Endpoint("curricula:curriculum-params", "GET", _project, query=("strategy",)),
    Endpoint("curricula:curriculum-detail", "GET", lambda w: [w["curriculum"].pk]),
    Endpoint("curricula:curriculum-detail", "POST", lambda w: [w["curriculum"].pk],
             data=_curriculum),
    Endpoint("runs:run-list", "GET", _project, query=("page",)),
    Endpoint("runs:run-new", "GET", _project),
    Endpoint("runs:run-new", "POST", _project, data=_launch),
    Endpoint("runs:run-detail", "GET", lambda w: [w["run"].pk], query=SORTS),
    Endpoint("runs:run-live", "GET", lambda w: [w["run"].pk], query=SORTS),
    Endpoint("runs:run-action", "POST", lambda w: [w["run"].pk, "retry"]),
    Endpoint("runs:run-export", "GET", lambda w: [w["run"].pk, "metrics.csv"],
             query=("format",)),
    Endpoint("compare:comparison-new", "GET", _project, query=COMPARE_QUERY,
             query_base=(("run", "1"),)),
    Endpoint("compare:selection-export", "GET", lambda w: [w["project"].pk, "csv"],
             query=COMPARE_QUERY, query_base=(("strategy", "uniform"),)),
    Endpoint("compare:comparison-list", "GET", _project),
    Endpoint("compare:comparison-create", "POST", _project, data=lambda w: {
        "name": "fuzz comparison", "run": w["run"].pk, "group": "strategy", "baseline": "",
        "strategy": "", "status": ""}),
    Endpoint("compare:comparison-detail", "GET", lambda w: [_comparison(w).pk],
             query=("group", "baseline")),
    Endpoint("compare:comparison-delete", "POST", lambda w: [_comparison(w).pk]),
    Endpoint("compare:comparison-export", "GET", lambda w: [_comparison(w).pk, "html"],
             query=("group", "baseline")),
    # The admin: the lists of every model (search, sort, page, filters) and the two forms
    # with JSON fields that people type (curriculum parameters, task options).
    # members, share links, health
    Endpoint("accounts:team-list", "GET"),
    Endpoint("accounts:team-create", "POST", data=lambda w: {"name": "Fuzz team"}),
    Endpoint("accounts:member-list", "GET", lambda w: [w["team"].pk]),
    Endpoint("accounts:member-add", "POST", lambda w: [w["team"].pk],
             data=lambda w: {"who": "nobody@example.com", "role": "viewer"}),
    Endpoint("accounts:member-role", "POST", lambda w: [w["team"].pk, w["owner"].pk],
             data=lambda w: {"role": "editor"}),
    Endpoint("accounts:member-remove", "POST", lambda w: [w["team"].pk, w["owner"].pk]),
    Endpoint("sharing:link-new", "POST", data=lambda w: {
        "kind": "run", "object_id": w["run"].pk, "expires_in": "7", "show_prompts": ""}),
    Endpoint("sharing:link-list", "GET", lambda w: [w["team"].pk]),
    Endpoint("sharing:link-revoke", "POST", lambda w: [w["link"].pk]),
    Endpoint("sharing:shared-view", "GET", lambda w: [w["share_token"]], user=None),
    Endpoint("sharing:shared-failures", "GET", lambda w: [w["share_token"]],
             query=("round", "skill"), query_base=(("round", "1"), ("skill", "add")),
             user=None),
    Endpoint("core:health", "GET", user=None, answers_503=True),
    Endpoint("core:health-workers", "GET", user=None, answers_503=True),
    # the run dashboard and review
    Endpoint("runs:run-failures", "GET", lambda w: [w["run"].pk], query=("round", "skill"),
             query_base=(("round", "1"), ("skill", "add"))),
    Endpoint("projects:review-settings", "POST", _project,
             data=lambda w: {"approved_only": "on"}, extra=("next",)),
    Endpoint("review:queue", "GET", _project, query=REVIEW_QUERY),
    Endpoint("review:facets", "GET", _project, query=REVIEW_QUERY),
    Endpoint("review:pending-count", "GET", _project),
    Endpoint("review:example-list", "GET", _project, query=REVIEW_QUERY),
    Endpoint("review:example-detail", "GET", lambda w: [w["project"].pk, w["pending"].pk]),
    Endpoint("review:decide", "POST", lambda w: [w["project"].pk, w["pending"].pk],
             data=lambda w: {"action": "edit", "version": "1", "reason": "other",
                             "note": "x", "prompt": "12+14=", "answer": "26",
                             "skills": "add", "level": "1", "add_to_dataset": "on"},
             extra=("next",)),
    Endpoint("review:undo", "POST", _project),
    Endpoint("review:bulk", "GET", _project, query=REVIEW_QUERY,
             query_base=(("action", "accept"),)),
    Endpoint("review:bulk", "POST", _project, data=lambda w: {
        "action": "reject", "reason": "other", "note": "bulk", "add_to_dataset": "",
        "expected": "1", "status": "pending"}),
    Endpoint("admin:changelist", "GET", query=("q", "o", "p", "all", "level", "status"),
             user="admin"),
    Endpoint("admin:curricula_curriculum_change", "POST", lambda w: [w["curriculum"].pk],
             data=lambda w: {"project": w["project"].pk, "name": "c", "strategy": "uniform",
                             "params": "{}", "description": ""}, user="admin"),
    Endpoint("admin:projects_project_change", "POST", lambda w: [w["project"].pk],
             data=lambda w: {"team": w["team"].pk, "name": "p", "task_family": "arithmetic",
                             "task_options": "{}", "description": "",
                             "require_review": "on"}, user="admin"),
]
EXPORTS = ["metrics.csv", "metrics.json", "plans.jsonl", "synthesized.jsonl", "student.tar.gz"]
ACTIONS = ["pause", "resume", "cancel", "retry", "delete", "x-y", "a" * 300, "0"]  # a slug


@dataclass
class Request:
    url: str
    method: str
    data: dict = field(default_factory=dict)


@st.composite
def requests(draw, endpoint: Endpoint, world: dict) -> Request:
    """One request to ``endpoint``: valid input with some fields, query parameters and path
    ids replaced by hostile values."""
    args = list(endpoint.args(world))
    if endpoint.name == "runs:run-action":
        args[1] = draw(st.sampled_from(ACTIONS))
    if endpoint.name == "runs:run-export":
        args[1] = draw(st.sampled_from([*EXPORTS, "x", "a" * 300, "%00"]))
    if args and draw(st.integers(min_value=0, max_value=7)) == 0:
        position = draw(st.integers(min_value=0, max_value=len(args) - 1))
        if isinstance(args[position], int):
            args[position] = draw(st.sampled_from([0, 2**31, 2**63, int(HUGE)]))
    if endpoint.name == "admin:changelist":
        from django.contrib import admin

        model = draw(st.sampled_from(sorted(admin.site._registry, key=str)))
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    else:
        url = reverse(endpoint.name, args=args)
    if endpoint.query:
        query = dict(endpoint.query_base)
        query.update(draw(st.dictionaries(st.sampled_from(endpoint.query), VALUES, max_size=3)))
        if query:
            from urllib.parse import urlencode

            url += "?" + urlencode(query)
    data = dict(endpoint.data(world))
    fields = endpoint.fields(world)
    if fields:
        data.update(draw(st.dictionaries(st.sampled_from(fields), VALUES,
                                         max_size=min(4, len(fields)))))
    if "file" in data:
        content = data["file"] if isinstance(data["file"], str) and data["file"] else None
        text = draw(jsonl_text()) if content is None or draw(st.booleans()) else content
        data["file"] = SimpleUploadedFile("fuzz.jsonl", text.encode("utf-8", "replace"),
                                          content_type="application/jsonl")
    if "token" in data and data["token"] is None:
        data["token"] = draw(jsonl_text())  # stored at request time, replaced by its token
    return Request(url, endpoint.method, data)


def _send(client: Client, request: Request):
    if request.method == "GET":
        return client.get(request.url)
    data = dict(request.data)
    if isinstance(data.get("token"), str) and data["token"].endswith("\n"):
        raw = data["token"].encode("utf-8", "replace")
        data["token"] = upload_store(data=raw)
        imports_dir = Path(settings.DATA_DIR) / "imports"  # the import page's uploads too
        imports_dir.mkdir(parents=True, exist_ok=True)
        (imports_dir / f"{data['token']}.upload").write_bytes(raw)
    if "file" in data:
        data["file"].seek(0)
    return client.post(request.url, {k: v for k, v in data.items() if v is not None})


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.id for e in ENDPOINTS])
def test_no_server_error(endpoint, world):
    client = Client(raise_request_exception=False)

    @hypothesis_settings(
        max_examples=MAX_EXAMPLES, deadline=None, database=None, print_blob=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(request=requests(endpoint, world))
    def check(request):
        savepoint = transaction.savepoint()
        try:
            if endpoint.user:
                client.force_login(world[endpoint.user])
            response = _send(client, request)
            if getattr(response, "streaming", False):  # an export: run its stream through
                b"".join(response.streaming_content)
        finally:
            transaction.savepoint_rollback(savepoint)
        allowed = {503} if endpoint.answers_503 else set()
        assert response.status_code < 500 or response.status_code in allowed, \
            (request.url, request.data)

    check()


def _named_patterns(patterns, namespace="") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _named_patterns(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_view_is_fuzzed():
    """A view added to a urls.py without a row in ``ENDPOINTS`` fails here. The API's
    operations have their own fuzz, with JSON bodies (tests/apps/api/test_fuzz_api.py)."""
    named = {name for name in _named_patterns(get_resolver().url_patterns)
             if not name.startswith(("admin:", "api:"))}
    assert named - {e.name for e in ENDPOINTS} == set()


NUL_ENDPOINTS = [e for e in ENDPOINTS
                 if e.method == "GET" and e.query and e.name != "admin:changelist"]


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", NUL_ENDPOINTS, ids=[e.id for e in NUL_ENDPOINTS])
def test_a_nul_in_any_query_parameter_is_no_server_error(endpoint, world):
    """PostgreSQL refuses NUL in a text parameter: every query parameter a page reads,
    one at a time, carries one (the fuzz above finds these only by chance)."""
    from urllib.parse import urlencode

    client = Client(raise_request_exception=False)
    if endpoint.user:
        client.force_login(world[endpoint.user])
    url = reverse(endpoint.name, args=list(endpoint.args(world)))
    for name in endpoint.query:
        query = {**dict(endpoint.query_base), name: "a\x00b"}
        savepoint = transaction.savepoint()
        try:
            response = _send(client, Request(url=f"{url}?{urlencode(query)}", method="GET",
                                             data={}))
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)
        finally:
            transaction.savepoint_rollback(savepoint)
        allowed = {503} if endpoint.answers_503 else set()
        assert response.status_code < 500 or response.status_code in allowed, (name, url)
