"""The beat's safety net: requeue runs whose worker went silent, send again queued runs
whose message a broker lost. Runs on the default queue every ``STUDIO_SWEEP_INTERVAL_S``."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.runs.dispatch import enqueue_run_on_commit
from apps.runs.models import Run, RunStatus
from apps.runs.recording import run_event_log, run_resume_round
from apps.runs.states import transition


def run_mark_enqueued(*, run: Run) -> None:
    """A queued run's ``heartbeat_at`` is when its task message was last sent: the sweep
    sends it again when a broker lost it (see :func:`run_sweep_stale`)."""
    Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(heartbeat_at=timezone.now())


@dataclasses.dataclass
class SweepResult:
    # stale running runs sent again; stale runs that had a stop request (paused or
    # cancelled); queued runs whose message was sent again
    requeued: list[int] = dataclasses.field(default_factory=list)
    stopped: list[int] = dataclasses.field(default_factory=list)
    resent: list[int] = dataclasses.field(default_factory=list)


def _setting_seconds(name: str, default: float) -> timedelta:
    return timedelta(seconds=float(getattr(settings, name, default)))


def run_sweep_stale(
    *, stale_after: timedelta | None = None, resend_after: timedelta | None = None,
    now: datetime | None = None,
) -> SweepResult:
    """The periodic safety net (beat, every few seconds):

    - a running run whose worker sent no heartbeat for ``stale_after`` (killed, machine
      lost, network cut) goes back to queued and is sent again; it resumes after its last
      stored round on the next free GPU worker. A stale run that was asked to pause or
      cancel is paused or cancelled instead.
    - a queued run whose task message was sent more than ``resend_after`` ago and never
      claimed (a broker restarted without persistence loses messages) is sent again; a
      duplicate message is harmless, the claim lets only one through.
    """
    now = now or timezone.now()
    stale_after = stale_after or _setting_seconds("STUDIO_RUN_STALE_AFTER_S", 90)
    resend_after = resend_after or _setting_seconds("STUDIO_RUN_RESEND_AFTER_S", 900)
    result = SweepResult()
    stale_ids = list(Run.objects.filter(
        status=RunStatus.RUNNING, heartbeat_at__lt=now - stale_after
    ).values_list("pk", flat=True))
    for run_id in stale_ids:
        with transaction.atomic():
            run = Run.objects.select_for_update(skip_locked=True).filter(
                pk=run_id, status=RunStatus.RUNNING, heartbeat_at__lt=now - stale_after
            ).first()
            if run is None:
                continue  # it sent a heartbeat meanwhile, or another sweep has it
            age = (now - run.heartbeat_at).total_seconds()
            last = f"no heartbeat from worker {run.worker or '?'} for {age:.0f} s"
            if run.stop_request == Run.StopRequest.CANCEL:
                transition(run, RunStatus.CANCELLED)
                run_event_log(run=run, message=f"{last}; cancelled as asked")
                result.stopped.append(run_id)
            elif run.stop_request == Run.StopRequest.PAUSE:
                transition(run, RunStatus.PAUSED)
                run_event_log(run=run, message=f"{last}; paused as asked")
                result.stopped.append(run_id)
            else:
                transition(run, RunStatus.QUEUED)
                run_mark_enqueued(run=run)
                run_event_log(run=run, message=(
                    f"{last}; requeued, it resumes after round {run_resume_round(run=run)}"
                ))
                enqueue_run_on_commit(run_id)
                result.requeued.append(run_id)
    lost = Run.objects.filter(status=RunStatus.QUEUED).annotate(
        sent=Coalesce("heartbeat_at", "created_at")
    ).filter(Q(sent__lt=now - resend_after)).values_list("pk", flat=True)
    for run_id in list(lost):
        with transaction.atomic():
            if Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
                heartbeat_at=timezone.now()
            ):
                enqueue_run_on_commit(run_id)
                result.resent.append(run_id)
    return result
