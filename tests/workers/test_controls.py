"""Cancel, pause/resume and retry of runs on real workers."""

import time

import pytest

from apps.runs.models import Round, Run, RunStatus
from apps.runs.services import run_cancel, run_pause, run_resume, run_retry
from tests.workers.conftest import wait_for
from tests.workers.helpers import (
    FINAL,
    describe,
    launch,
    run_parts,
    starts,
    status,
    train_progress,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_cancel_stops_a_running_run_within_seconds(workers):
    parts = run_parts()
    run = launch(parts, rounds=2, steps=5000)
    wait_for(lambda: train_progress(run, round_=1), timeout=60, what="training to start",
             on_fail=lambda: describe(run))
    asked = time.monotonic()
    run_cancel(user=parts["user"], run=Run.objects.get(pk=run.pk))
    wait_for(lambda: status(run) in FINAL, timeout=15, what="the run to stop",
             interval=0.05, on_fail=lambda: describe(run))
    took = time.monotonic() - asked
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED, describe(run)
    assert took < 10, f"cancel took {took:.1f} s"  # the stop request is polled every 2 s
    # the round in flight is discarded, finished ones are kept
    assert list(Round.objects.filter(run=run).values_list("index", flat=True)) == [0]
    assert run.stop_request == "" and run.finished_at is not None


def test_pause_keeps_finished_rounds_and_resume_continues_after_them(workers):
    parts = run_parts()
    # enough steps that the pause (polled every 2 s) lands before the run ends, even on a
    # quiet machine where 40 steps a round finished the run first
    run = launch(parts, rounds=3, steps=300)
    wait_for(lambda: train_progress(run, round_=2), timeout=90, what="round 2 to train",
             on_fail=lambda: describe(run))
    run_pause(user=parts["user"], run=Run.objects.get(pk=run.pk))
    wait_for(lambda: status(run) == RunStatus.PAUSED, timeout=15, what="the pause",
             on_fail=lambda: describe(run))
    kept = list(Round.objects.filter(run=run).order_by("index").values_list("id", "index"))
    assert [i for _, i in kept] in ([0, 1], [0, 1, 2])
    time.sleep(1.5)  # paused means idle: nothing more is written
    assert Round.objects.filter(run=run).count() == len(kept)

    run_resume(user=parts["user"], run=Run.objects.get(pk=run.pk))
    wait_for(lambda: status(run) in (RunStatus.SUCCEEDED, RunStatus.FAILED),
             timeout=120, what="the resumed run to finish", on_fail=lambda: describe(run))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, describe(run)
    after = list(Round.objects.filter(run=run).order_by("index").values_list("id", "index"))
    assert [i for _, i in after] == [0, 1, 2, 3]
    assert after[: len(kept)] == kept  # the rounds kept were not written again
    executions = starts(run)
    assert len(executions) == 2 and executions[1].endswith(f"after round {kept[-1][1]}")


def test_retry_continues_a_failed_run_from_its_last_finished_round(workers):
    from apps.runs.artifacts import run_artifacts_dir

    parts = run_parts()
    # enough steps that the pause lands before the run ends, even on a busy machine
    run = launch(parts, rounds=3, steps=300)
    wait_for(lambda: train_progress(run, round_=2), timeout=90, what="round 2 to train",
             on_fail=lambda: describe(run))
    run_pause(user=parts["user"], run=Run.objects.get(pk=run.pk))
    wait_for(lambda: status(run) == RunStatus.PAUSED, timeout=15, what="the pause",
             on_fail=lambda: describe(run))
    kept = list(Round.objects.filter(run=run).order_by("index").values_list("id", "index"))

    # A real failure: the artifacts store loses the run's checkpoints (a file stands where
    # the folder was), so the resumed execution cannot load its last finished round.
    checkpoints = run_artifacts_dir(run.pk) / "checkpoints"
    moved = checkpoints.with_name("checkpoints.moved")
    checkpoints.rename(moved)
    checkpoints.write_text("not a folder")
    run_resume(user=parts["user"], run=Run.objects.get(pk=run.pk))
    wait_for(lambda: status(run) in FINAL, timeout=60, what="the run to fail",
             on_fail=lambda: describe(run))
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED, describe(run)
    assert run.error, describe(run)
    assert list(Round.objects.filter(run=run).order_by("index").values_list("id", "index")) \
        == kept

    # The store is mended; retry continues after the last finished round.
    checkpoints.unlink()
    moved.rename(checkpoints)
    run_retry(user=parts["user"], run=run)
    wait_for(lambda: status(run) in (RunStatus.SUCCEEDED, RunStatus.FAILED),
             timeout=120, what="the retried run to finish", on_fail=lambda: describe(run))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.error == "", describe(run)
    after = list(Round.objects.filter(run=run).order_by("index").values_list("id", "index"))
    assert [i for _, i in after] == [0, 1, 2, 3]
    assert after[: len(kept)] == kept
    assert starts(run)[-1].endswith(f"after round {kept[-1][1]}")
