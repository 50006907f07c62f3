"""Handing runs to the workers: the run itself to the gpu queue, the removal of a deleted
run's checkpoints to the default queue (workers share the artifacts store; the web machine
may not mount it). Always after commit: the worker must find the run."""

from __future__ import annotations

from django.db import transaction

from apps.common.tasks import enqueue
from workers.queues import TaskName


def enqueue_run(run_id: int) -> None:
    enqueue(TaskName.RUN_EXECUTE, run_id)


def enqueue_run_on_commit(run_id: int) -> None:
    transaction.on_commit(lambda: enqueue_run(run_id))


def enqueue_artifacts_delete(run_id: int) -> None:
    enqueue(TaskName.RUN_ARTIFACTS_DELETE, run_id)


def enqueue_artifacts_delete_on_commit(run_id: int) -> None:
    transaction.on_commit(lambda: enqueue_artifacts_delete(run_id))
