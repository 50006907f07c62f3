"""Two workers run two runs at once; no run is ever executed by two workers."""

import pytest

from apps.runs.dispatch import enqueue_run
from apps.runs.models import Round, Run, RunStatus
from tests.workers.conftest import wait_for
from tests.workers.helpers import describe, launch, run_parts, starts, status

pytestmark = [pytest.mark.integration, pytest.mark.slow]
DONE = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


def test_two_workers_two_runs_each_run_once_despite_duplicate_messages(workers):
    parts = run_parts()
    first = launch(parts, rounds=2, steps=30, name="first")
    enqueue_run(first.pk)  # a duplicate message: both idle workers race for the claim
    second = launch(parts, rounds=2, steps=30, name="second")
    enqueue_run(second.pk)
    enqueue_run(first.pk)  # and a late one, taken while (or after) the run goes on
    for run in (first, second):
        wait_for(lambda run=run: status(run) in DONE, timeout=150, what="both runs to finish",
                 on_fail=lambda run=run: describe(run))
    first, second = Run.objects.get(pk=first.pk), Run.objects.get(pk=second.pk)
    assert first.status == second.status == RunStatus.SUCCEEDED, describe(first)
    for run in (first, second):
        assert len(starts(run)) == 1, describe(run)  # executed exactly once
        assert list(Round.objects.filter(run=run).values_list("index", flat=True)) == [0, 1, 2]
    # on two different workers, at the same time
    assert first.worker.split("@")[0] != second.worker.split("@")[0]
    assert first.started_at < second.finished_at and second.started_at < first.finished_at
