"""Indexes the review queue and the example browser read by.

Both vendors: the keyset order of the queue (project, status, id). PostgreSQL only:
trigram GIN indexes on UPPER(prompt) and UPPER(answer), the expression Django's
``icontains`` compares with, so a text search over 100,000 items reads the index instead of
every row. On SQLite the search scans (docs/benchmarks.md says how slow that is).
"""

from django.db import migrations

TRIGRAM_INDEXES = (
    ("review_example_prompt_trgm", "prompt"),
    ("review_example_answer_trgm", "answer"),
)


def _create(apps, schema_editor):
    run = schema_editor.execute
    run("CREATE INDEX IF NOT EXISTS review_example_status_id "
        "ON projects_example (project_id, review_status, id)")
    if schema_editor.connection.vendor != "postgresql":
        return
    run("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in TRIGRAM_INDEXES:
        run(f"CREATE INDEX IF NOT EXISTS {name} ON projects_example "
            f"USING gin (UPPER({column}) gin_trgm_ops)")


def _drop(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS review_example_status_id")
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("review", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(_create, _drop),
    ]
