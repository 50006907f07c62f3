"""Queues and task names: the one place they are spelled.

The web sends tasks by name (it never imports the task modules, and with them torch), the
settings route them, the task modules register under these names and the tests check them.
Names do not follow module paths, so moving a task module never strands messages that are
already queued.
"""

from __future__ import annotations

from enum import StrEnum


class Queue(StrEnum):
    DEFAULT = "default"  # teacher calls, imports, exports, sweeps (the `worker` process)
    GPU = "gpu"  # training and evaluation (one `gpu-worker` per GPU)


class TaskName(StrEnum):
    RUN_EXECUTE = "runs.execute"
    RUN_SWEEP = "runs.sweep"
    RUN_ARTIFACTS_DELETE = "runs.artifacts_delete"
    SKILL_EXTRACT = "skills.extract"
    EXAMPLES_IMPORT = "examples.import"


QUEUE_OF: dict[TaskName, Queue] = {
    TaskName.RUN_EXECUTE: Queue.GPU,
    TaskName.RUN_SWEEP: Queue.DEFAULT,
    TaskName.RUN_ARTIFACTS_DELETE: Queue.DEFAULT,
    TaskName.SKILL_EXTRACT: Queue.DEFAULT,
    TaskName.EXAMPLES_IMPORT: Queue.DEFAULT,
}

# CELERY_TASK_ROUTES: plain strings, as Celery compares them.
ROUTES: dict[str, dict[str, str]] = {
    str(name): {"queue": str(queue)} for name, queue in QUEUE_OF.items()
}
