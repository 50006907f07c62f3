"""The lifecycle services the GPU task, the beat sweep and the pages call (no workers)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.runs import dispatch
from apps.runs.models import Round, Run, RunEvent, RunStatus, SkillStat
from apps.runs.recording import (
    RunOwnershipLost,
    run_record_round,
    run_skills_ensure,
    run_worker_release,
)
from apps.runs.services import run_cancel, run_delete, run_pause, run_resume, run_retry
from apps.runs.states import run_claim
from apps.runs.sweep import run_sweep_stale
from tests.factories import MembershipFactory, RoundFactory, RunFactory, UserFactory
from workers.queues import TaskName

S = RunStatus
SKILLS = [{"name": "add", "description": "adds"}, {"name": "carry", "parent": "add"}]


@pytest.fixture
def sent(monkeypatch):
    calls = {"run": [], "delete": []}
    monkeypatch.setattr(dispatch, "enqueue_run", calls["run"].append)
    monkeypatch.setattr(dispatch, "enqueue_artifacts_delete", calls["delete"].append)
    return calls


@pytest.fixture
def editor_run(db):
    user = UserFactory(username="dave")
    run = RunFactory()
    MembershipFactory(user=user, team=run.project.team, role="editor")
    return user, run


def _record(index: int) -> dict:
    profile = [
        {"skill": "add", "evaluated": 4, "failed": 1, "miss_rate": 0.25, "miss_share": 0.5,
         "accuracy": 0.75},
        {"skill": "carry", "evaluated": 2, "failed": 1, "miss_rate": 0.5, "miss_share": 0.5,
         "accuracy": 0.5},
    ]
    return {
        "round": index, "profile": profile,
        "levels": [{"level": 1, "evaluated": 4, "correct": 3, "success_rate": 0.75}],
        "held_out": [{"level": 3, "evaluated": 2, "correct": 0, "success_rate": 0.0}],
        "level_probabilities": {"1": 1.0}, "level_scores": {"1": 0.2},
        "level_samples": {"1": 32}, "plan": {"entries": []},
        "curriculum_state": {"q": [0.2]}, "metrics": {"accuracy": 0.6, "seconds": 1.5},
        "synthesized": [{"id": "syn-1", "prompt": "1+9=", "answer": "10",
                         "skills": ["add", "carry"], "level": 1,
                         "meta": {"teacher": "oracle", "trigger_item": None}}],
        "teacher_failures": [], "checkpoint_dir": "runs/run-1/checkpoints/round-001",
    }


@pytest.mark.django_db
def test_recording_a_round_twice_is_a_no_op():
    run = RunFactory()
    run_skills_ensure(run=run, skills=SKILLS)
    assert run_claim(run.pk, "w1")
    first = run_record_round(run=run, record=_record(1), worker="w1")
    again = run_record_round(run=run, record=_record(1), worker="w1")
    assert again.pk == first.pk and Round.objects.filter(run=run).count() == 1
    assert SkillStat.objects.filter(round=first).count() == 2
    levels = {ls.level: ls for ls in first.level_stats.all()}
    assert set(levels) == {1, 3} and levels[1].samples == 32 and levels[1].strategy_score == 0.2
    assert first.metrics["held_out_levels"] == [3]
    assert first.examples.get().origin == "synthesized"
    assert Run.objects.get(pk=run.pk).current_round == 1


@pytest.mark.django_db
def test_builtin_skills_are_created_once_with_their_parent():
    run = RunFactory()
    run_skills_ensure(run=run, skills=SKILLS)
    run_skills_ensure(run=run, skills=SKILLS)
    carry = run.project.skills.get(name="carry")
    assert carry.parent.name == "add" and carry.origin == "builtin"
    assert run.project.skills.count() == 2


@pytest.mark.django_db
def test_only_the_worker_holding_the_run_records_rounds():
    run = RunFactory()
    run_skills_ensure(run=run, skills=SKILLS)
    with pytest.raises(RunOwnershipLost, match="not running for 'w1'"):
        run_record_round(run=run, record=_record(0), worker="w1")  # still queued
    run_claim(run.pk, "w1")
    with pytest.raises(RunOwnershipLost, match="for worker 'w1', not running for 'w2'"):
        run_record_round(run=run, record=_record(0), worker="w2")
    assert not Round.objects.filter(run=run).exists()
    assert not run_worker_release(run_id=run.pk, worker="w2", status=S.SUCCEEDED)
    assert run_worker_release(run_id=run.pk, worker="w1", status=S.SUCCEEDED, message="done")
    assert Run.objects.get(pk=run.pk).status == S.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_sweep_requeues_stale_runs_and_honours_stop_requests(sent):
    stale, asked_cancel, fresh = RunFactory(), RunFactory(), RunFactory()
    for run in (stale, asked_cancel, fresh):
        run_claim(run.pk, "w1")
    RoundFactory(run=stale, index=0)
    old = timezone.now() - timedelta(minutes=5)
    Run.objects.filter(pk__in=[stale.pk, asked_cancel.pk]).update(heartbeat_at=old)
    Run.objects.filter(pk=asked_cancel.pk).update(stop_request=Run.StopRequest.CANCEL)

    result = run_sweep_stale(stale_after=timedelta(seconds=90))
    assert result.requeued == [stale.pk] and result.stopped == [asked_cancel.pk]
    assert sent["run"] == [stale.pk]
    stale.refresh_from_db()
    assert (stale.status, stale.worker) == (S.QUEUED, "")
    assert Run.objects.get(pk=asked_cancel.pk).status == S.CANCELLED
    assert Run.objects.get(pk=fresh.pk).status == S.RUNNING
    assert "resumes after round 0" in RunEvent.objects.filter(run=stale).last().message
    # a second sweep right away finds nothing to do
    assert run_sweep_stale(stale_after=timedelta(seconds=90)).requeued == []


@pytest.mark.django_db(transaction=True)
def test_sweep_resends_a_queued_run_whose_message_was_lost(sent):
    lost, recent = RunFactory(), RunFactory()
    Run.objects.filter(pk=lost.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    Run.objects.filter(pk=recent.pk).update(heartbeat_at=timezone.now())
    result = run_sweep_stale(resend_after=timedelta(minutes=15))
    assert result.resent == [lost.pk] and sent["run"] == [lost.pk]
    assert run_sweep_stale(resend_after=timedelta(minutes=15)).resent == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("control", "allowed"),
    [
        ("pause", {S.RUNNING}),
        ("cancel", {S.QUEUED, S.RUNNING, S.PAUSED, S.WAITING}),
        ("resume", {S.PAUSED}),
        ("retry", {S.FAILED}),
        ("delete", {S.QUEUED, S.PAUSED, S.WAITING, S.SUCCEEDED, S.FAILED, S.CANCELLED}),
    ],
)
def test_controls_refuse_other_states_with_a_clear_message(editor_run, sent, control, allowed):
    user, run = editor_run
    services = {"pause": run_pause, "cancel": run_cancel, "resume": run_resume,
                "retry": run_retry, "delete": run_delete}
    for state in S.values:
        Run.objects.filter(pk=run.pk).update(status=state)
        run.refresh_from_db()
        if state in allowed:
            continue
        with pytest.raises(ValidationError) as exc:
            services[control](user=user, run=run)
        assert state in str(exc.value), (control, state)
        assert Run.objects.get(pk=run.pk).status == state


@pytest.mark.django_db
def test_retry_keeps_rounds_clears_the_error_and_requeues(
    editor_run, sent, django_capture_on_commit_callbacks
):
    user, run = editor_run
    RoundFactory(run=run, index=0)
    Run.objects.filter(pk=run.pk).update(status=S.FAILED, error="boom", current_round=0,
                                         finished_at=timezone.now())
    run.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        run_retry(user=user, run=run)
    run.refresh_from_db()
    assert (run.status, run.error, run.finished_at) == (S.QUEUED, "", None)
    assert sent["run"] == [run.pk] and Round.objects.filter(run=run).count() == 1
    assert "it had failed: boom" in RunEvent.objects.filter(run=run).last().message


@pytest.mark.django_db
def test_delete_removes_the_run_and_sends_artifact_removal(
    editor_run, sent, django_capture_on_commit_callbacks
):
    user, run = editor_run
    Run.objects.filter(pk=run.pk).update(status=S.SUCCEEDED)
    run.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        run_delete(user=user, run=run)
    assert not Run.objects.filter(pk=run.pk).exists()
    assert sent["delete"] == [run.pk]


@pytest.mark.django_db
def test_artifacts_task_removes_the_folder_of_a_deleted_run_only(settings, tmp_path):
    from apps.runs.artifacts import run_artifacts_dir
    from workers.tasks.runs import run_artifacts_delete

    settings.STUDIO_ARTIFACTS_DIR = tmp_path
    run = RunFactory()
    folder = run_artifacts_dir(run.pk) / "checkpoints" / "round-000"
    folder.mkdir(parents=True)
    assert run_artifacts_delete.run(run.pk) is False and folder.exists()
    run_id = run.pk
    run.delete()
    assert run_artifacts_delete.run(run_id) is True
    assert not run_artifacts_dir(run_id).exists()


def test_beat_sweeps_on_the_default_queue_and_the_gpu_task_is_routed_to_gpu(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-stale-runs"]
    assert entry["task"] == TaskName.RUN_SWEEP
    assert entry["options"]["queue"] == "default"
    assert settings.CELERY_TASK_ROUTES[TaskName.RUN_EXECUTE] == {"queue": "gpu"}
    limits = settings.CELERY_TASK_ANNOTATIONS[TaskName.RUN_EXECUTE]
    assert limits["time_limit"] > limits["soft_time_limit"] > 0


def test_task_module_does_not_import_torch():
    import subprocess
    import sys

    code = ("import django, os, sys; os.environ['DJANGO_SETTINGS_MODULE']='config.settings.test';"
            "django.setup(); import workers.tasks.runs; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
