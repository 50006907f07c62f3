"""Run lifecycle tasks: execute a run on the gpu queue; sweep stale runs and delete a
deleted run's artifacts on the default queue.

Tasks take ids. ``run_execute`` claims its run with a conditional update (queued ->
running only if still queued), so a redelivered or duplicated message returns at once. The
training engine (torch) is imported inside the task, never at module import: the default
worker and beat load this module too, and their image has no torch.

Failures are sorted: a dropped database connection is retried (and, when it stays down,
the run is handed back to the queue); an ``EngineError`` (bad spec, unknown skill, teacher
failing for good) fails the run with its reason; anything unexpected fails it too, with the
exception in ``Run.error`` and the traceback in the worker log.
"""

from __future__ import annotations

import os
import shutil
import socket
import time

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from celery.utils.log import get_task_logger
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection

log = get_task_logger(__name__)

DB_ERRORS = (OperationalError, InterfaceError)


@worker_process_init.connect
def _preload_engine(**_kwargs) -> None:
    """GPU workers (STUDIO_PRELOAD_ENGINE=1) import torch and the engine when the pool
    process starts, so a launched run reaches its first step in about a second."""
    if os.environ.get("STUDIO_PRELOAD_ENGINE", "").lower() in ("1", "true", "yes"):
        started = time.perf_counter()
        import workers.engine.loop  # noqa: F401
        import workers.recorder  # noqa: F401

        log.info("engine preloaded in %.1f s", time.perf_counter() - started)


def worker_identity(hostname: str | None) -> str:
    """``celery-node-name:pid``: unique per pool process, stable for one execution."""
    return f"{hostname or socket.gethostname()}:{os.getpid()}"[:200]


@shared_task(name="workers.run_tasks.run_execute", bind=True, acks_late=True,
             ignore_result=True, max_retries=None)
def run_execute(self, run_id: int) -> str:
    """Claim run ``run_id`` and train it to its end (or until paused, cancelled, failed).

    Returns what happened: skipped (someone else has it, or it is not queued), succeeded,
    paused, cancelled, failed, requeued, or lost (the sweep gave it away meanwhile).
    """
    from apps.runs.states import run_claim
    from workers.recorder import db_retry

    close_old_connections()
    worker = worker_identity(self.request.hostname)
    try:
        won = db_retry(lambda: run_claim(run_id, worker), what=f"claim of run {run_id}")
    except DB_ERRORS as exc:
        # Nothing is claimed yet, so sending the message again is safe.
        connection.close()
        raise self.retry(exc=exc, countdown=15) from exc
    if not won:
        log.info("run %s is not queued (another worker has it, or it was stopped): skipped",
                 run_id)
        return "skipped"
    try:
        return execute_claimed(run_id, worker)
    finally:
        close_old_connections()


def _spec_for(run):
    """The run's frozen spec, with the teacher's API key read from its config row."""
    from workers.engine.spec import RunSpec

    data = dict(run.spec)
    data["teacher"] = {**data.get("teacher", {}), "api_key": run.teacher_config.api_key}
    return RunSpec.from_dict(data)


def _items_for(run):
    """(pool, eval items) from the project's examples, or None for the family's sampler.

    The pool is the approved train split as it was when the run was launched, without the
    run's own synthesized items (the engine carries those in its checkpoints), so a resumed
    run draws from the same pool as an uninterrupted one.
    """
    from apps.projects.models import Example
    from workers.engine.tasks.base import Item

    def items(qs) -> list[Item] | None:
        out = [
            Item(id=e.key or f"example-{e.pk}", prompt=e.prompt, answer=e.answer,
                 skills=tuple(sorted(s.name for s in e.skills.all())), level=e.level,
                 meta={"example": e.pk, **(e.meta or {})})
            for e in qs.order_by("pk").prefetch_related("skills")
        ]
        return out or None

    approved = Example.objects.filter(
        project_id=run.project_id, review_status=Example.ReviewStatus.APPROVED,
        created_at__lte=run.created_at,
    ).exclude(round__run=run)
    pool = items(approved.filter(split=Example.Split.TRAIN))
    eval_items = items(approved.filter(split__in=[Example.Split.EVAL, Example.Split.HELD_OUT]))
    return pool, eval_items


def _family_skills(spec) -> list[dict]:
    from workers.engine.tasks import build_family

    family = build_family(spec.task.family, spec.task.options)
    return [{"name": s.name, "description": s.description, "parent": s.parent}
            for s in family.skills()]


def execute_claimed(run_id: int, worker: str) -> str:
    """Run a claimed run to its end and hand it on; see :func:`run_execute`."""
    from apps.runs.artifacts import run_artifacts_dir
    from apps.runs.models import Run, RunStatus
    from apps.runs.recording import (
        RunOwnershipLost,
        run_event_log,
        run_resume_round,
        run_skills_ensure,
        run_worker_release,
    )
    from workers.engine.errors import EngineError, RunCancelled
    from workers.recorder import LOST, RunRecorder, db_retry

    def release(status: str, message: str = "", error: str = "") -> str:
        try:
            done = db_retry(lambda: run_worker_release(
                run_id=run_id, worker=worker, status=status, message=message, error=error,
            ), what=f"run {run_id} -> {status}")
        except DB_ERRORS:
            log.exception("run %s: could not record %s; the sweep requeues it once its "
                          "heartbeat is stale", run_id, status)
            return "requeued"
        return status if done else "lost"

    recorder = None
    try:
        run = db_retry(lambda: Run.objects.select_related("teacher_config").get(pk=run_id))
        spec = _spec_for(run)
        resume_round = db_retry(lambda: run_resume_round(run=run))
        pool, eval_items = db_retry(lambda: _items_for(run))
        skills = _family_skills(spec)
        db_retry(lambda: run_skills_ensure(run=run, skills=skills))
        where = "from the start" if resume_round is None else f"after round {resume_round}"
        db_retry(lambda: run_event_log(run=run_id, message=f"worker {worker} starts {where}"))
        recorder = RunRecorder(
            run=run, worker=worker,
            heartbeat_s=float(getattr(settings, "STUDIO_RUN_HEARTBEAT_S", 2.0)),
            progress_interval_s=float(getattr(settings, "STUDIO_RUN_PROGRESS_S", 2.0)),
        )
        from workers.engine.loop import run_loop

        with recorder:
            run_loop(spec, artifacts_dir=run_artifacts_dir(run_id), hooks=recorder,
                     resume_round=resume_round, pool=pool, eval_items=eval_items)
    except (RunCancelled, RunOwnershipLost) as exc:
        reason = recorder.reason if recorder is not None else None
        if reason == LOST or isinstance(exc, RunOwnershipLost):
            log.warning("run %s: this worker no longer holds it (%s); stopped", run_id, exc)
            return "lost"
        last = run_resume_round(run=Run(pk=run_id))
        if reason == "pause":
            return release(RunStatus.PAUSED, f"paused; rounds 0..{last} are kept")
        if reason == "cancel":
            return release(RunStatus.CANCELLED, f"cancelled after round {last}")
        return release(RunStatus.FAILED, error=f"stopped unexpectedly: {exc}")
    except SoftTimeLimitExceeded:
        limit = getattr(settings, "STUDIO_RUN_TIME_LIMIT_S", None)
        return release(RunStatus.FAILED, error=(
            f"time limit of {limit} s per execution exceeded (STUDIO_RUN_TIME_LIMIT_S); "
            "retry continues from the last finished round"
        ))
    except EngineError as exc:
        return release(RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    except DB_ERRORS as exc:
        log.warning("run %s: database unreachable (%s); handing it back to the queue",
                    run_id, exc)
        connection.close()
        return release(RunStatus.QUEUED, "database unreachable mid-run; requeued")
    except Exception as exc:
        log.exception("run %s failed", run_id)
        return release(RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    if recorder.first_train_step_at is not None:
        log.info("run %s: first training step at %.3f", run_id, recorder.first_train_step_at)
    return release(RunStatus.SUCCEEDED, "finished")


@shared_task(name="workers.run_tasks.run_sweep", acks_late=True, ignore_result=True,
             soft_time_limit=120, time_limit=180)
def run_sweep() -> dict:
    """Beat: requeue runs whose worker died, resend queued runs a broker lost."""
    from apps.runs.recording import run_sweep_stale

    result = run_sweep_stale()
    if result.requeued or result.stopped or result.resent:
        log.warning("sweep: requeued %s, stopped %s, resent %s", result.requeued,
                    result.stopped, result.resent)
    return {"requeued": result.requeued, "stopped": result.stopped, "resent": result.resent}


@shared_task(name="workers.run_tasks.run_artifacts_delete", acks_late=True, ignore_result=True,
             soft_time_limit=600, time_limit=660)
def run_artifacts_delete(run_id: int) -> bool:
    """Remove a deleted run's folder from the artifacts store (idempotent)."""
    from apps.runs.artifacts import run_artifacts_dir
    from apps.runs.models import Run

    if Run.objects.filter(pk=run_id).exists():
        log.error("run %s still exists: its artifacts are kept", run_id)
        return False
    path = run_artifacts_dir(run_id)
    if path.exists():
        shutil.rmtree(path)
        log.info("removed %s", path)
    return True
