import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from apps.prompts.services import prompt_defaults_install, prompt_version_create
from apps.runs import dispatch
from apps.runs.models import LevelStat, Round, Run, RunEvent, RunStatus, SkillStat
from apps.runs.recording import round_record, run_event_log, run_fail
from apps.runs.selectors import run_events_tail, run_get_for_user, run_list_for_user
from apps.runs.services import run_cancel, run_create, run_pause, run_resume, student_spec_create
from apps.runs.states import run_claim
from tests.factories import (
    CurriculumFactory,
    ExampleFactory,
    RunFactory,
    SkillFactory,
    StudentSpecFactory,
    TeacherConfigFactory,
)
from workers.engine.profile import LevelStat as EngineLevelStat
from workers.engine.profile import SkillStat as EngineSkillStat
from workers.engine.spec import RunSpec


@pytest.fixture
def parts(project_a, owner):
    prompt_defaults_install(user=owner, project=project_a)
    return {
        "project": project_a,
        "student": StudentSpecFactory(project=project_a),
        "teacher_config": TeacherConfigFactory(project=project_a, api_key="sk-secret"),
        "curriculum": CurriculumFactory(project=project_a, strategy="uniform"),
    }


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(dispatch, "enqueue_run", calls.append)
    return calls


def test_run_create_freezes_a_valid_spec(parts, owner, sent, django_capture_on_commit_callbacks):
    ExampleFactory.create_batch(3, project=parts["project"])
    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(user=owner, rounds=3, steps_per_round=7, seed=11, eval_size=50, **parts)
    assert sent == [run.pk]
    spec = RunSpec.from_dict(run.spec)
    assert (spec.rounds, spec.train.steps_per_round, spec.seed) == (3, 7, 11)
    assert (spec.task.family, spec.task.eval_size, spec.task.pool_size) == ("arithmetic", 50, 3)
    assert spec.curriculum.strategy == "uniform"
    assert spec.teacher.api_key == "" and "sk-secret" not in str(run.spec)
    assert set(spec.teacher.prompts) == {v.prompt.role for v in run.prompt_versions.all()}
    assert run.prompt_versions.count() == 6
    assert run.status == RunStatus.QUEUED and run.name == f"{parts['curriculum'].name} seed 11"


def test_run_keeps_the_versions_it_used(parts, owner, sent):
    run = run_create(user=owner, **parts)
    solve = run.prompt_versions.get(prompt__role="solve")
    prompt_version_create(user=owner, prompt=solve.prompt, template=solve.template + "\nShort.")
    assert run.prompt_versions.get(prompt__role="solve") == solve
    later = run_create(user=owner, **parts)
    assert later.prompt_versions.get(prompt__role="solve").version == 2


def test_run_create_refuses_viewer_stranger_and_foreign_parts(
    parts, owner, viewer, stranger, project_b, sent
):
    for user in (viewer, stranger):
        with pytest.raises(PermissionDenied):
            run_create(user=user, **parts)
    foreign = {**parts, "curriculum": CurriculumFactory(project=project_b)}
    with pytest.raises(ValidationError, match="another project"):
        run_create(user=owner, **foreign)
    with pytest.raises(ValidationError, match="spec.rounds"):
        run_create(user=owner, rounds=0, **parts)
    assert not Run.objects.exists()


def test_student_spec_needs_preset_or_model_dir(project_a, owner, viewer):
    with pytest.raises(ValidationError, match="exactly one"):
        student_spec_create(user=owner, project=project_a, name="s")
    with pytest.raises(ValidationError, match="exactly one"):
        student_spec_create(user=owner, project=project_a, name="s", preset="tiny",
                            model_dir="/models/x")
    with pytest.raises(PermissionDenied):
        student_spec_create(user=viewer, project=project_a, name="s", preset="tiny")
    spec = student_spec_create(user=owner, project=project_a, name="s", preset="tiny",
                               lora={"r": 8})
    assert spec.lora == {"r": 8}


def test_pause_cancel_resume(parts, owner, viewer, sent):
    run = run_create(user=owner, **parts)
    with pytest.raises(ValidationError, match="only a running run"):
        run_pause(user=owner, run=run)
    assert run_claim(run.pk, "w")
    run.refresh_from_db()
    with pytest.raises(PermissionDenied):
        run_pause(user=viewer, run=run)
    run_pause(user=owner, run=run)
    assert run.stop_request == "pause" and run.status == RunStatus.RUNNING
    run_cancel(user=owner, run=run)
    assert run.stop_request == "cancel" and run.status == RunStatus.RUNNING
    queued = run_create(user=owner, **parts)
    run_cancel(user=owner, run=queued)
    assert queued.status == RunStatus.CANCELLED
    paused = RunFactory(project=parts["project"], status=RunStatus.PAUSED)
    with pytest.raises(PermissionDenied):
        run_resume(user=viewer, run=paused)
    run_resume(user=owner, run=paused)
    assert paused.status == RunStatus.QUEUED


def test_round_record_writes_profile_and_levels(parts, sent):
    run = RunFactory(project=parts["project"])
    add = SkillFactory(project=parts["project"], name="add")
    carry = SkillFactory(project=parts["project"], name="carry")
    rnd = round_record(
        run=run, index=1, metrics={"accuracy": 0.4}, plan={"entries": []},
        curriculum_state={"q": {"1": 0.2}}, checkpoint_path="/ck/1",
        profile=[EngineSkillStat("add", 10, 2, 0.2, 0.4, 0.8),
                 EngineSkillStat("carry", 5, 3, 0.6, 0.6, 0.4)],
        levels=[EngineLevelStat(1, 8, 6, 0.75), EngineLevelStat(2, 7, 0, 0.0)],
        level_probabilities={1: 0.3, 2: 0.7}, level_scores={1: 0.2}, level_samples={1: 9, 2: 21},
    )
    run.refresh_from_db()
    assert run.current_round == 1 and rnd.finished_at is not None
    stats = {s.skill: s for s in SkillStat.objects.filter(run=run).select_related("skill")}
    assert stats[add].miss_rate == 0.2 and stats[carry].failed == 3
    levels = list(LevelStat.objects.filter(run=run).order_by("round__index", "level").values_list(
        "level", "sampling_probability", "success_rate", "strategy_score", "samples", "evaluated"))
    assert levels == [(1, 0.3, 0.75, 0.2, 9, 8), (2, 0.7, 0.0, None, 21, 7)]
    with pytest.raises(ValidationError, match="already has round 1"):
        round_record(run=run, index=1, metrics={})


def test_round_record_is_all_or_nothing(parts):
    run = RunFactory(project=parts["project"])
    with pytest.raises(ValidationError, match="unknown skills: ghost"):
        round_record(run=run, index=1, metrics={},
                     profile=[EngineSkillStat("ghost", 1, 1, 1.0, 1.0, 0.0)])
    assert not Round.objects.exists() and not SkillStat.objects.exists()
    assert not LevelStat.objects.exists()


def test_events_tail_and_failure(parts):
    run = RunFactory(project=parts["project"], status=RunStatus.RUNNING)
    for step in range(5):
        run_event_log(run=run, kind="progress", round=1, step=step, total_steps=5, loss=1.0)
    run_event_log(run=run.pk, message="round 1 done")
    tail = run_events_tail(run=run, limit=3)
    assert [e.step for e in tail] == [3, 4, None]
    assert [e.message for e in run_events_tail(run=run, after_id=tail[1].id)] == ["round 1 done"]
    with pytest.raises(ValueError, match="unknown event kind"):
        run_event_log(run=run, kind="debug")
    run_fail(run=run, error="CUDA out of memory")
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error == "CUDA out of memory"
    assert RunEvent.objects.filter(run=run, kind="error").get().message == "CUDA out of memory"


def test_run_selectors_are_scoped(parts, owner, viewer, stranger, project_b):
    mine = RunFactory(project=parts["project"])
    theirs = RunFactory(project=project_b)
    assert list(run_list_for_user(user=viewer)) == [mine]
    assert list(run_list_for_user(user=stranger)) == [theirs]
    assert run_get_for_user(user=owner, pk=mine.pk) == mine
    with pytest.raises(Http404):
        run_get_for_user(user=stranger, pk=mine.pk)
