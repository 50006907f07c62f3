"""The import's COPY writer stores every value as bulk_create would: text with tabs,
newlines, backslashes, carriage returns and non-ASCII characters, JSON metadata, skill
links (creating a missing skill), and every column the row does not set (defaults,
``auto_now_add``, the template's values); an error while copying leaves nothing."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from apps.projects import copy_insert
from apps.projects.models import Example, ExampleSkill
from tests.factories import SkillFactory

pytestmark = pytest.mark.django_db
ROWS = [
    {"key": "k\t1", "prompt": "a\tb\nc\\d\re \\N", "answer": "\\t", "level": 3,
     "split": "eval", "meta": {"system": "Be\tbrief\n", "x": [1, 2.5, None, True],
                               "ü": "日本\\"}, "skills": ["add", "carry"]},
    {"key": "", "prompt": "plain", "answer": "𝔸nswer", "level": 0, "split": "train",
     "meta": {}, "skills": ["add"]},
]


def _template(project, now):
    return Example(project=project, origin=Example.Origin.IMPORTED, added_at=now,
                   review_status=Example.ReviewStatus.APPROVED, prompt="", answer="", level=0)


def _stored(ids):
    rows = []
    for pk in ids:
        example = Example.objects.get(pk=pk)
        data = model_to_dict(example, exclude=["id", "skills"])
        data["skills"] = sorted(ExampleSkill.objects.filter(example=example)
                                .values_list("skill__name", flat=True))
        data["created_at"] = example.created_at is not None
        rows.append(data)
    return rows


def _write(project, rows, *, copying=True):
    skills = {s.name: s.pk for s in project.skills.all()}

    def resolve(names):
        for name in names:
            if name not in skills:
                skills[name] = SkillFactory(project=project, name=name).pk
        return {n: skills[n] for n in names}

    before = set(Example.objects.values_list("pk", flat=True))
    writer = copy_insert.ExampleWriter(_template(project, NOW), resolve)
    writer.copying = writer.copying and copying  # False: what other databases get
    with writer:
        writer.write(rows[:1])
        writer.write(rows[1:])
    return sorted(set(Example.objects.values_list("pk", flat=True)) - before)


NOW = timezone.now()


def test_copy_stores_what_bulk_create_stores(project_a):
    SkillFactory(project=project_a, name="add")
    copied = _write(project_a, ROWS)
    renamed = [{**row, "key": row["key"] and row["key"] + "-2"} for row in ROWS]
    created = _write(project_a, renamed, copying=False)
    got, expected = _stored(copied), _stored(created)
    for row in expected:
        row["key"] = row["key"] and row["key"][:-2]
    assert got == expected
    assert got[0]["prompt"] == ROWS[0]["prompt"] and got[0]["meta"] == ROWS[0]["meta"]
    assert got[0]["added_at"] == NOW and got[0]["skills"] == ["add", "carry"]
    assert got[1]["skills"] == ["add"]
    # a skill the project lacked was created once, after the examples were in
    assert project_a.skills.filter(name="carry").count() == 1
    # the sequence moved past the copied ids: a later insert gets a new one
    assert Example.objects.create(project=project_a, prompt="p", answer="a", level=1).pk \
        > max(copied + created)


def test_an_error_while_copying_leaves_nothing(project_a):
    writer = copy_insert.ExampleWriter(_template(project_a, NOW), lambda n: {})
    with pytest.raises(RuntimeError, match="disk full"), transaction.atomic(), writer:
        writer.write([{**ROWS[1], "skills": []}])
        raise RuntimeError("disk full")
    assert not Example.objects.filter(project=project_a).exists()
    # the connection is usable again
    assert Example.objects.create(project=project_a, prompt="p", answer="a", level=1).pk
