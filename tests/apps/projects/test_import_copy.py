"""The import's COPY insert stores every value as bulk_create would: text with tabs,
newlines, backslashes, carriage returns and non-ASCII characters, JSON metadata, and every
column the row does not set (defaults, ``auto_now_add``, the template's values)."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from apps.projects import copy_insert
from apps.projects.models import Example, ExampleSkill
from tests.factories import SkillFactory

pytestmark = pytest.mark.django_db
ROWS = [
    {"key": "k\t1", "prompt": "a\tb\nc\\d\re \\N", "answer": "\\t", "level": 3,
     "split": "eval", "meta": {"system": "Be\tbrief\n", "x": [1, 2.5, None, True],
                               "ü": "日本\\"}},
    {"key": "", "prompt": "plain", "answer": "𝔸nswer", "level": 0, "split": "train",
     "meta": {}},
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


def test_copy_stores_what_bulk_create_stores(project_a):
    add = SkillFactory(project=project_a, name="add")
    carry = SkillFactory(project=project_a, name="carry")
    now = timezone.now()
    links = [[add.pk, carry.pk], [add.pk]]
    copied = copy_insert.examples_insert(_template(project_a, now), ROWS, links)
    renamed = [{**row, "key": row["key"] and row["key"] + "-2"} for row in ROWS]
    created = copy_insert._bulk_create(_template(project_a, now), renamed, links, "default")
    got, expected = _stored(copied), _stored(created)
    for row in expected:
        row["key"] = row["key"] and row["key"][:-2]
    assert got == expected
    assert got[0]["prompt"] == ROWS[0]["prompt"] and got[0]["meta"] == ROWS[0]["meta"]
    assert got[0]["added_at"] == now and got[0]["skills"] == ["add", "carry"]
    assert copied == sorted(copied)
    # the sequence moved past the copied ids: a later insert gets a new one
    assert Example.objects.create(project=project_a, prompt="p", answer="a", level=1).pk \
        > max(copied + created)
