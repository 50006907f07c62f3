"""Inputs that used to be server errors (500) are now a 400, a 404 or a form error.

One case per input that gave a 500 (on SQLite, on PostgreSQL or both): a Unicode digit
where a number is read ('²'.isdigit() is True, int('²') fails), numbers too big for the
column or the offset, JSON nested deep enough to raise RecursionError, NaN and NUL
characters that PostgreSQL refuses, names longer than their column. Run under PostgreSQL too
(``DATABASE_URL``): several of these passed on SQLite and failed only there.
"""

from __future__ import annotations

import json
import time

import pytest
from django import forms
from django.core.exceptions import BadRequest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import BaseForm
from django.http import Http404, QueryDict
from django.urls import reverse

from apps.common.db import INT32_MAX, INT32_MIN
from apps.common.forms import Form, SafeJSONField
from apps.common.params import int_param, parse_int
from apps.common.safejson import JSONInputError, json_loads_safe, json_problem
from apps.curricula.models import Curriculum
from apps.projects.creation import upload_store
from apps.projects.models import Example, Project, Skill
from apps.runs.models import Run, StudentSpec
from tests.factories import (
    CurriculumFactory,
    RunFactory,
    SkillFactory,
    TeacherConfigFactory,
    TeacherPromptFactory,
    TeacherPromptVersionFactory,
    UserFactory,
)

DEEP = "[" * 50_000 + "]" * 50_000  # RecursionError in json.loads
HUGE = "99999999999999999999"  # 20 digits: beyond a 64-bit column
GOOD_ROW = {"id": "a1", "prompt": "2+2=", "answer": "4", "skills": ["add"], "level": 1}


def row(**fields) -> str:
    return json.dumps({**GOOD_ROW, **fields})


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def world(owner, team_a, project_a, data_dir):
    skill = SkillFactory(project=project_a, name="add")
    prompt = TeacherPromptFactory(project=project_a, role="solve", name="solver")
    TeacherPromptVersionFactory(prompt=prompt, version=1)
    return {
        "team": team_a, "project": project_a, "skill": skill, "prompt": prompt,
        "teacher": TeacherConfigFactory(project=project_a, name="oracle"),
        "curriculum": CurriculumFactory(project=project_a, name="uniform"),
    }


def form_errors(response) -> set[str]:
    """The fields with an error on the forms of the page ("__all__" for the others)."""
    names = set()
    for context in response.context or []:
        for value in context.flatten().values():
            form = getattr(value, "form", value)  # the admin wraps its form
            if isinstance(form, BaseForm):
                names.update(form.errors)
    return names


def assert_refused(response, *, field: str | None = None) -> None:
    """A 400 or a 404, or a 200 page with a form error (the admin's); never a server error.
    With ``field``, the error is on that field."""
    status = response.status_code
    assert status < 500, f"server error {status}"
    assert status in (400, 404) or (status == 200 and form_errors(response)), status
    if field is not None:
        assert field in form_errors(response), form_errors(response)


# --- query parameters and posted ids: unicode digits, huge numbers --------------------------

@pytest.mark.parametrize("query", ["team=²", f"team={HUGE}", "team=%00"],
                         ids=["superscript", "huge", "nul"])
def test_new_project_page_team_param(client_for, world, owner, query):
    response = client_for(owner).get(reverse("projects:project-new") + "?" + query)
    assert response.status_code == 400


@pytest.mark.parametrize("query, status", [
    ("page=²", 400), (f"page={HUGE}", 400), ("page=99999999999", 404), ("page=0", 404),
    ("page=-1", 404), ("page=%00", 400), ("page=abc", 400),
], ids=["superscript", "huge", "beyond-max-page", "zero", "negative", "nul", "text"])
def test_run_list_page_param(client_for, world, owner, query, status):
    url = reverse("runs:run-list", args=[world["project"].pk]) + "?" + query
    assert client_for(owner).get(url).status_code == status


def test_run_list_page_param_still_pages(client_for, world, owner):
    url = reverse("runs:run-list", args=[world["project"].pk])
    assert client_for(owner).get(url + "?page=2").status_code == 200
    assert client_for(owner).get(url + "?page=").status_code == 200


@pytest.mark.parametrize("value", ["²", HUGE, "%00", "x"])
def test_prompt_detail_from_param(client_for, world, owner, value):
    prompt = world["prompt"]
    url = reverse("prompts:prompt-detail", args=[prompt.project_id, prompt.pk])
    assert client_for(owner).get(f"{url}?from={value}").status_code == 400
    assert client_for(owner).get(f"{url}?from=1").status_code == 200
    assert client_for(owner).get(f"{url}?from=99").status_code == 200  # no such version: newest


FAMILY = {"name": "From a family", "task_family": "arithmetic", "train_size": "3",
          "eval_size": "1", "seed": "1", "task_options": ""}


@pytest.mark.parametrize("team", ["²", "١", HUGE], ids=["superscript", "arabic-digit", "huge"])
def test_posted_team_that_is_no_number(client_for, world, owner, team):
    client = client_for(owner)
    response = client.post(reverse("projects:project-new"), {**FAMILY, "team": team})
    assert_refused(response, field="team")
    upload = SimpleUploadedFile("x.jsonl", row().encode(), content_type="application/jsonl")
    response = client.post(reverse("projects:jsonl-preview"), {
        "team": team, "name": "j", "answer_mode": "exact", "eval_share": "0.2", "file": upload})
    assert_refused(response, field="team")
    response = client.post(reverse("projects:jsonl-confirm"), {
        "team": team, "name": "j", "answer_mode": "exact", "eval_share": "0.2",
        "token": upload_store(data=row().encode())})
    assert_refused(response, field="team")
    assert not Project.objects.filter(name__in=["From a family", "j"]).exists()


# --- JSON: deep nesting, NaN, NUL, numbers too long to read ---------------------------------

@pytest.mark.parametrize("options", [
    DEEP, "{" + '"a": {' * 40 + "}" * 41, '{"levels": [NaN]}', '{"ops": ["\\u0000"]}',
    '{"levels": [1e400]}', '{"levels": [' + "9" * 5000 + "]}",
], ids=["deep", "deeper-than-limit", "nan", "nul", "infinite", "5000-digits"])
def test_task_options_json(client_for, world, owner, options):
    response = client_for(owner).post(reverse("projects:project-new"), {
        **FAMILY, "team": world["team"].pk, "task_options": options})
    assert_refused(response, field="task_options")
    assert not Project.objects.filter(name="From a family").exists()


def _preview(client, team, text):
    upload = SimpleUploadedFile("items.jsonl", text.encode("utf-8"),
                                content_type="application/jsonl")
    return client.post(reverse("projects:jsonl-preview"), {
        "team": team.pk, "name": "From a file", "answer_mode": "exact", "eval_share": "0.2",
        "file": upload})


def _confirm(client, team, text):
    return client.post(reverse("projects:jsonl-confirm"), {
        "team": team.pk, "name": "From a file", "answer_mode": "exact", "eval_share": "0.2",
        "token": upload_store(data=text.encode("utf-8"))})


BAD_ROWS = {
    "deep-line": DEEP,
    "5000-digit-level": '{"prompt": "a", "answer": "1", "skills": ["s"], "level": '
                        + "9" * 5000 + "}",
    "nul-prompt": row(prompt="2+\u00002="),
    "nul-answer": row(answer="4\u0000"),
    "nul-skill": row(skills=["a\u0000b"]),
    "nul-id": row(id="a\u00001"),
    "nul-extra": row(note="x\u0000"),
    "nul-extra-key": row(**{"no\u0000te": "x"}),
    "nan-extra": row()[:-1] + ', "score": NaN}',
    "deep-extra": row()[:-1] + ', "deep": ' + "[" * 40 + "]" * 40 + "}",
    "long-skill": row(skills=["s" * 101]),
    "long-id": row(id="i" * 201),
    "level-beyond-int": row(level=2**31),
}


@pytest.mark.parametrize("text", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_jsonl_rows_the_database_cannot_store(client_for, world, owner, text):
    client = client_for(owner)
    response = _preview(client, world["team"], row(id="ok") + "\n" + text + "\n")
    assert response.status_code == 400
    assert [n for n, _message in response.context["errors"]] == [2]
    assert response.context["confirm"] is None
    assert_refused(_confirm(client, world["team"], text + "\n"))
    assert not Project.objects.filter(name="From a file").exists()


def test_jsonl_row_at_the_column_limits_is_stored(client_for, world, owner):
    text = row(id="i" * 200, skills=["s" * 100], level=INT32_MAX, note={"a": [1, {"b": 2}]})
    response = _confirm(client_for(owner), world["team"], text + "\n")
    assert response.status_code == 302
    example = Example.objects.get(project__name="From a file")
    assert example.key == "i" * 200 and example.level == INT32_MAX
    assert list(example.skills.values_list("name", flat=True)) == ["s" * 100]


# --- seeds and names beyond their column ----------------------------------------------------

def _launch(world, **fields):
    data = {"name": "", "preset": "tiny", "model_dir": "", "max_length": "64",
            "teacher_config": world["teacher"].pk, "curriculum": world["curriculum"].pk,
            "rounds": "2", "steps_per_round": "20", "batch_size": "16", "lr": "0.001",
            "eval_size": "40", "seed": "7", "device": "cpu"}
    return {**data, **fields}


@pytest.mark.parametrize("seed", [str(2**31), str(INT32_MIN - 1), "9" * 300, "9" * 5000],
                         ids=["2**31", "below-int", "300-digits", "5000-digits"])
def test_run_seed_beyond_the_column(client_for, world, owner, seed):
    url = reverse("runs:run-new", args=[world["project"].pk])
    response = client_for(owner).post(url, _launch(world, seed=seed))
    assert_refused(response, field="seed")
    assert not Run.objects.exists()


@pytest.mark.parametrize("seed", [INT32_MIN, INT32_MAX])
def test_run_seed_at_the_column_limits(client_for, world, owner, seed):
    url = reverse("runs:run-new", args=[world["project"].pk])
    response = client_for(owner).post(url, _launch(world, seed=str(seed)))
    assert response.status_code == 302
    assert Run.objects.get().seed == seed


def test_run_service_refuses_a_seed_beyond_the_column(world, owner):
    from django.core.exceptions import ValidationError

    from apps.runs.services import run_create
    from tests.factories import StudentSpecFactory

    student = StudentSpecFactory(project=world["project"])
    with pytest.raises(ValidationError) as caught:
        run_create(user=owner, project=world["project"], student=student,
                   teacher_config=world["teacher"], curriculum=world["curriculum"],
                   seed=2**31, enqueue=False)
    assert "seed" in caught.value.message_dict


@pytest.mark.parametrize("seed", [str(2**31), "9" * 400])
def test_project_seed_beyond_the_column(client_for, world, owner, seed):
    response = client_for(owner).post(reverse("projects:project-new"), {
        **FAMILY, "team": world["team"].pk, "seed": seed})
    assert_refused(response, field="seed")


def test_long_model_folder_name_makes_a_student_name_that_fits(client_for, world, owner,
                                                               settings, tmp_path):
    """The student of a launch is named after the model folder: a 200-character folder
    name used to overflow the 100-character column (DataError on PostgreSQL)."""
    folder = tmp_path / "models" / ("m" * 200)
    folder.mkdir(parents=True)
    settings.STUDIO_MODEL_ROOTS = [tmp_path / "models"]
    url = reverse("runs:run-new", args=[world["project"].pk])
    client = client_for(owner)
    for max_length in ("64", "128", "128"):
        response = client.post(url, _launch(world, preset="", model_dir=str(folder),
                                            max_length=max_length))
        assert response.status_code == 302, response.content.decode()[:2000]
    names = list(StudentSpec.objects.values_list("name", flat=True))
    limit = StudentSpec._meta.get_field("name").max_length
    assert len(set(names)) == 2 and all(len(name) <= limit for name in names)
    # the third launch found the second one's student
    assert Run.objects.count() == 3


@pytest.mark.parametrize("url_name, data, field", [
    ("projects:project-new", {"name": "x" * 201}, "name"),
    ("projects:skill-new", {"name": "s" * 101}, "name"),
    ("curricula:curriculum-new", {"name": "c" * 101, "strategy": "uniform"}, "name"),
    ("prompts:teacher-new", {"name": "t" * 101, "kind": "oracle", "timeout_s": "5",
                             "max_retries": "1", "concurrency": "1"}, "name"),
    ("prompts:prompt-new", {"role": "solve", "name": "p" * 101, "template": "{{ question }}"},
     "name"),
    ("runs:run-new", {"name": "r" * 201}, "name"),
], ids=["project", "skill", "curriculum", "teacher", "prompt", "run"])
def test_names_longer_than_their_column(client_for, world, owner, url_name, data, field):
    project = world["project"]
    if url_name == "projects:project-new":
        url, data = reverse(url_name), {**FAMILY, "team": world["team"].pk, **data}
    else:
        url = reverse(url_name, args=[project.pk])
    if url_name == "runs:run-new":
        data = _launch(world, **data)
    assert_refused(client_for(owner).post(url, data), field=field)


@pytest.mark.parametrize("form_class, field, model, column", [
    ("apps.projects.forms.FamilyProjectForm", "name", Project, "name"),
    ("apps.projects.forms.JsonlUploadForm", "name", Project, "name"),
    ("apps.projects.forms.SkillForm", "name", Skill, "name"),
    ("apps.projects.forms.SkillRenameForm", "name", Skill, "name"),
    ("apps.curricula.forms.CurriculumForm", "name", Curriculum, "name"),
    ("apps.prompts.forms.TeacherForm", "name", "prompts.TeacherConfig", "name"),
    ("apps.prompts.forms.TeacherForm", "base_url", "prompts.TeacherConfig", "base_url"),
    ("apps.prompts.forms.TeacherForm", "model", "prompts.TeacherConfig", "model"),
    ("apps.prompts.forms.TeacherForm", "model_dir", "prompts.TeacherConfig", "model_dir"),
    ("apps.prompts.forms.PromptNewForm", "name", "prompts.TeacherPrompt", "name"),
    ("apps.prompts.forms.PromptNewForm", "note", "prompts.TeacherPromptVersion", "note"),
    ("apps.prompts.forms.PromptVersionForm", "note", "prompts.TeacherPromptVersion", "note"),
    ("apps.runs.forms.RunLaunchForm", "name", Run, "name"),
    ("apps.runs.forms.RunLaunchForm", "model_dir", StudentSpec, "model_dir"),
])
def test_form_max_length_matches_the_column(form_class, field, model, column):
    from django.apps import apps as registry
    from django.utils.module_loading import import_string

    if isinstance(model, str):
        model = registry.get_model(model)
    form_field = import_string(form_class).base_fields[field]
    assert form_field.max_length == model._meta.get_field(column).max_length


# --- NUL characters --------------------------------------------------------------------------

@pytest.mark.parametrize("url_name, data, field", [
    ("projects:skill-new", {"name": "a\x00b"}, "name"),
    ("projects:skill-new", {"name": "ok", "description": "\x00"}, "description"),
    ("curricula:curriculum-new", {"name": "c", "strategy": "uniform\x00"}, "strategy"),
    ("curricula:curriculum-new", {"name": "c", "strategy": "uniform", "description": "\x00"},
     "description"),
    ("prompts:prompt-new", {"role": "solve", "name": "p", "template": "{{ question }}\x00"},
     "template"),
    ("runs:run-new", {"name": "\x00"}, "name"),
    ("runs:run-new", {"device": "cpu\x00"}, "device"),
], ids=["skill-name", "skill-description", "strategy-choice", "curriculum-description",
        "template", "run-name", "run-device"])
def test_nul_characters_are_form_errors(client_for, world, owner, url_name, data, field):
    url = reverse(url_name, args=[world["project"].pk])
    if url_name == "runs:run-new":
        data = _launch(world, **data)
    assert_refused(client_for(owner).post(url, data), field=field)


@pytest.mark.parametrize("strategy, param, value", [
    ("stat_sel", "k", "3\x00"), ("stat_sel", "k", "²"), ("stat_sel", "k", HUGE * 300),
    ("sec", "sampling", "\x00"), ("sec", "tau", "nan"),
])
def test_strategy_parameter_refused(client_for, world, owner, strategy, param, value):
    url = reverse("curricula:curriculum-new", args=[world["project"].pk])
    response = client_for(owner).post(url, {"name": "c", "strategy": strategy,
                                            f"params-{param}": value})
    assert_refused(response)
    assert not Curriculum.objects.filter(name="c").exists()


# --- admin JSON fields (curriculum parameters, task options) ---------------------------------

@pytest.mark.parametrize("value", [DEEP, '{"a": NaN}', '{"a": "\\u0000"}', "null"],
                         ids=["deep", "nan", "nul", "null"])
def test_admin_json_fields(client, world, value):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    curriculum, project = world["curriculum"], world["project"]
    url = reverse("admin:curricula_curriculum_change", args=[curriculum.pk])
    response = client.post(url, {"project": project.pk, "name": "x", "strategy": "uniform",
                                 "params": value, "description": ""})
    assert_refused(response, field="params")
    url = reverse("admin:projects_project_change", args=[project.pk])
    response = client.post(url, {"team": project.team_id, "name": "x",
                                 "task_family": "arithmetic", "task_options": value,
                                 "description": ""})
    assert_refused(response, field="task_options")
    curriculum.refresh_from_db()
    assert curriculum.name == "uniform"


def test_admin_json_field_left_empty_takes_the_column_default(client, world):
    """An optional JSON column that holds no NULL (``default=dict, blank=True``) left
    empty in the admin used to be saved as NULL: IntegrityError."""
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    project = world["project"]
    url = reverse("admin:projects_project_change", args=[project.pk])
    response = client.post(url, {"team": project.team_id, "name": "renamed",
                                 "task_family": "arithmetic", "task_options": "",
                                 "description": ""})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.name == "renamed" and project.task_options == {}


# --- a template that took a minute to check --------------------------------------------------

def test_template_of_many_unclosed_braces_is_checked_quickly(client_for, world, owner):
    """'{{' repeated 50,000 times took about 70 s to check (the placeholder pattern scanned
    to the end of the text once per '{{'); long enough for a proxy's time-out."""
    started = time.perf_counter()
    response = client_for(owner).post(
        reverse("prompts:prompt-new", args=[world["project"].pk]),
        {"role": "solve", "name": "p", "template": "{{" * 50_000})
    assert_refused(response, field="template")
    assert time.perf_counter() - started < 5


# --- the helpers ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("7", 7), ("-3", -3), ("0", 0), ("9" * 18, int("9" * 18)), ("9" * 19, None), ("²", None),
    ("١٢", None), ("+1", None), (" 1", None), ("1.0", None), ("", None), ("\x00", None),
    (None, None), (5, None),
])
def test_parse_int(text, value):
    assert parse_int(text) == value


def test_int_param():
    query = QueryDict("page=3&bad=²&big=12&empty=")
    assert int_param(query, "page", default=1) == 3
    assert int_param(query, "missing", default=1) == 1
    assert int_param(query, "empty", default=1) == 1
    assert int_param(query, "big", maximum=10, clamp=True) == 10
    with pytest.raises(BadRequest):
        int_param(query, "bad")
    with pytest.raises(Http404):
        int_param(query, "big", maximum=10)
    with pytest.raises(Http404):
        int_param(query, "page", minimum=4)


@pytest.mark.parametrize("text, message", [
    (DEEP, "nested deeper"), ("[" * 33 + "]" * 33, "nested deeper"), ("{", "not valid JSON"),
    ("NaN", "NaN"), ("[Infinity]", "Infinity"), ("1e400", "finite"), ('"\\u0000"', "NUL"),
    ('{"\\u0000": 1}', "NUL"), ("9" * 5000, "too many digits"),
])
def test_json_loads_safe_refuses(text, message):
    with pytest.raises(JSONInputError, match=message):
        json_loads_safe(text)


def test_json_loads_safe_reads_what_a_json_column_holds():
    text = json.dumps({"a": [1, 2.5, None, True, "x"], "b": "[" * 3}) + " "
    assert json_loads_safe(text) == json.loads(text)
    assert json_loads_safe("[" * 32 + "]" * 32) is not None
    assert json_problem({"a": {"b": [float("nan")]}}) == \
        "numbers must be finite (no NaN or Infinity)"
    nested: list = []
    for _ in range(100_000):  # deeper than json.loads could build; no recursion to check it
        nested = [nested]
    assert "nested deeper" in json_problem(nested)


def test_safe_json_field_is_a_form_error():
    field = SafeJSONField()
    assert field.clean('{"a": 1}') == {"a": 1}
    with pytest.raises(forms.ValidationError):
        field.clean(DEEP)


def test_every_field_refuses_nul_also_those_added_at_run_time():
    class Example(Form):
        number = forms.IntegerField(required=False)
        choice = forms.ChoiceField(choices=[("a\x00", "a")], required=False)

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["late"] = forms.ChoiceField(choices=[("b\x00", "b")], required=False)

    form = Example({"number": "1", "choice": "a\x00", "late": "b\x00"})
    assert not form.is_valid()
    assert set(form.errors) == {"choice", "late"}
    assert Example({"number": "1", "choice": "", "late": ""}).is_valid()


def test_every_app_form_refuses_nul():
    """Every form of the apps derives from the common base form (or its mixin)."""
    import importlib
    import inspect

    from apps.common.forms import NoNulMixin

    missing = []
    for app in ("projects", "prompts", "curricula", "runs"):
        module = importlib.import_module(f"apps.{app}.forms")
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if (issubclass(obj, forms.BaseForm) and obj.__module__ == module.__name__
                    and not issubclass(obj, NoNulMixin)):
                missing.append(f"{module.__name__}.{name}")
    assert not missing


def test_int32_bounds(db):
    assert (INT32_MIN, INT32_MAX) == (-(2**31), 2**31 - 1)
    RunFactory(seed=INT32_MAX)  # the column holds it


def test_engine_jsonl_parser_reports_unreadable_lines():
    """The engine's parser (also used by the headless runner) names the line instead of
    raising RecursionError or ValueError."""
    from workers.engine.api import parse_jsonl

    text = "\n".join([row(), DEEP, '{"level": ' + "9" * 5000 + "}", row(id="a2")])
    items, errors = parse_jsonl(text)
    assert [item.id for item in items] == ["a1", "a2"]
    assert [n for n, _message in errors] == [2, 3]
    assert all(message.startswith("broken JSON") for _n, message in errors)
