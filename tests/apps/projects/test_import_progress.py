"""A large import's progress without a shared cache: the worker writes its counts onto the
job's row in batches, through a connection of its own, so another connection (the page, the
API) sees them move, in step 1 (rows) and step 2 (skill links), while the examples
themselves stay invisible until the one transaction commits."""

from __future__ import annotations

import json

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from apps.projects import copy_insert, import_jobs, imports
from apps.projects.models import Example, ImportJob

pytestmark = pytest.mark.django_db(transaction=True)
# the live counts and the two-step COPY import are PostgreSQL's; SQLite lets one connection
# write at a time, so there the counts land once, with the job's final state
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="live progress needs PostgreSQL")


def _outside(sql: str, params=()):
    """One value read by a fresh connection (what a web process sees)."""
    conn = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    finally:
        conn.close()


@on_postgresql
def test_progress_moves_on_the_row_while_the_rows_stay_invisible(
        owner, project_a, settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    monkeypatch.setattr(imports, "BATCH", 3)
    monkeypatch.setattr(import_jobs, "PROGRESS_EVERY_S", 0)
    monkeypatch.setattr(copy_insert, "LINK_CHUNK", 1)  # a line at a time: every link reported
    lines = [json.dumps({"prompt": f"{i}+1=", "answer": str(i + 1),
                         "skills": ["add", "carry"] if i % 2 else ["add"], "level": 1})
             for i in range(10)]
    lines.insert(4, "{broken")
    token = imports.import_store(chunks=["\n".join(lines).encode() + b"\n"])
    job = ImportJob.objects.create(project=project_a, created_by=owner, token=token,
                                   total_rows=10)
    rows_seen, links_seen = [], []
    table = ImportJob._meta.db_table
    recorder = import_jobs._ProgressRecorder

    def visible():
        return _outside("SELECT count(*) FROM projects_example WHERE project_id = %s",
                        [project_a.pk])[0]

    class Watched(recorder):
        def __call__(self, done, skipped, **kw):
            super().__call__(done, skipped, **kw)
            row = _outside(f"SELECT status, phase, done_rows, skipped_rows FROM {table} "
                           "WHERE id = %s", [job.pk])
            rows_seen.append((*row, visible()))

        def links(self, done, total):
            super().links(done, total)
            row = _outside(f"SELECT status, phase, done_links, total_links, done_rows "
                           f"FROM {table} WHERE id = %s", [job.pk])
            links_seen.append((*row, visible()))

    monkeypatch.setattr(import_jobs, "_ProgressRecorder", Watched)
    import_jobs.import_job_run(job_id=job.pk)
    assert rows_seen[:3] == [("running", "rows", 3, 0, 0), ("running", "rows", 6, 1, 0),
                             ("running", "rows", 9, 1, 0)]
    # step 2: 15 links (every odd row has two skills), each one reported, nothing visible
    assert links_seen == [("running", "links", n, 15, 10, 0) for n in range(16)]
    job.refresh_from_db()
    assert (job.status, job.done_rows, job.skipped_rows) == ("succeeded", 10, 1)
    progress = import_jobs.import_job_progress(job=job)
    assert (progress.done, progress.skipped, progress.links_done, progress.percent) == (
        10, 1, 15, 100)
    assert Example.objects.filter(project=project_a).count() == 10


def test_progress_percent_follows_the_current_step():
    def at(**kw):
        base = {"phase": "rows", "done": 0, "skipped": 0, "total": 200, "links_done": 0,
                "links_total": 0, "finished": False}
        return import_jobs.ImportProgress(**{**base, **kw})

    assert (at(done=50).step, at(done=50).percent) == (1, 25)
    assert at(total=0).percent == 0  # a job whose check counted nothing yet
    step2 = at(phase="links", done=200, links_done=30, links_total=300)
    assert (step2.step, step2.percent) == (2, 10)
    assert at(phase="links", done=200, links_total=0).percent == 0
    assert at(phase="links", done=200, links_done=300, links_total=300,
              finished=True).percent == 100


def test_a_failed_import_reports_nothing_saved(owner, project_a, settings, tmp_path,
                                               monkeypatch):
    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(imports, "BATCH", 2)
    monkeypatch.setattr(import_jobs, "PROGRESS_EVERY_S", 0)
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
        import_jobs.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.done_rows, job.skipped_rows, job.done_links, job.error) == (
        "failed", 0, 0, 0, "RuntimeError")
    assert Example.objects.filter(project=project_a).count() == 0


@on_postgresql
def test_a_failure_while_linking_saves_nothing(owner, project_a, settings, tmp_path,
                                               monkeypatch):
    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(import_jobs, "PROGRESS_EVERY_S", 0)
    monkeypatch.setattr(copy_insert, "LINK_CHUNK", 1)
    rows = [json.dumps({"prompt": f"{i}=", "answer": "1", "skills": ["add", "new_skill"],
                        "level": 1}) for i in range(5)]
    token = imports.import_store(chunks=["\n".join(rows).encode()])
    job = ImportJob.objects.create(project=project_a, created_by=owner, token=token,
                                   total_rows=5)

    class Failing(import_jobs._ProgressRecorder):
        def links(self, done, total):
            super().links(done, total)
            if done == 4:
                raise RuntimeError("connection lost")

    monkeypatch.setattr(import_jobs, "_ProgressRecorder", Failing)
    with pytest.raises(RuntimeError):
        import_jobs.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.done_rows, job.done_links, job.total_links) == ("failed", 0, 0, 10)
    assert Example.objects.filter(project=project_a).count() == 0
    assert not project_a.skills.filter(name="new_skill").exists()


def test_the_recorder_writes_on_postgresql_only(project_a):
    """The embedded default: a count written beside the import's own write lock would fail
    (SQLite has one writer at a time), so the recorder writes nothing there."""
    job = ImportJob.objects.create(project=project_a, token="0" * 32, total_rows=10)
    recorder = import_jobs._ProgressRecorder(job.pk)
    recorder(5, 1, force=True)
    recorder.links(0, 10)
    if connection.vendor == "postgresql":
        job.refresh_from_db()
        assert (job.done_rows, job.skipped_rows, job.total_links) == (5, 1, 10)
    else:
        assert recorder.connection is None
    recorder.close()
