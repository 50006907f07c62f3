"""Inserting many examples at once with PostgreSQL's ``COPY`` (an import's batches).

``bulk_create`` builds one multi-row ``INSERT`` per batch, and Django spends several times
more CPU building it than PostgreSQL spends running it (docs/benchmarks.md, "Import");
``COPY`` streams the rows as text instead. The ids are taken from the table's sequence
first (one query a batch), so the skill links can be copied right after. Every column but
the ones that change from row to row is computed once, from a template ``Example`` through
the fields' own ``pre_save`` and ``get_db_prep_save`` (defaults, ``auto_now_add``, JSON), so
a column added to the model later is filled as ``bulk_create`` would fill it. Other
databases get ``bulk_create``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from django.db import connections, router

from apps.projects.models import Example, ExampleSkill

# What each row sets on top of the template (the rest is the template's).
VARYING = ("key", "prompt", "answer", "level", "split", "meta")


def _escape(text: str) -> str:
    """Backslash, tab, newline and carriage return escaped for COPY's text format (NUL
    characters are refused before: ``imports._storage_problem``)."""
    return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def _text(value) -> str:
    """A value in COPY's text format (PostgreSQL parses it by the column's type)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):  # also psycopg's Int4 and the like
        return str(int(value))
    if isinstance(value, float):
        return repr(float(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "obj"):  # psycopg's Json/Jsonb wrapper of a JSON field's value
        value = json.dumps(value.obj)
    return _escape(str(value))


def examples_insert(template: Example, rows: Sequence[dict],
                    skill_ids: Sequence[Sequence[int]]) -> list[int]:
    """Insert an example per row (``template`` with the row's ``VARYING`` fields) and the
    links to ``skill_ids[i]`` of each; returns the new ids, in order. Runs inside the
    caller's transaction."""
    alias = router.db_for_write(Example)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return _bulk_create(template, rows, skill_ids, alias)
    fields = [f for f in Example._meta.concrete_fields if not f.primary_key]
    base = [_text(f.get_db_prep_save(f.pre_save(template, add=True), connection=connection))
            for f in fields]
    slots = [next(i for i, f in enumerate(fields) if f.attname == name) for name in VARYING]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in ["id", *(f.column for f in fields)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                       "FROM generate_series(1, %s)", [Example._meta.db_table, len(rows)])
        ids = [r[0] for r in cursor.fetchall()]
        lines = []
        for pk, row in zip(ids, rows, strict=True):
            values = list(base)
            for slot, name in zip(slots, VARYING, strict=True):
                value = row[name]
                values[slot] = _escape(json.dumps(value)) if name == "meta" else _text(value)
            lines.append(f"{pk}\t" + "\t".join(values) + "\n")
        links = [f"{pk}\t{skill}\n" for pk, skills in zip(ids, skill_ids, strict=True)
                 for skill in skills]
        raw = cursor.cursor  # psycopg's own cursor, in the same transaction
        with raw.copy(f"COPY {quote(Example._meta.db_table)} ({columns}) FROM STDIN") as copy:
            copy.write("".join(lines).encode("utf-8"))
        with raw.copy(f"COPY {quote(ExampleSkill._meta.db_table)} (example_id, skill_id) "
                      "FROM STDIN") as copy:
            copy.write("".join(links).encode("utf-8"))
    return ids


def _bulk_create(template, rows, skill_ids, alias) -> list[int]:
    examples = []
    for row in rows:
        example = Example(**{f.attname: getattr(template, f.attname)
                             for f in Example._meta.concrete_fields if not f.primary_key})
        for name in VARYING:
            setattr(example, name, row[name])
        examples.append(example)
    Example.objects.using(alias).bulk_create(examples)
    ExampleSkill.objects.using(alias).bulk_create([
        ExampleSkill(example_id=e.pk, skill_id=s)
        for e, skills in zip(examples, skill_ids, strict=True) for s in skills])
    return [e.pk for e in examples]
