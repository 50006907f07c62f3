"""The run state machine: the only code that changes ``Run.status``.

queued -> running -> (paused) -> succeeded / failed / cancelled. A running run whose
worker died goes back to queued (the stale sweep) and resumes from its last finished round;
a paused run is resumed by queueing it again. A run whose next round needs synthesized items
that people have not reviewed yet waits (running -> waiting, no worker holds it, the sweep
leaves it alone) and is queued again when the last of them is decided
(``apps.runs.review_wait``).
"""

from __future__ import annotations

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.runs.models import Run, RunStatus

S = RunStatus

ALLOWED: dict[str, frozenset[str]] = {
    S.QUEUED: frozenset({S.RUNNING, S.CANCELLED, S.FAILED}),
    S.RUNNING: frozenset({S.PAUSED, S.WAITING, S.SUCCEEDED, S.FAILED, S.CANCELLED,
                          S.QUEUED}),
    S.PAUSED: frozenset({S.QUEUED, S.CANCELLED}),
    S.WAITING: frozenset({S.QUEUED, S.CANCELLED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}
TERMINAL = frozenset(s for s, targets in ALLOWED.items() if not targets)

# The controls a person has over a run -> the states it may be used in. The one table: the
# services refuse a control in any other state, and the run page shows the buttons of
# ``run_controls`` (in this order).
CONTROLS: dict[str, frozenset[str]] = {
    "pause": frozenset({S.RUNNING}),
    "resume": frozenset({S.PAUSED}),
    "cancel": frozenset({S.QUEUED, S.RUNNING, S.PAUSED, S.WAITING}),
    "retry": frozenset({S.FAILED}),
    # Not while running: the worker may be writing a checkpoint (cancel it first).
    "delete": frozenset({S.QUEUED, S.PAUSED, S.WAITING, S.SUCCEEDED, S.FAILED,
                         S.CANCELLED}),
}
# A stop already asked of a running run's worker hides the buttons it makes pointless:
# asking again, or a pause after a cancel (the cancel wins).
HIDDEN_WHILE_STOPPING: dict[str, frozenset[str]] = {
    Run.StopRequest.PAUSE: frozenset({"pause"}),
    Run.StopRequest.CANCEL: frozenset({"pause", "cancel"}),
}


def control_allowed(action: str, status: str) -> bool:
    """Whether control ``action`` may be used on a run in ``status`` (unknown: False)."""
    return status in CONTROLS.get(action, frozenset())


def run_controls(status: str, stop_request: str = "") -> list[str]:
    """The controls to offer for a run in ``status`` with ``stop_request`` pending."""
    hidden = HIDDEN_WHILE_STOPPING.get(stop_request, frozenset()) if status == S.RUNNING \
        else frozenset()
    return [action for action, states in CONTROLS.items()
            if status in states and action not in hidden]


class TransitionError(Exception):
    """A refused status change; the message lists the allowed targets."""

    def __init__(self, run_id: int, current: str, target: str, reason: str = ""):
        self.run_id = run_id
        self.current = current
        self.target = target
        allowed = ", ".join(sorted(ALLOWED.get(current, ()))) or "none (final state)"
        detail = reason or f"allowed from {current}: {allowed}"
        super().__init__(f"run {run_id}: cannot go from {current} to {target}; {detail}")


def can_transition(current: str, target: str) -> bool:
    return target in ALLOWED.get(current, frozenset())


def _stamps(target: str, error: str) -> dict:
    now = timezone.now()
    fields: dict = {"status": target}
    if target == S.RUNNING:
        fields.update(started_at=Coalesce(F("started_at"), now), heartbeat_at=now)
    if target in TERMINAL:
        fields["finished_at"] = now
    if target in TERMINAL or target in (S.PAUSED, S.QUEUED, S.WAITING):
        fields["stop_request"] = Run.StopRequest.NONE
    if target in (S.QUEUED, S.WAITING):
        fields.update(worker="", claimed_at=None)
    if target == S.FAILED:
        fields["error"] = error
    return fields


def transition(run: Run, to: str, *, error: str = "") -> Run:
    """Move ``run`` to ``to`` if allowed from its current status, atomically.

    The update is conditional on the status the caller saw, so two processes cannot both
    move the same run; the loser gets a TransitionError. ``run`` is refreshed in place.
    """
    if to not in S.values:
        raise TransitionError(run.pk, run.status, to, f"unknown status {to!r}")
    if not can_transition(run.status, to):
        raise TransitionError(run.pk, run.status, to)
    updated = Run.objects.filter(pk=run.pk, status=run.status).update(**_stamps(to, error))
    if not updated:
        current = Run.objects.filter(pk=run.pk).values_list("status", flat=True).first()
        raise TransitionError(
            run.pk, run.status, to,
            f"its status changed meanwhile (now {current or 'deleted'})",
        )
    run.refresh_from_db()
    return run


def run_claim(run_id: int, worker: str) -> bool:
    """queued -> running for ``worker``, only if still queued. True when this call won.

    A redelivered task message, or a second worker, finds the run no longer queued and
    must return without touching it.
    """
    now = timezone.now()
    updated = Run.objects.filter(pk=run_id, status=S.QUEUED).update(
        status=S.RUNNING, worker=worker, claimed_at=now, heartbeat_at=now,
        started_at=Coalesce(F("started_at"), now),
    )
    return updated == 1


def run_heartbeat(run_id: int, worker: str) -> bool:
    """Refresh the heartbeat; False when the run is no longer running for ``worker``
    (cancelled, requeued by the sweep, or claimed by someone else): the worker stops."""
    updated = Run.objects.filter(pk=run_id, status=S.RUNNING, worker=worker).update(
        heartbeat_at=timezone.now()
    )
    return updated == 1


def run_requeue_failed(run: Run) -> Run:
    """failed -> queued: a retry, the one way out of a final state. It continues from the
    last finished round; the error is cleared (it stays in the run's events)."""
    updated = Run.objects.filter(pk=run.pk, status=S.FAILED).update(
        status=S.QUEUED, error="", finished_at=None, worker="", claimed_at=None,
        stop_request=Run.StopRequest.NONE,
    )
    if not updated:
        current = Run.objects.filter(pk=run.pk).values_list("status", flat=True).first()
        raise TransitionError(
            run.pk, current or "deleted", S.QUEUED, "only a failed run can be retried"
        )
    run.refresh_from_db()
    return run


def run_release(run_id: int, worker: str, to: str, *, error: str = "") -> bool:
    """running -> ``to`` (queued, paused, waiting, succeeded, cancelled, failed) for the worker
    that holds the run; False when it no longer does (requeued, claimed elsewhere)."""
    if not can_transition(S.RUNNING, to):
        raise TransitionError(run_id, S.RUNNING, to)
    updated = Run.objects.filter(pk=run_id, status=S.RUNNING, worker=worker).update(
        **_stamps(to, error)
    )
    return updated == 1
