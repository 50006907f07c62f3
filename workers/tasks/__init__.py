"""Celery entry points: thin tasks that take ids, call services and selectors of ``apps``
and the engine through ``workers.engine.api``, and record the result.

- ``runs``: train and evaluate a run (gpu queue); sweep stale runs and delete a deleted
  run's checkpoints (default queue).
- ``teachers``: teacher jobs such as skill extraction (default queue).
- ``imports``: large example imports (default queue).

Queues and task names are in ``workers.queues``. The engine never imports this package and
tasks never import views (import-linter checks both).
"""
