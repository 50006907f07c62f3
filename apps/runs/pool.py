"""A run's pool: the project's dataset at launch, recorded so a run can be reproduced and
compared fairly.

The dataset is the approved train split of the project's examples that had joined it
(``Example.added_at``) by the launch; synthesized items join it only when a person adds them,
so a run never trains on another run's data. At launch the run keeps the pool's size and a
content hash (:func:`pool_fingerprint`, over the sorted (prompt, answer, level, skills) of
its items); the worker computes the hash again from what it loads and refuses to train on a
pool that changed (:func:`pool_check`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet

from apps.projects.models import Example, ExampleSkill, Skill
from apps.runs.models import Run
from workers.engine.api import Item

HASH_SHOWN = 12  # characters of the hash a page shows


class PoolChanged(Exception):
    """The project's dataset changed since the run was launched in a way that changes the
    run's pool (an item deleted or edited): the run cannot be reproduced."""


def dataset_examples(*, project_id: int, at: datetime) -> QuerySet[Example]:
    """The project's dataset as it was at ``at``: approved items that had joined it."""
    return Example.objects.filter(
        project_id=project_id, review_status=Example.ReviewStatus.APPROVED,
        added_at__isnull=False, added_at__lte=at,
    )


def dataset_pool(*, project_id: int, at: datetime) -> QuerySet[Example]:
    """The train split of the dataset at ``at``: a run's pool."""
    return dataset_examples(project_id=project_id, at=at).filter(split=Example.Split.TRAIN)


Row = tuple[str, str, int, Iterable[str]]


def _line(prompt: str, answer: str, level: int, skills: Iterable[str]) -> str:
    """One item, unambiguously: every text with its length in front."""
    names = sorted(skills)
    return (f"{len(prompt)}:{prompt}{len(answer)}:{answer}{int(level)}:{len(names)}:"
            + "".join(f"{len(name)}:{name}" for name in names))


def pool_fingerprint(rows: Iterable[Row]) -> str:
    """sha256 (hex) over the sorted ``(prompt, answer, level, skills)`` of the items; the
    order of the items and of their skills does not count."""
    lines = sorted(_line(*row) for row in rows)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def item_rows(items: Iterable[Item]) -> list[Row]:
    return [(it.prompt, it.answer, it.level, it.skills) for it in items]


def pool_summary(*, project_id: int, at: datetime) -> tuple[int, str]:
    """(count, hash) of the pool at ``at``: three queries (examples, skill links, skill
    names), no model instances."""
    pool = dataset_pool(project_id=project_id, at=at)
    rows = list(pool.order_by().values_list("pk", "prompt", "answer", "level"))
    names = dict(Skill.objects.filter(project_id=project_id).values_list("pk", "name"))
    skills: dict[int, list[str]] = defaultdict(list)
    links = ExampleSkill.objects.filter(
        example__project_id=project_id, example__split=Example.Split.TRAIN,
        example__review_status=Example.ReviewStatus.APPROVED, example__added_at__lte=at,
    ).order_by().values_list("example_id", "skill_id")
    for example_id, skill_id in links:
        skills[example_id].append(names[skill_id])
    digest = pool_fingerprint((prompt, answer, level, skills.get(pk, ()))
                              for pk, prompt, answer, level in rows)
    return len(rows), digest


def run_pool_record(*, run: Run) -> Run:
    """Record the run's pool (the dataset at its launch): ``pool_count`` and ``pool_hash``."""
    count, digest = pool_summary(project_id=run.project_id, at=run.created_at)
    Run.objects.filter(pk=run.pk).update(pool_count=count, pool_hash=digest)
    run.pool_count, run.pool_hash = count, digest
    return run


def pool_check(*, run: Run, items: Iterable[Item] | None) -> None:
    """Raise PoolChanged when ``items`` (the pool the worker loaded) is not the pool
    recorded at launch. Runs launched before pools were recorded are not checked."""
    if not run.pool_hash:
        return
    rows = item_rows(items or ())
    digest = pool_fingerprint(rows)
    if digest == run.pool_hash and len(rows) == run.pool_count:
        return
    raise PoolChanged(
        f"the project's dataset changed since this run was launched: its pool had "
        f"{run.pool_count} items (hash {run.pool_hash[:HASH_SHOWN]}), now {len(rows)} "
        f"(hash {digest[:HASH_SHOWN]}); an item of the pool was deleted or edited. The run "
        "cannot continue on the same data: launch a new run"
    )
