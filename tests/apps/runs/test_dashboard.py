"""The run dashboard: its partial on the run page, the failed items of a heatmap cell (owner,
editor, viewer, stranger), the shared variant, bounded queries and the recorded failures."""

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.projects.models import Example
from apps.runs.dashboard import run_dashboard_context
from apps.runs.models import EvalFailure, RunStatus
from apps.runs.recording import run_record_round, run_skills_ensure
from apps.runs.states import run_claim
from tests.factories import (
    CurriculumFactory,
    ExampleFactory,
    LevelStatFactory,
    RoundFactory,
    RunFactory,
    SkillFactory,
    SkillStatFactory,
)


def _build(project, *, rounds=3, skills=2, name="dash run"):
    curriculum = CurriculumFactory(project=project, strategy="sec")
    run = RunFactory(project=project, name=name, curriculum=curriculum,
                     status=RunStatus.SUCCEEDED, rounds=rounds - 1)
    parent = SkillFactory(project=project, name=f"{name}-add")
    rows = [parent] + [SkillFactory(project=project, name=f"{name}-s{i}", parent=parent)
                       for i in range(skills - 1)]
    for index in range(rounds):
        rnd = RoundFactory(run=run, index=index, metrics={
            "accuracy": 0.3 + index / 10, "weakest_skill_accuracy": 0.1 + index / 20,
            "seconds": 5.0, "synthesized": 2 if index else 0,
            "teacher": {"calls": 3, "prompt_tokens": 100, "completion_tokens": 20}},
            plan={"entries": [{"skill": rows[-1].name, "level": 1, "count": 8,
                               "source": "synth"},
                              {"skill": None, "level": None, "count": 24, "source": "pool"}]}
            if index else {"entries": []},
            curriculum_state={"q": {"1": 0.1 * index}})
        for skill in rows:
            SkillStatFactory(round=rnd, run=run, skill=skill, evaluated=10, failed=3,
                             miss_rate=0.3, miss_share=1 / len(rows), accuracy=0.7)
        for level in (1, 2):
            LevelStatFactory(round=rnd, run=run, level=level, sampling_probability=0.5,
                             strategy_score=0.1 * index, success_rate=0.5)
        if index:
            ExampleFactory(project=project, round=rnd, origin=Example.Origin.SYNTHESIZED,
                           review_status=Example.ReviewStatus.PENDING, skills=[rows[-1]])
        EvalFailure.objects.create(
            run=run, round=rnd, item_id=f"e{index}", prompt=f"{index}7+5=", answer="12",
            prediction="11<wrong>", level=1, skills=[parent.name], blamed=[parent.name])
    return run, rows


@pytest.fixture
def built(project_a):
    return _build(project_a)


def _failures_url(run, **params):
    return reverse("runs:run-failures", args=[run.pk]), params


@pytest.mark.parametrize("who", ["owner", "editor", "viewer"])
def test_members_see_the_dashboard_on_the_run_page(request, client_for, built, who):
    run, rows = built
    response = client_for(request.getfixturevalue(who)).get(
        reverse("runs:run-detail", args=[run.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="dashboard"' in html and 'id="dash-heatmap"' in html
    assert f'data-failures-url="{reverse("runs:run-failures", args=[run.pk])}"' in html
    for name in ("heatmap", "levels", "sampling", "weights", "data", "cost"):
        assert f'id="dash-{name}-figure"' in html, name
    assert "js/dashboard.js" in html and "vendor/plotly-cartesian.min.js" in html
    figure = response.context["dashboard"]["figures"][0]["figure"]
    assert figure["data"][0]["y"] == [r.name for r in rows]  # tree order: parent first
    assert 'id="cost-per-point"' in html


@pytest.mark.parametrize("who", ["owner", "editor", "viewer"])
def test_members_read_the_failed_items_of_a_cell(request, client_for, built, who):
    run, rows = built
    url, params = _failures_url(run, round=1, skill=rows[0].name)
    response = client_for(request.getfixturevalue(who)).get(url, params)
    html = response.content.decode()
    assert response.status_code == 200
    assert "17+5=" in html and "11&lt;wrong&gt;" in html and 'id="failures-table"' in html
    assert "07+5=" not in html  # another round's failure
    assert response.context["cell"]["failed"] == 3


def test_a_cell_without_failures_says_so(client_for, owner, built):
    run, rows = built
    url, params = _failures_url(run, round=1, skill=rows[1].name)
    html = client_for(owner).get(url, params).content.decode()
    assert 'id="failures-none"' in html


def test_stranger_gets_404_and_anonymous_the_login(client, client_for, stranger, built):
    run, rows = built
    url, params = _failures_url(run, round=1, skill=rows[0].name)
    assert client.get(url, params).status_code == 302
    assert client_for(stranger).get(url, params).status_code == 404
    assert client_for(stranger).get(reverse("runs:run-detail", args=[run.pk])).status_code == 404


@pytest.mark.parametrize("params", [{}, {"round": "x", "skill": "a"}, {"round": "1"},
                                    {"round": "1", "skill": "s" * 101},
                                    {"round": "1", "skill": "\x00"}])
def test_bad_cell_parameters_are_a_400(client_for, viewer, built, params):
    run, _ = built
    response = client_for(viewer).get(reverse("runs:run-failures", args=[run.pk]), params)
    assert response.status_code == 400


def test_failures_only_post_is_refused(client_for, owner, built):
    run, rows = built
    url, params = _failures_url(run, round=1, skill=rows[0].name)
    assert client_for(owner).post(url, params).status_code == 405


def test_shared_dashboard_has_no_app_links_and_its_own_failures_url(built):
    run, _ = built
    context = run_dashboard_context(run=run, shared=True, failures_url="/s/tok/failures/")
    html = render_to_string("runs/_dashboard.html", context)
    assert 'data-failures-url="/s/tok/failures/"' in html
    assert "href=" not in html and "<form" not in html
    assert run.teacher_config.name not in html


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_dashboard_queries_are_bounded_whatever_the_size(project_a, django_assert_max_num_queries):
    small, _ = _build(project_a, rounds=2, skills=2, name="small")
    big, _ = _build(project_a, rounds=8, skills=12, name="big")
    with django_assert_max_num_queries(3):
        run_dashboard_context(run=big)
    assert _queries(lambda: run_dashboard_context(run=small)) == \
        _queries(lambda: run_dashboard_context(run=big))


def test_run_page_queries_do_not_grow_with_the_run(project_a, client_for, owner):
    small, _ = _build(project_a, rounds=2, skills=2, name="small")
    big, _ = _build(project_a, rounds=8, skills=12, name="big")
    client = client_for(owner)
    client.get(reverse("runs:run-detail", args=[small.pk]))  # warm the session
    n_small = _queries(lambda: client.get(reverse("runs:run-detail", args=[small.pk])))
    n_big = _queries(lambda: client.get(reverse("runs:run-detail", args=[big.pk])))
    assert n_small == n_big


@pytest.mark.django_db
def test_recording_a_round_stores_its_failed_items():
    run = RunFactory()
    run_skills_ensure(run=run, skills=[{"name": "add"}, {"name": "carry", "parent": "add"}])
    assert run_claim(run.pk, "w1")
    record = {
        "round": 0, "profile": [{"skill": "add", "evaluated": 2, "failed": 1, "miss_rate": 0.5,
                                 "miss_share": 1.0, "accuracy": 0.5}],
        "levels": [], "held_out": [], "level_probabilities": {}, "level_scores": {},
        "level_samples": {}, "plan": {"entries": []}, "curriculum_state": {},
        "metrics": {"accuracy": 0.5, "seconds": 1.0}, "synthesized": [],
        "teacher_failures": [], "checkpoint_dir": None,
        "failures": [{"item_id": "e1", "prompt": "9+9=", "answer": "18", "prediction": "17",
                      "level": 2, "skills": ["add", "carry"], "blamed": ["carry"],
                      "held_out": False},
                     {"item_id": "h1", "prompt": "99+99=", "answer": "198", "prediction": "",
                      "level": 5, "skills": ["add"], "blamed": [], "held_out": True}],
    }
    rnd = run_record_round(run=run, record=record, worker="w1")
    rows = list(EvalFailure.objects.filter(round=rnd).order_by("id"))
    assert [(f.item_id, f.prediction, f.blamed, f.held_out) for f in rows] == [
        ("e1", "17", ["carry"], False), ("h1", "", [], True)]
    run_record_round(run=run, record=record, worker="w1")  # idempotent: nothing doubled
    assert EvalFailure.objects.filter(run=run).count() == 2
