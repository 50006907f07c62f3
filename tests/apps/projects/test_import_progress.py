"""A large import's progress without a shared cache: the worker writes its counts onto the
job's row in batches, through a connection of its own, so another connection (the page, the
API) sees them move while the examples themselves stay invisible until the one transaction
commits."""

from __future__ import annotations

import json

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from apps.projects import imports
from apps.projects.models import Example, ImportJob

pytestmark = pytest.mark.django_db(transaction=True)


def _outside(sql: str, params=()):
    """One value read by a fresh connection (what a web process sees)."""
    conn = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    finally:
        conn.close()


def test_progress_moves_on_the_row_while_the_rows_stay_invisible(
        owner, project_a, settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    monkeypatch.setattr(imports, "BATCH", 3)
    monkeypatch.setattr(imports, "PROGRESS_EVERY_S", 0)
    lines = [json.dumps({"prompt": f"{i}+1=", "answer": str(i + 1), "skills": ["add"],
                         "level": 1}) for i in range(10)]
    lines.insert(4, "{broken")
    token = imports.import_store(chunks=["\n".join(lines).encode() + b"\n"])
    job = ImportJob.objects.create(project=project_a, created_by=owner, token=token,
                                   total_rows=10)
    seen = []
    table = ImportJob._meta.db_table
    recorder = imports._ProgressRecorder

    class Watched(recorder):
        def __call__(self, done, skipped, **kw):
            super().__call__(done, skipped, **kw)
            row = _outside(f"SELECT status, done_rows, skipped_rows FROM {table} "
                           "WHERE id = %s", [job.pk])
            examples = _outside("SELECT count(*) FROM projects_example WHERE project_id = %s",
                                [project_a.pk])[0]
            seen.append((*row, examples))

    monkeypatch.setattr(imports, "_ProgressRecorder", Watched)
    imports.import_job_run(job_id=job.pk)
    assert seen[:3] == [("running", 3, 0, 0), ("running", 6, 1, 0), ("running", 9, 1, 0)]
    job.refresh_from_db()
    assert (job.status, job.done_rows, job.skipped_rows) == ("succeeded", 10, 1)
    assert imports.import_job_progress(job=job) == (10, 1)
    assert Example.objects.filter(project=project_a).count() == 10


def test_a_failed_import_reports_nothing_saved(owner, project_a, settings, tmp_path,
                                               monkeypatch):
    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(imports, "BATCH", 2)
    monkeypatch.setattr(imports, "PROGRESS_EVERY_S", 0)
    rows = [json.dumps({"prompt": f"{i}=", "answer": "1", "skills": ["add"], "level": 1})
            for i in range(5)]
    token = imports.import_store(chunks=["\n".join(rows).encode()])
    job = ImportJob.objects.create(project=project_a, created_by=owner, token=token,
                                   total_rows=5)
    real_insert = imports.examples_insert
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        real_insert(*args, **kwargs)
        if len(calls) == 2:
            raise RuntimeError("disk full")

    monkeypatch.setattr(imports, "examples_insert", failing)
    with pytest.raises(RuntimeError):
        imports.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.done_rows, job.skipped_rows, job.error) == (
        "failed", 0, 0, "RuntimeError")
    assert Example.objects.filter(project=project_a).count() == 0
