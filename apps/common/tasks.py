"""Sending Celery tasks from the web: by name, to the queue the task belongs to. The web
never imports the task modules (and with them the training engine); names and queues come
from ``workers.queues``. Callers send after commit (``transaction.on_commit``)."""

from __future__ import annotations

from workers.queues import QUEUE_OF, TaskName


def enqueue(name: TaskName, *args: object) -> None:
    """Send task ``name`` now, to its queue."""
    from config.celery import app

    app.send_task(str(name), args=list(args), queue=str(QUEUE_OF[name]))
