"""Run tasks: execute a run on the gpu queue; sweep stale runs and delete a
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
import sys
import time

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_init, worker_process_init
from celery.utils.log import get_task_logger
from django.conf import settings
from django.db import close_old_connections, connection

from apps.common.db import DB_ERRORS
from workers.queues import TaskName

log = get_task_logger(__name__)


@worker_init.connect
def _remember_pool_size(sender=None, **_kwargs) -> None:
    """The pool's size, for its processes (they inherit the environment)."""
    concurrency = getattr(sender, "concurrency", None)
    if isinstance(concurrency, int) and concurrency > 0:
        os.environ["STUDIO_POOL_SIZE"] = str(concurrency)


def threads_per_process(cpus: int, pool_size: int) -> int:
    """Torch threads for each of ``pool_size`` processes sharing ``cpus`` cores."""
    return max(1, cpus // max(1, pool_size))


@worker_process_init.connect
def _share_cores(**_kwargs) -> None:
    """Each pool process trains with its share of the cores. Left alone, torch starts a
    thread per core in every process, and two runs at once on two cores each go several
    times slower than one after the other. ``OMP_NUM_THREADS`` set by the operator wins."""
    if os.environ.get("OMP_NUM_THREADS"):
        return
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    threads = threads_per_process(cpus, int(os.environ.get("STUDIO_POOL_SIZE") or 1))
    os.environ["OMP_NUM_THREADS"] = str(threads)  # read by torch when it is imported
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


@worker_process_init.connect
def _preload_engine(**_kwargs) -> None:
    """GPU workers (STUDIO_PRELOAD_ENGINE=1) import torch and the engine when the pool
    process starts, so a launched run reaches its first step in about a second."""
    if os.environ.get("STUDIO_PRELOAD_ENGINE", "").lower() in ("1", "true", "yes"):
        from workers.engine.api import preload

        started = time.perf_counter()
        preload()
        log.info("engine preloaded in %.1f s", time.perf_counter() - started)


def worker_identity(hostname: str | None) -> str:
    """``celery-node-name:pid``: unique per pool process, stable for one execution."""
    return f"{hostname or socket.gethostname()}:{os.getpid()}"[:200]


@shared_task(name=TaskName.RUN_EXECUTE, bind=True, acks_late=True, ignore_result=True,
             max_retries=None)
def run_execute(self, run_id: int) -> str:
    """Claim run ``run_id`` and train it to its end (or until paused, cancelled, failed).

    Returns what happened: skipped (someone else has it, or it is not queued), succeeded,
    paused, waiting (for review), queued (review finished as it stopped), cancelled,
    failed, requeued, or lost (the sweep gave it away meanwhile).
    """
    from apps.common.db import db_retry
    from apps.runs.states import run_claim

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


def execute_claimed(run_id: int, worker: str) -> str:
    """Run a claimed run to its end and hand it on; see :func:`run_execute`."""
    from apps.common.db import db_retry
    from apps.runs.artifacts import run_artifacts_dir
    from apps.runs.models import Run, RunStatus
    from apps.runs.pool import PoolChanged, pool_check
    from apps.runs.recording import (
        LOST,
        RunOwnershipLost,
        RunRecorder,
        run_event_log,
        run_resume_round,
        run_skills_ensure,
        run_worker_release,
    )
    from apps.runs.review_wait import run_release_waiting
    from apps.runs.selectors import run_for_worker, run_items, run_spec_for_worker
    from workers.engine.api import (
        EngineError,
        RunCancelled,
        WaitForReview,
        family_skills,
        run_loop,
    )

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
        run = db_retry(lambda: run_for_worker(run_id=run_id))
        spec = run_spec_for_worker(run=run)
        resume_round = db_retry(lambda: run_resume_round(run=run))
        pool, eval_items = db_retry(lambda: run_items(run=run))
        pool_check(run=run, items=pool)
        skills = family_skills(spec.task.family, spec.task.options)
        db_retry(lambda: run_skills_ensure(run=run, skills=skills))
        where = "from the start" if resume_round is None else f"after round {resume_round}"
        db_retry(lambda: run_event_log(run=run_id, message=f"worker {worker} starts {where}"))
        recorder = RunRecorder(
            run=run, worker=worker,
            heartbeat_s=float(getattr(settings, "STUDIO_RUN_HEARTBEAT_S", 2.0)),
            progress_interval_s=float(getattr(settings, "STUDIO_RUN_PROGRESS_S", 2.0)),
        )
        with recorder:
            run_loop(spec, artifacts_dir=run_artifacts_dir(run_id), hooks=recorder,
                     resume_round=resume_round, pool=pool, eval_items=eval_items)
    except WaitForReview as exc:
        # Before the round, nothing of it written: it waits for the reviewers, and is
        # queued again when the last of its items is decided.
        waiting_round = exc.round
        try:
            went = db_retry(lambda: run_release_waiting(run_id=run_id, worker=worker,
                                                        round_index=waiting_round),
                            what=f"run {run_id} -> waiting")
        except DB_ERRORS:
            log.exception("run %s: could not record waiting; the sweep requeues it", run_id)
            return "requeued"
        return went or "lost"
    except PoolChanged as exc:
        return release(RunStatus.FAILED, error=str(exc))
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


@shared_task(name=TaskName.RUN_SWEEP, acks_late=True, ignore_result=True,
             soft_time_limit=120, time_limit=180)
def run_sweep() -> dict:
    """Beat: requeue runs whose worker died, resend queued runs a broker lost."""
    from apps.runs.sweep import run_sweep_stale

    result = run_sweep_stale()
    if result.requeued or result.stopped or result.resent:
        log.warning("sweep: requeued %s, stopped %s, resent %s", result.requeued,
                    result.stopped, result.resent)
    return {"requeued": result.requeued, "stopped": result.stopped, "resent": result.resent}


@shared_task(name=TaskName.RUN_ARTIFACTS_DELETE, acks_late=True, ignore_result=True,
             soft_time_limit=600, time_limit=660)
def run_artifacts_delete(run_id: int) -> bool:
    """Remove a deleted run's folder from the artifacts store (idempotent)."""
    from apps.runs.artifacts import run_artifacts_dir
    from apps.runs.selectors import run_exists

    if run_exists(run_id=run_id):
        log.error("run %s still exists: its artifacts are kept", run_id)
        return False
    path = run_artifacts_dir(run_id)
    if path.exists():
        shutil.rmtree(path)
        log.info("removed %s", path)
    return True
