import itertools

import pytest

from apps.runs.models import Run, RunStatus
from apps.runs.states import ALLOWED, TransitionError, run_claim, run_heartbeat, transition
from tests.factories import RunFactory

S = RunStatus
EXPECTED = {
    (S.QUEUED, S.RUNNING), (S.QUEUED, S.CANCELLED), (S.QUEUED, S.FAILED),
    (S.RUNNING, S.PAUSED), (S.RUNNING, S.SUCCEEDED), (S.RUNNING, S.FAILED),
    (S.RUNNING, S.CANCELLED), (S.RUNNING, S.QUEUED), (S.RUNNING, S.WAITING),
    (S.PAUSED, S.QUEUED), (S.PAUSED, S.CANCELLED),
    (S.WAITING, S.QUEUED), (S.WAITING, S.CANCELLED),
}
ALL_PAIRS = list(itertools.product(S.values, S.values))


def test_the_table_is_the_documented_machine():
    assert {(a, b) for a, targets in ALLOWED.items() for b in targets} == EXPECTED


@pytest.mark.django_db
@pytest.mark.parametrize(("current", "target"), sorted(EXPECTED))
def test_allowed_transitions(current, target):
    run = RunFactory(status=current)
    transition(run, target, error="boom" if target == S.FAILED else "")
    assert Run.objects.get(pk=run.pk).status == target == run.status
    if target in (S.SUCCEEDED, S.FAILED, S.CANCELLED):
        assert run.finished_at is not None
    if target == S.RUNNING:
        assert run.started_at is not None and run.heartbeat_at is not None
    if target == S.FAILED:
        assert run.error == "boom"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("current", "target"), [p for p in ALL_PAIRS if p not in EXPECTED]
)
def test_refused_transitions_list_the_allowed_targets(current, target):
    run = RunFactory(status=current)
    with pytest.raises(TransitionError) as exc:
        transition(run, target)
    allowed = ", ".join(sorted(ALLOWED[current])) or "none (final state)"
    assert str(exc.value) == (
        f"run {run.pk}: cannot go from {current} to {target}; allowed from {current}: {allowed}"
    )
    assert Run.objects.get(pk=run.pk).status == current


@pytest.mark.django_db
def test_unknown_status_refused():
    run = RunFactory()
    with pytest.raises(TransitionError, match="unknown status 'done'"):
        transition(run, "done")


@pytest.mark.django_db
def test_stale_object_loses_to_a_concurrent_change():
    run = RunFactory(status=S.RUNNING)
    stale = Run.objects.get(pk=run.pk)
    transition(run, S.SUCCEEDED)
    with pytest.raises(TransitionError, match="changed meanwhile \\(now succeeded\\)"):
        transition(stale, S.FAILED)
    assert Run.objects.get(pk=run.pk).status == S.SUCCEEDED


@pytest.mark.django_db
def test_requeue_clears_the_worker_and_keeps_first_start():
    run = RunFactory()
    assert run_claim(run.pk, "w1")
    run.refresh_from_db()
    first_start = run.started_at
    transition(run, S.QUEUED)
    assert (run.worker, run.claimed_at) == ("", None)
    assert run_claim(run.pk, "w2")
    run.refresh_from_db()
    assert run.worker == "w2" and run.started_at == first_start


@pytest.mark.django_db
def test_claim_twice_only_first_wins():
    run = RunFactory()
    assert run_claim(run.pk, "worker-1") is True
    assert run_claim(run.pk, "worker-2") is False
    run.refresh_from_db()
    assert (run.status, run.worker) == (S.RUNNING, "worker-1")
    assert run.claimed_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.PAUSED, S.SUCCEEDED, S.FAILED, S.CANCELLED])
def test_claim_refuses_runs_that_are_not_queued(status):
    run = RunFactory(status=status)
    assert run_claim(run.pk, "w") is False
    assert Run.objects.get(pk=run.pk).status == status


@pytest.mark.django_db
def test_heartbeat_only_for_the_owning_worker():
    run = RunFactory()
    run_claim(run.pk, "w1")
    assert run_heartbeat(run.pk, "w1")
    assert not run_heartbeat(run.pk, "w2")
    transition(Run.objects.get(pk=run.pk), S.CANCELLED)
    assert not run_heartbeat(run.pk, "w1")
