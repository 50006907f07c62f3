"""Inserting an import's examples with PostgreSQL's ``COPY`` (:class:`ExampleWriter`).

``bulk_create`` builds one multi-row ``INSERT`` per batch, and Django spends several times
more CPU building it than PostgreSQL spends running it (docs/benchmarks.md, "Import");
``COPY`` streams the rows as text instead. Every column but the ones that change from row
to row is computed once, from a template ``Example`` through the fields' own ``pre_save``
and ``get_db_prep_save`` (defaults, ``auto_now_add``, JSON), so a column added to the model
later is filled as ``bulk_create`` would fill it. Other databases get ``bulk_create``.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable, Sequence

from django.db import connections, router

from apps.projects.models import Example, ExampleSkill

# What each row sets on top of the template (the rest is the template's).
VARYING = ("key", "prompt", "answer", "level", "split", "meta")
# Bytes of the links file read (and reported to ``on_links``) at a time: about 6,000 links.
LINK_CHUNK = 1 << 16


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


class ExampleWriter:
    """Writes an import's examples, batch by batch, inside the caller's transaction.

    On PostgreSQL every batch goes into one ``COPY`` that stays open for the whole import,
    so the database stores the rows while the next ones are read and formatted (a ``COPY``
    per batch would make each side wait for the other). The ids come from the table's
    sequence through a second connection (the first one is busy copying; a sequence does
    not belong to a transaction). Foreign keys are checked as the rows arrive rather than
    at the commit (``SET CONSTRAINTS ALL IMMEDIATE``, deferred again at the end), again so
    that the check overlaps the reading. The skill links wait in a temporary file with the
    skill names, which become ids (``resolve_skills``, which may create skills)
    once the examples are in, and then copied; ``on_links(done, total)`` follows that second
    step, which takes about a third of a large import. Elsewhere each batch goes to
    ``bulk_create``.

    Use as a context manager: leaving it with an exception aborts the ``COPY`` (the caller's
    transaction then rolls everything back).
    """

    def __init__(self, template: Example,
                 resolve_skills: Callable[[list[str]], dict[str, int]],
                 on_links: Callable[[int, int], None] | None = None):
        self.template = template
        self.resolve_skills = resolve_skills
        self.on_links = on_links
        self.link_count = 0  # links waiting in the temporary file
        self.alias = router.db_for_write(Example)
        self.connection = connections[self.alias]
        self.copying = self.connection.vendor == "postgresql"
        self.names: dict[str, int] = {}  # skill name -> its index in the links file

    def __enter__(self) -> ExampleWriter:
        if not self.copying:
            return self
        connection = self.connection
        fields = [f for f in Example._meta.concrete_fields if not f.primary_key]
        self.base = [_text(f.get_db_prep_save(f.pre_save(self.template, add=True),
                                              connection=connection)) for f in fields]
        self.slots = [next(i for i, f in enumerate(fields) if f.attname == name)
                      for name in VARYING]
        self.quote = quote = connection.ops.quote_name
        columns = ", ".join(quote(c) for c in ["id", *(f.column for f in fields)])
        self.sequence = connections.create_connection(self.alias)
        self.links = tempfile.TemporaryFile()
        self.cursor = connection.cursor()
        try:
            self.cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            self.raw = self.cursor.cursor  # psycopg's own cursor, in the same transaction
            self.copy_context = self.raw.copy(
                f"COPY {quote(Example._meta.db_table)} ({columns}) FROM STDIN")
            self.copy = self.copy_context.__enter__()
        except BaseException:
            self._close()
            raise
        return self

    def write(self, rows: Sequence[dict]) -> None:
        """A batch of rows: ``VARYING`` fields and ``skills`` (names)."""
        if not rows:
            return
        if not self.copying:
            ids = self.resolve_skills(sorted({n for row in rows for n in row["skills"]}))
            _bulk_create(self.template, rows,
                         [[ids[n] for n in row["skills"]] for row in rows], self.alias)
            return
        with self.sequence.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                           "FROM generate_series(1, %s)", [Example._meta.db_table, len(rows)])
            ids = [r[0] for r in cursor.fetchall()]
        lines, links = [], []
        for pk, row in zip(ids, rows, strict=True):
            values = list(self.base)
            for slot, name in zip(self.slots, VARYING, strict=True):
                value = row[name]
                values[slot] = _escape(json.dumps(value)) if name == "meta" else _text(value)
            lines.append(f"{pk}\t" + "\t".join(values) + "\n")
            for name in row["skills"]:
                index = self.names.setdefault(name, len(self.names))
                links.append(f"{pk}\t{index}\n")
        self.copy.write("".join(lines).encode("utf-8"))
        self.links.write("".join(links).encode("ascii"))
        self.link_count += len(links)

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.copying:
            return
        try:
            self.copy_context.__exit__(exc_type, exc, tb)  # ends (or aborts) the COPY
            if exc_type is None:
                self._copy_links()
                self.cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        finally:
            self._close()

    def _close(self) -> None:
        self.links.close()
        self.sequence.close()
        self.cursor.close()

    def _copy_links(self) -> None:
        names = list(self.names)
        ids = self.resolve_skills(names)
        by_index = [str(ids[name]).encode() for name in names]
        self.links.seek(0)
        table = self.quote(ExampleSkill._meta.db_table)
        done, total = 0, self.link_count
        report = self.on_links or (lambda done, total: None)
        report(done, total)
        with self.raw.copy(f"COPY {table} (example_id, skill_id) FROM STDIN") as copy:
            while chunk := self.links.readlines(LINK_CHUNK):
                copy.write(b"".join(pk + b"\t" + by_index[int(index)] + b"\n"
                                    for pk, index in (line.split(b"\t") for line in chunk)))
                done += len(chunk)
                report(done, total)


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
