import pytest
from django.urls import reverse

from apps.runs.models import Run, RunEvent, RunStatus, StudentSpec
from tests.factories import (
    CurriculumFactory,
    LevelStatFactory,
    RoundFactory,
    RunEventFactory,
    RunFactory,
    SkillFactory,
    SkillStatFactory,
    TeacherConfigFactory,
)


def _finished_round(run, index, skills, accuracies, state=None):
    rnd = RoundFactory(run=run, index=index, metrics={"accuracy": 0.5, "seconds": 10.0},
                       curriculum_state=state or {})
    for skill, acc in zip(skills, accuracies, strict=True):
        SkillStatFactory(round=rnd, run=run, skill=skill, accuracy=acc, miss_rate=1 - acc,
                         miss_share=(1 - acc) / 2)
    for level in (1, 2):
        LevelStatFactory(round=rnd, run=run, level=level, success_rate=0.1 * level + index / 10,
                         sampling_probability=0.5, strategy_score=0.2)
    return rnd


@pytest.fixture
def run(project_a):
    run = RunFactory(project=project_a, name="sel run", status=RunStatus.RUNNING, rounds=3)
    add = SkillFactory(project=project_a, name="add")
    carry = SkillFactory(project=project_a, name="carry")
    _finished_round(run, 0, [add, carry], [0.5, 0.2])
    _finished_round(run, 1, [add, carry], [0.6, 0.7],
                    state={"q": {"1": 0.25, "2": 0.5}, "updates": 1})
    RunEventFactory(run=run, kind=RunEvent.Kind.PROGRESS, round=2, step=5, total_steps=20,
                    loss=1.5, eta_s=9.0, message="train")
    RunEventFactory(run=run, message="round 1 recorded")
    return run


def _launch_data(project, **fields):
    teacher = TeacherConfigFactory(project=project, name="oracle")
    curriculum = CurriculumFactory(project=project, name="uniform")
    data = {"name": "", "preset": "tiny", "model_dir": "", "max_length": "64",
            "teacher_config": teacher.pk, "curriculum": curriculum.pk, "rounds": "2",
            "steps_per_round": "20", "batch_size": "16", "lr": "0.001", "eval_size": "40",
            "seed": "7", "device": "cpu"}
    data.update(fields)
    return data


def test_pages_need_login(client, run):
    for url in (reverse("runs:run-list", args=[run.project_id]),
                reverse("runs:run-new", args=[run.project_id]),
                reverse("runs:run-detail", args=[run.pk]), reverse("runs:run-live", args=[run.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_stranger_gets_404_everywhere(client_for, stranger, run):
    client = client_for(stranger)
    for url in (reverse("runs:run-list", args=[run.project_id]),
                reverse("runs:run-new", args=[run.project_id]),
                reverse("runs:run-detail", args=[run.pk]), reverse("runs:run-live", args=[run.pk])):
        assert client.get(url).status_code == 404, url
    for action in ("pause", "cancel", "delete"):
        assert client.post(reverse("runs:run-action", args=[run.pk, action])).status_code == 404
    assert client.post(reverse("runs:run-new", args=[run.project_id]),
                       _launch_data(run.project)).status_code == 404
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and not run.stop_request
    assert Run.objects.count() == 1


def test_viewer_reads_the_run_page_without_controls(client_for, viewer, run):
    response = client_for(viewer).get(reverse("runs:run-detail", args=[run.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["controls"] == []
    assert 'id="run-pause"' not in html and 'id="run-cancel"' not in html
    assert "sel run" in html and 'id="skill-table"' in html


def test_viewer_cannot_control_or_launch(client_for, viewer, run):
    client = client_for(viewer)
    for action in ("pause", "cancel", "delete"):
        assert client.post(reverse("runs:run-action", args=[run.pk, action])).status_code == 403
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and not run.stop_request
    response = client.post(reverse("runs:run-new", args=[run.project_id]),
                           _launch_data(run.project))
    assert response.status_code == 403
    assert Run.objects.count() == 1
    html = client.get(reverse("runs:run-new", args=[run.project_id])).content.decode()
    assert 'id="launch-form"' not in html and "needs the editor role" in html


def test_run_page_shows_progress_skill_deltas_levels_state_and_log(client_for, owner, run):
    response = client_for(owner).get(reverse("runs:run-detail", args=[run.pk]))
    ctx = response.context
    assert ctx["latest"].index == 1 and ctx["previous"]["index"] == 0
    rows = {s.skill.name: s for s in ctx["skills"]}
    assert rows["carry"].delta == pytest.approx(0.5) and rows["add"].delta == pytest.approx(0.1)
    assert [s["level"] for s in ctx["levels"]] == [1, 2]
    assert ctx["progress"]["current_round"] == 2 and ctx["progress"]["step"] == 5
    # 10 s a round x 1.8 left: a quarter of the training, which is 80% of a round (default)
    assert ctx["progress"]["eta_s"] == pytest.approx(18.0)
    assert ctx["state_tables"][0]["columns"] == ["level", "Q value"]
    assert ctx["controls"] == ["pause", "cancel"]
    assert ctx["polling"] is True
    html = response.content.decode()
    assert 'hx-trigger="every 2s"' in html
    assert "+0.500" in html and "round 1 recorded" in html
    assert 'id="accuracy-figure"' in html and "plotly-cartesian.min.js" in html
    names = [t["name"] for t in ctx["accuracy_figure"]["data"]]
    assert names == ["overall", "level 1", "level 2"]


@pytest.mark.parametrize(("sort", "order"), [
    ("skill", ["add", "carry"]), ("-skill", ["carry", "add"]),
    ("delta", ["add", "carry"]), ("-delta", ["carry", "add"]),
    ("accuracy", ["add", "carry"]), ("-miss_rate", ["add", "carry"]),
    ("nonsense", ["add", "carry"]),  # default: share of misses, largest first
])
def test_skill_table_sorts_on_the_server(client_for, viewer, run, sort, order):
    response = client_for(viewer).get(reverse("runs:run-detail", args=[run.pk]), {"sort": sort})
    assert [s.skill.name for s in response.context["skills"]] == order
    html = client_for(viewer).get(reverse("runs:run-live", args=[run.pk]), {"sort": sort}).content
    rows = html.decode().split('id="skill-table"')[1]
    assert rows.index(f'data-skill="{order[0]}"') < rows.index(f'data-skill="{order[1]}"')


def test_live_partial_swaps_progress_out_of_band_and_stops_polling_when_finished(
    client_for, viewer, run
):
    client = client_for(viewer)
    html = client.get(reverse("runs:run-live", args=[run.pk])).content.decode()
    assert "<html" not in html and html.lstrip().startswith('<div id="live"')
    assert 'hx-swap-oob="true"' in html and 'hx-trigger="every 2s"' in html
    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED)
    html = client.get(reverse("runs:run-live", args=[run.pk])).content.decode()
    assert "hx-trigger" not in html and "Succeeded" in html


def test_first_round_has_no_change_column(client_for, viewer, project_a):
    run = RunFactory(project=project_a)
    _finished_round(run, 0, [SkillFactory(project=project_a)], [0.4])
    response = client_for(viewer).get(reverse("runs:run-detail", args=[run.pk]), {"sort": "delta"})
    assert response.context["previous"] is None
    assert [c["key"] for c in response.context["skill_columns"]][-1] == "miss_share"
    assert response.context["skills"][0].delta is None


def test_run_page_names_the_attribution_teacher_errors_and_synthesis(client_for, viewer,
                                                                      project_a):
    run = RunFactory(project=project_a)
    RoundFactory(run=run, index=0, metrics={
        "accuracy": 0.5, "attribution": "all skills of failed items", "teacher_errors": 2,
        "synthesis": {"requested": 6, "proposed": 6, "kept": 2,
                      "rejected": {"disagreement": 3, "duplicate": 0, "already_solved": 1,
                                   "unparsable": 0, "teacher_error": 0}}})
    html = client_for(viewer).get(reverse("runs:run-detail", args=[run.pk])).content.decode()
    line = html.split('id="attribution">')[1].split("</p>")[0]
    assert line == ("attribution: all skills of failed items · teacher errors: 2 · synthesis: "
                    "kept 2 of 6 asked for, 3 disagreement, 1 already_solved")


def test_empty_run_page(client_for, viewer, project_a):
    run = RunFactory(project=project_a)
    response = client_for(viewer).get(reverse("runs:run-detail", args=[run.pk]))
    assert response.status_code == 200
    assert "No round has finished yet." in response.content.decode()
    assert response.context["progress"]["percent"] == 0.0


@pytest.mark.parametrize(("status", "stop", "controls"), [
    (RunStatus.QUEUED, "", ["cancel", "delete"]),
    (RunStatus.RUNNING, "", ["pause", "cancel"]),
    (RunStatus.RUNNING, "pause", ["cancel"]),
    (RunStatus.RUNNING, "cancel", []),
    (RunStatus.PAUSED, "", ["resume", "cancel", "delete"]),
    (RunStatus.FAILED, "", ["retry", "delete"]),
    (RunStatus.SUCCEEDED, "", ["delete"]),
    (RunStatus.CANCELLED, "", ["delete"]),
])
def test_controls_follow_the_state(client_for, editor, project_a, status, stop, controls):
    run = RunFactory(project=project_a, status=status, stop_request=stop)
    response = client_for(editor).get(reverse("runs:run-detail", args=[run.pk]))
    assert response.context["controls"] == controls


def test_pause_and_cancel_ask_the_worker(client_for, editor, run):
    client = client_for(editor)
    response = client.post(reverse("runs:run-action", args=[run.pk, "pause"]))
    assert response.status_code == 302 and response.url == reverse("runs:run-detail", args=[run.pk])
    run.refresh_from_db()
    assert run.stop_request == Run.StopRequest.PAUSE
    client.post(reverse("runs:run-action", args=[run.pk, "cancel"]))
    run.refresh_from_db()
    assert run.stop_request == Run.StopRequest.CANCEL and run.status == RunStatus.RUNNING


def test_resume_and_retry_queue_the_run_again(client_for, editor, project_a,
                                                django_capture_on_commit_callbacks):
    paused = RunFactory(project=project_a, status=RunStatus.PAUSED)
    failed = RunFactory(project=project_a, status=RunStatus.FAILED, error="boom")
    client = client_for(editor)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("runs:run-action", args=[paused.pk, "resume"]))
        client.post(reverse("runs:run-action", args=[failed.pk, "retry"]))
    paused.refresh_from_db()
    failed.refresh_from_db()
    assert paused.status == RunStatus.QUEUED and failed.status == RunStatus.QUEUED
    assert len(callbacks) == 2  # one task message per run, sent after commit


def test_refused_action_is_a_message_not_a_change(client_for, editor, project_a):
    run = RunFactory(project=project_a, status=RunStatus.SUCCEEDED)
    response = client_for(editor).post(reverse("runs:run-action", args=[run.pk, "pause"]),
                                       follow=True)
    assert "only a running run can be paused" in response.content.decode()
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED


def test_unknown_action_is_404(client_for, editor, run):
    assert client_for(editor).post(reverse("runs:run-action", args=[run.pk, "explode"])
                                   ).status_code == 404


def test_delete_removes_the_run(client_for, editor, project_a, django_capture_on_commit_callbacks):
    run = RunFactory(project=project_a, status=RunStatus.CANCELLED)
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(editor).post(reverse("runs:run-action", args=[run.pk, "delete"]))
    assert response.url == reverse("runs:run-list", args=[project_a.pk])
    assert not Run.objects.filter(pk=run.pk).exists()


def test_delete_of_a_running_run_is_refused(client_for, editor, run):
    response = client_for(editor).post(reverse("runs:run-action", args=[run.pk, "delete"]),
                                       follow=True)
    assert "cancel it first" in response.content.decode()
    assert Run.objects.filter(pk=run.pk).exists()


def test_run_list_shows_status_and_latest_accuracy(client_for, viewer, run, project_a):
    RunFactory(project=project_a, name="other", status=RunStatus.FAILED)
    client = client_for(viewer)
    response = client.get(reverse("runs:run-list", args=[project_a.pk]))
    runs = {r["name"]: r for r in response.context["rows"]}
    assert runs["sel run"]["latest_accuracy"] == 0.5 and runs["other"]["latest_accuracy"] is None
    assert runs["sel run"]["accuracy_text"] == "0.500" and runs["other"]["accuracy_text"] == "–"
    html = response.content.decode()
    assert "status-running" in html and "status-failed" in html
    assert 'hx-trigger="every 5s"' in html  # an active run: the table refreshes itself
    assert reverse("runs:run-new", args=[project_a.pk]) not in html  # viewers launch nothing
    partial = client.get(reverse("runs:run-list", args=[project_a.pk]), HTTP_HX_REQUEST="true")
    assert partial.content.decode().lstrip().startswith('<div id="run-table"')


def test_launch_form_has_tiny_defaults(client_for, editor, project_a):
    TeacherConfigFactory(project=project_a)
    CurriculumFactory(project=project_a)
    response = client_for(editor).get(reverse("runs:run-new", args=[project_a.pk]))
    form = response.context["form"]
    assert form["preset"].value() == "tiny" and form["rounds"].value() == 2
    assert form["steps_per_round"].value() == 20 and form["eval_size"].value() == 40
    assert form["synth_requires_review"].value() is project_a.require_review


def test_launch_creates_a_queued_run_with_its_spec(client_for, editor, project_a,
                                                   django_capture_on_commit_callbacks):
    data = _launch_data(project_a, synth_requires_review="on")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(editor).post(reverse("runs:run-new", args=[project_a.pk]), data)
    run = Run.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("runs:run-detail", args=[run.pk])
    assert run.status == RunStatus.QUEUED and run.created_by == editor
    assert run.name == "uniform seed 7" and run.seed == 7 and run.eval_size == 40
    assert run.synth_requires_review is True
    assert run.spec["train"]["steps_per_round"] == 20 and run.spec["device"] == "cpu"
    assert run.spec["student"]["preset"] == "tiny" and run.spec["task"]["eval_size"] == 40
    assert run.student.preset == "tiny" and run.student.max_length == 64
    assert len(callbacks) == 1


def test_launch_reuses_a_matching_student(client_for, editor, project_a,
                                          django_capture_on_commit_callbacks):
    client = client_for(editor)
    data = _launch_data(project_a)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("runs:run-new", args=[project_a.pk]), data)
        client.post(reverse("runs:run-new", args=[project_a.pk]), {**data, "seed": "8"})
        client.post(reverse("runs:run-new", args=[project_a.pk]), {**data, "max_length": "32"})
    assert sorted(StudentSpec.objects.values_list("name", flat=True)) == [
        "tiny", "tiny (32 tokens)"]
    assert Run.objects.count() == 3


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"lr": "0"}, "lr", "spec.train.lr: must be positive"),
    ({"preset": "", "model_dir": ""}, None, "Choose a preset or give a local model directory"),
    ({"preset": "tiny", "model_dir": "/models/x"}, None, "not both"),
    ({"preset": "", "model_dir": "models/x"}, "model_dir", "is not an absolute path"),
    ({"rounds": "0"}, "rounds", "greater than or equal to 1"),
    ({"teacher_config": "999999"}, "teacher_config", "Select a valid choice"),
])
def test_bad_launch_input_is_shown_inline_and_nothing_is_saved(
    client_for, editor, project_a, fields, field, message
):
    data = _launch_data(project_a, **fields)
    response = client_for(editor).post(reverse("runs:run-new", args=[project_a.pk]), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert message in str(errors[field] if field else errors["__all__"])
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert not Run.objects.exists() and not StudentSpec.objects.exists()


def test_curriculum_of_another_project_is_refused(client_for, owner, stranger, project_a,
                                                  project_b):
    other = CurriculumFactory(project=project_b)
    data = _launch_data(project_a, curriculum=other.pk)
    response = client_for(owner).post(reverse("runs:run-new", args=[project_a.pk]), data)
    assert response.status_code == 400 and "curriculum" in response.context["form"].errors
    assert not Run.objects.exists()


def test_run_pages_query_count_does_not_grow_with_the_run(
    client_for, viewer, project_a, django_assert_max_num_queries
):
    skills = [SkillFactory(project=project_a) for _ in range(3)]
    small = RunFactory(project=project_a, status=RunStatus.RUNNING)
    _finished_round(small, 0, skills, [0.1, 0.2, 0.3])
    big = RunFactory(project=project_a, status=RunStatus.RUNNING, rounds=8)
    many = skills + [SkillFactory(project=project_a) for _ in range(20)]
    for i in range(8):
        _finished_round(big, i, many, [0.5] * len(many), state={"q": {"1": 0.1}})
    for _ in range(60):
        RunEventFactory(run=big)
    client = client_for(viewer)
    for run in (small, big):
        for name in ("runs:run-detail", "runs:run-live"):
            # the run page adds the dashboard's three reads (apps/runs/dashboard.py)
            with django_assert_max_num_queries(15 if name == "runs:run-detail" else 12):
                assert client.get(reverse(name, args=[run.pk])).status_code == 200
    with django_assert_max_num_queries(6):
        client.get(reverse("runs:run-list", args=[project_a.pk]))
    with django_assert_max_num_queries(8):
        client.get(reverse("runs:run-new", args=[project_a.pk]))


def test_run_list_pages_past_a_hundred_runs(client_for, viewer, project_a,
                                            django_assert_max_num_queries):
    RunFactory.create_batch(101, project=project_a, status=RunStatus.SUCCEEDED)
    client = client_for(viewer)
    with django_assert_max_num_queries(7):
        first = client.get(reverse("runs:run-list", args=[project_a.pk]))
    assert len(first.context["rows"]) == 100 and first.context["n_runs"] == 101
    assert "page 1 of 2" in first.content.decode()
    second = client.get(reverse("runs:run-list", args=[project_a.pk]) + "?page=2")
    assert len(second.context["rows"]) == 1 and "newer runs" in second.content.decode()
