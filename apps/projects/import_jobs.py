"""A large import on the default queue's worker: the job's run and its progress.

:func:`apps.projects.imports.import_job_start` creates the ``ImportJob`` and queues it; the
worker runs :func:`import_job_run`, which imports as the page does
(:func:`~apps.projects.imports.example_import`, one transaction) and writes the counts onto
the job's row while it runs: step 1 the rows, step 2 their skill links (on PostgreSQL the
links follow the rows and take about a third of the time). Pages and the API read them with
:func:`import_job_progress`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from apps.projects.imports import example_import, import_discard
from apps.projects.models import ImportJob

PROGRESS_EVERY_S = 0.5


class _ProgressRecorder:
    """Writes a running job's counts onto its row, at most every ``PROGRESS_EVERY_S``.

    The import writes its rows inside one transaction, which other connections cannot see
    until it commits; so the counts go through a connection of their own (autocommit), and
    any page reads them from the row, with no shared cache needed. ``SKIP LOCKED``: an
    update never waits for a lock on the row (it is skipped, and the next one catches up).
    Only on PostgreSQL: SQLite (the embedded default) lets one connection write at a time,
    and the import's own transaction holds that lock until it commits, so there the counts
    land once, with the job's final state.
    """

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.last = 0.0
        self.connection = None
        self.rows = {"done_rows": 0, "skipped_rows": 0}

    def __call__(self, done: int, skipped: int, *, force: bool = False) -> None:
        """Step 1: rows saved and bad rows left out so far."""
        self.rows = {"done_rows": done, "skipped_rows": skipped}
        self._write(self.rows, force=force)

    def links(self, done: int, total: int) -> None:
        """Step 2: skill links written so far (the first and the last call always land,
        with the final row counts of step 1)."""
        self._write({**self.rows, "phase": ImportJob.Phase.LINKS, "done_links": done,
                     "total_links": total}, force=done in (0, total))

    def _write(self, values: dict, *, force: bool) -> None:
        if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
            return
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        if self.connection is None:
            self.connection = connections.create_connection(DEFAULT_DB_ALIAS)
        table = ImportJob._meta.db_table
        columns = ", ".join(f"{name} = %s" for name in values)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {columns} WHERE id IN "
                f"(SELECT id FROM {table} WHERE id = %s FOR UPDATE SKIP LOCKED)",
                [*values.values(), self.job_id])

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@dataclass(frozen=True)
class ImportProgress:
    """Where a large import stands, from its job's row (written in batches while it runs;
    the final counts once it succeeded; 0 after a failure, as nothing was saved)."""

    phase: str  # ImportJob.Phase
    done: int  # rows saved
    skipped: int  # bad rows left out
    total: int  # rows the check counted
    links_done: int
    links_total: int  # 0 until step 2 starts
    finished: bool

    @property
    def step(self) -> int:
        return 2 if self.phase == ImportJob.Phase.LINKS else 1

    @property
    def percent(self) -> int:
        """The current step's share done (100 once the import succeeded)."""
        if self.finished:
            return 100
        done, total = ((self.links_done, self.links_total) if self.step == 2
                       else (self.done, self.total))
        return min(100, round(100 * done / total)) if total else 0


def import_job_progress(*, job: ImportJob) -> ImportProgress:
    return ImportProgress(
        phase=job.phase, done=job.done_rows, skipped=job.skipped_rows, total=job.total_rows,
        links_done=job.done_links, links_total=job.total_links,
        finished=job.status == ImportJob.Status.SUCCEEDED)


_NOTHING_SAVED = {"done_rows": 0, "skipped_rows": 0, "done_links": 0}


def import_job_run(*, job_id: int) -> None:
    """The worker's side: claim the job (queued -> running only if still queued), import,
    record the outcome. The upload is removed at the end, whatever happened."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now())
    if not claimed:
        return
    job = ImportJob.objects.select_related("project__team", "created_by").get(pk=job_id)
    progress = _ProgressRecorder(job_id)
    try:
        result = example_import(
            user=job.created_by, project=job.project, token=job.token, kind=job.kind,
            fmt=job.format, default_skill=job.default_skill, default_level=job.default_level,
            progress=progress, linking=progress.links)
    except ValidationError as exc:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, error="; ".join(exc.messages),
            finished_at=timezone.now(), **_NOTHING_SAVED)
    except Exception as exc:  # recorded for the page; the worker logs it too
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, error=f"{type(exc).__name__}",
            finished_at=timezone.now(), **_NOTHING_SAVED)
        raise
    else:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.SUCCEEDED, done_rows=result["imported"],
            skipped_rows=result["skipped"], finished_at=timezone.now())
    finally:
        progress.close()
        import_discard(token=job.token)
