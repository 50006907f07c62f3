"""Handing runs to the GPU workers. Tasks are sent by name, so the web process does not
import the worker code (and with it the training engine)."""

from __future__ import annotations

from django.db import transaction

RUN_TASK_NAME = "workers.run_tasks.run_execute"
ARTIFACTS_DELETE_TASK_NAME = "workers.run_tasks.run_artifacts_delete"
GPU_QUEUE = "gpu"
DEFAULT_QUEUE = "default"


def enqueue_run(run_id: int) -> None:
    from config.celery import app

    app.send_task(RUN_TASK_NAME, args=[run_id], queue=GPU_QUEUE)


def enqueue_run_on_commit(run_id: int) -> None:
    """Send the task once the surrounding transaction commits (never before: the worker
    would not find the run)."""
    transaction.on_commit(lambda: enqueue_run(run_id))


def enqueue_artifacts_delete(run_id: int) -> None:
    from config.celery import app

    app.send_task(ARTIFACTS_DELETE_TASK_NAME, args=[run_id], queue=DEFAULT_QUEUE)


def enqueue_artifacts_delete_on_commit(run_id: int) -> None:
    """Remove a deleted run's checkpoints on a worker (they share the artifacts store; the
    web machine may not mount it)."""
    transaction.on_commit(lambda: enqueue_artifacts_delete(run_id))
