"""Large example imports on the default queue.

The task takes the job's id; ``import_job_run`` claims it with a conditional update (a
redelivered message finds it claimed and returns), streams the stored upload into the
project in one transaction and records the outcome.
"""

from __future__ import annotations

from celery import shared_task

from workers.queues import TaskName


@shared_task(name=TaskName.EXAMPLES_IMPORT, acks_late=True, soft_time_limit=3600,
             time_limit=3660)
def examples_import(job_id: int) -> str:
    from apps.projects.import_jobs import import_job_run

    import_job_run(job_id=job_id)
    return "done"
