"""Bulk decisions on everything that matches a filter (not only the page on screen), and
their undo, each in a fixed number of queries whatever the number of items: a lock of the
items, one INSERT ... SELECT of the decisions, one UPDATE ... WHERE of the items.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.accounts.models import Role
from apps.accounts.permissions import require_role
from apps.projects.models import Example, Project
from apps.review.filters import ReviewFilter, filtered_examples
from apps.review.models import ReviewDecision
from apps.review.services import _check_reason, resume_waiting_runs_on_commit

Status = Example.ReviewStatus
BULK_ACTIONS = (ReviewDecision.Action.ACCEPT, ReviewDecision.Action.REJECT)


def bulk_targets(*, project: Project, f: ReviewFilter, action: str,
                 add_to_dataset: bool = False):
    """The items a bulk ``action`` would change: those matching ``f`` that are not already
    in the state it leads to."""
    qs = filtered_examples(project, f)
    if action == ReviewDecision.Action.ACCEPT:
        done = Q(review_status=Status.APPROVED)
        if add_to_dataset:
            done &= Q(added_at__isnull=False)
        return qs.exclude(done)
    if action == ReviewDecision.Action.REJECT:
        return qs.exclude(review_status=Status.REJECTED)
    raise ValidationError({"action": f"bulk actions are {', '.join(BULK_ACTIONS)}"})


@transaction.atomic
def review_bulk_decide(*, user, project: Project, f: ReviewFilter, action: str,
                       reason: str = "", note: str = "",
                       add_to_dataset: bool = False) -> dict:
    """Accept or reject every item matching ``f``. Returns ``{"batch", "count"}``; the
    batch is what bulk undo takes."""
    require_role(user, project.team, Role.EDITOR)
    if action == ReviewDecision.Action.REJECT:
        reason, note = _check_reason(reason, note)
    targets = bulk_targets(project=project, f=f, action=action, add_to_dataset=add_to_dataset)
    # Lock the items first: a single decision that comes meanwhile waits, then finds a new
    # version and is refused as a conflict instead of being overwritten.
    locked = targets.select_for_update(of=("self",)).order_by().values_list("id", flat=True)
    if not list(locked):
        return {"batch": None, "count": 0}
    batch = uuid.uuid4()
    now = timezone.now()
    count = _insert_decisions(targets, project=project, user=user, action=action,
                              reason=reason, note=note, batch=batch, now=now,
                              add=action == ReviewDecision.Action.ACCEPT and add_to_dataset)
    if action == ReviewDecision.Action.ACCEPT:
        status = Status.APPROVED
        added_at = Coalesce(F("added_at"), Value(now)) if add_to_dataset else F("added_at")
    else:
        status, added_at = Status.REJECTED, None
    mine = ReviewDecision.objects.filter(batch=batch)
    Example.objects.filter(pk__in=Subquery(mine.values("example_id"))).update(
        review_status=status, added_at=added_at, reviewed_by=user, reviewed_at=now,
        version=F("version") + 1)
    resume_waiting_runs_on_commit(
        mine.order_by().values_list("example__round_id", flat=True).distinct())
    return {"batch": batch, "count": count}


def _insert_decisions(targets, *, project: Project, user, action: str, reason: str,
                      note: str, batch: uuid.UUID, now, add: bool) -> int:
    """One INSERT ... SELECT of a decision per target item, its review state copied from
    the item by the database: one query, whatever the number of items (a bulk_create
    would be cut into batches by SQLite's parameter limit). The number of rows."""
    meta = ReviewDecision._meta

    def prep(name: str, value):
        return meta.get_field(name).get_db_prep_save(value, connection=connection)

    qn = connection.ops.quote_name
    constants = {
        "project_id": project.pk, "user_id": user.pk, "action": action, "reason": reason,
        "note": note, "added_to_dataset": add, "batch": prep("batch", batch),
        "created_at": prep("created_at", now), "before": prep("before", {}),
        "after": prep("after", {}),
    }
    copied = {"example_id": "id", "prev_status": "review_status", "prev_added_at": "added_at",
              "prev_reviewed_by_id": "reviewed_by_id", "prev_reviewed_at": "reviewed_at",
              "version_before": "version"}
    ids_sql, ids_params = targets.order_by().values("id").query.sql_with_params()
    columns = [*constants, *copied, "version_after"]
    select = ["%s"] * len(constants) + [f"e.{qn(c)}" for c in copied.values()] + \
        [f"e.{qn('version')} + 1"]
    sql = (f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(c) for c in columns)}) "
           f"SELECT {', '.join(select)} FROM {qn(Example._meta.db_table)} e "
           f"WHERE e.{qn('id')} IN ({ids_sql})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*constants.values(), *ids_params])
        return cursor.rowcount


@transaction.atomic
def review_bulk_undo(*, user, project: Project, batch: uuid.UUID) -> dict:
    """Put back every item of a bulk decision that nobody changed since; items changed
    since keep their new state and are counted in ``kept``."""
    require_role(user, project.team, Role.EDITOR)
    decisions = ReviewDecision.objects.filter(project=project, batch=batch, undone_at=None)
    now = timezone.now()
    # Lock the batch's items, then mark the decisions whose item nobody changed since.
    locked = Example.objects.select_for_update().filter(
        pk__in=Subquery(decisions.values("example_id")))
    len(locked.values_list("id"))
    total = decisions.count()
    undone = decisions.filter(example__version=F("version_after")).update(
        undone_at=now, undone_by=user)
    _restore_from_decisions(batch=batch, undone_at=now)
    # What stays decided can no longer be undone: it is marked (with no one as undoer), so
    # the next "undo" goes on with the decision before this batch.
    decisions.filter(undone_at=None).update(undone_at=now)
    return {"undone": undone, "kept": total - undone, "example_id": None}


def _restore_from_decisions(*, batch: uuid.UUID, undone_at) -> None:
    """Put back the review state the batch's decisions marked ``undone_at`` recorded: one
    UPDATE ... FROM (a join; PostgreSQL, and SQLite since 3.33) instead of a subquery per
    column and item."""
    meta = ReviewDecision._meta
    qn = connection.ops.quote_name
    example = qn(Example._meta.db_table)
    sql = (
        f"UPDATE {example} SET {qn('review_status')} = d.{qn('prev_status')}, "
        f"{qn('added_at')} = d.{qn('prev_added_at')}, "
        f"{qn('reviewed_by_id')} = d.{qn('prev_reviewed_by_id')}, "
        f"{qn('reviewed_at')} = d.{qn('prev_reviewed_at')}, "
        f"{qn('version')} = {example}.{qn('version')} + 1 "
        f"FROM {qn(meta.db_table)} d WHERE d.{qn('example_id')} = {example}.{qn('id')} "
        f"AND d.{qn('batch')} = %s AND d.{qn('undone_at')} = %s"
    )
    params = [meta.get_field("batch").get_db_prep_value(batch, connection=connection),
              meta.get_field("undone_at").get_db_prep_value(undone_at, connection=connection)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
