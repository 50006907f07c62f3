"""A project's examples as JSONL in any format (``apps.projects.formats``), streamed.

The rows are read in chunks from the database and written one line at a time, so a large
dataset never sits whole in memory. A project export holds its approved examples (what
runs train and evaluate on); pending and rejected teacher items stay out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet

from apps.projects.formats import FORMATS, Row
from apps.projects.models import Example, Project, Skill

CHUNK = 1_000


def export_format(value) -> str:
    """The format a request names; ValidationError for any other value."""
    if value not in FORMATS:
        raise ValidationError({"format": f"must be one of {', '.join(FORMATS)}"})
    return value


def example_to_row(example: Example) -> Row:
    meta = {k: v for k, v in (example.meta or {}).items() if k != "line"}
    return {"prompt": example.prompt, "answer": example.answer,
            "skills": [s.name for s in example.skills.all()], "level": example.level,
            "split": example.split, "key": example.key, "meta": meta}


def example_rows(qs: QuerySet[Example]) -> Iterator[Row]:
    qs = qs.order_by("pk").prefetch_related(
        Prefetch("skills", queryset=Skill.objects.order_by("example_links__pk")))
    for example in qs.iterator(chunk_size=CHUNK):
        yield example_to_row(example)


def jsonl_lines(rows: Iterable[Row], fmt: str) -> Iterator[str]:
    to_record = FORMATS[export_format(fmt)].from_row
    for row in rows:
        yield json.dumps(to_record(row), ensure_ascii=False) + "\n"


def project_export_queryset(*, project: Project) -> QuerySet[Example]:
    return Example.objects.filter(project=project,
                                  review_status=Example.ReviewStatus.APPROVED)


def project_export_lines(*, project: Project, fmt: str) -> Iterator[str]:
    return jsonl_lines(example_rows(project_export_queryset(project=project)), fmt)
