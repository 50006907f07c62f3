"""Runs and review: a run whose next round needs synthesized items people have not
reviewed yet waits, and goes on by itself when the last of them is decided.

- The worker asks :func:`run_review_state` before each round (review required): the run's
  approved synthesized items as they are now (a person's edits included, rejected ones left
  out) and how many are still pending. With pending items and a project that does not say
  "use approved items only", the engine stops before the round and the worker hands the run
  over with :func:`run_release_waiting` (running -> waiting; queued at once instead when the
  last item was decided meanwhile).
- The review app calls :func:`resume_runs_waiting_on` after its decisions commit: every
  waiting run of those rounds with nothing pending left is queued again and continues from
  its checkpoint exactly like a resumed run.

No role checks here: the review app checked the reviewer; workers call the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from django.db import transaction
from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse

from apps.projects.models import Example, Project
from apps.runs.dispatch import enqueue_run_on_commit
from apps.runs.models import Round, Run, RunEvent, RunStatus
from apps.runs.recording import run_event_log, run_resume_round
from apps.runs.states import run_release, transition
from apps.runs.sweep import run_mark_enqueued
from workers.engine.api import Item, ReviewState


def run_synthesized(run: Run | int):
    """The run's synthesized examples (every round of it)."""
    run_id = run if isinstance(run, int) else run.pk
    return Example.objects.filter(round__run_id=run_id, origin=Example.Origin.SYNTHESIZED)


def run_pending_count(run: Run | int) -> int:
    """How many of the run's synthesized items wait for a decision."""
    return run_synthesized(run).filter(review_status=Example.ReviewStatus.PENDING).count()


def run_pending_by_round(run: Run | int) -> dict[int, int]:
    """``{round index: pending synthesized items}`` for the rounds that have any."""
    rows = (run_synthesized(run).filter(review_status=Example.ReviewStatus.PENDING)
            .order_by().values("round__index").annotate(n=Count("pk")))
    return {row["round__index"]: row["n"] for row in rows}


def _requeue(run: Run, message: str) -> None:
    """waiting -> queued and sent after commit; ``run`` is locked by the caller."""
    transition(run, RunStatus.QUEUED)
    run_mark_enqueued(run=run)
    run_event_log(run=run, message=message)
    enqueue_run_on_commit(run.pk)


def resume_runs_waiting_on(*, round_ids: Iterable[int]) -> list[int]:
    """Queue again every waiting run among the runs of ``round_ids`` that has no pending
    synthesized item left; their ids, in order. Call it after the decisions committed.

    Each run is locked while it is checked, so a worker that is just handing the same run
    over (:func:`run_release_waiting`) and this call never both miss the last decision.
    """
    ids = {int(pk) for pk in round_ids}
    if not ids:
        return []
    run_ids = sorted(set(Round.objects.filter(pk__in=ids, run__status=RunStatus.WAITING)
                         .values_list("run_id", flat=True)))
    resumed: list[int] = []
    for run_id in run_ids:
        with transaction.atomic():
            run = Run.objects.select_for_update().filter(
                pk=run_id, status=RunStatus.WAITING).first()
            if run is None or run_pending_count(run):
                continue
            _requeue(run, "review finished: every synthesized item is decided; resumes "
                          f"after round {run_resume_round(run=run)}")
            resumed.append(run_id)
    return resumed


def resume_runs_waiting_in_project(*, project_id: int) -> list[int]:
    """Queue again the project's waiting runs that may go on now: nothing pending left,
    or the project now says "use approved items only" (a settings change)."""
    waiting = Run.objects.filter(project_id=project_id, status=RunStatus.WAITING)
    resumed: list[int] = []
    for run_id in waiting.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            run = Run.objects.select_for_update().select_related("project").filter(
                pk=run_id, status=RunStatus.WAITING).first()
            if run is None:
                continue
            pending = run_pending_count(run)
            if pending and not run.project.approved_only:
                continue
            why = (f"the project now uses approved items only ({pending} still pending)"
                   if pending else "every synthesized item is decided")
            _requeue(run, f"{why}; resumes after round {run_resume_round(run=run)}")
            resumed.append(run_id)
    return resumed


def run_release_waiting(*, run_id: int, worker: str, round_index: int) -> str | None:
    """The worker that holds the run stops it before round ``round_index`` to wait for
    review: running -> waiting; or running -> queued (sent again after commit) when no
    item is pending any more, since the last decision may have come while it stopped.
    A cancel or pause asked meanwhile is honoured instead. The status it went to, or None
    when the worker no longer holds the run."""
    with transaction.atomic():
        run = Run.objects.select_for_update().filter(
            pk=run_id, status=RunStatus.RUNNING, worker=worker).first()
        if run is None:
            return None
        asked = {Run.StopRequest.CANCEL: RunStatus.CANCELLED,
                 Run.StopRequest.PAUSE: RunStatus.PAUSED}.get(run.stop_request)
        if asked is not None:  # a person's cancel or pause, asked as it stopped, wins
            if not run_release(run_id, worker, asked):
                return None
            run_event_log(run=run_id, message=(
                f"{asked} as asked, before round {round_index} (it was to wait for review)"))
            return asked
        pending = run_pending_count(run)
        if not pending:
            if not run_release(run_id, worker, RunStatus.QUEUED):
                return None
            run.refresh_from_db()
            run_mark_enqueued(run=run)
            run_event_log(run=run, message=(
                f"review finished while round {round_index} was waiting; requeued"))
            enqueue_run_on_commit(run_id)
            return RunStatus.QUEUED
        if not run_release(run_id, worker, RunStatus.WAITING):
            return None
        run_event_log(run=run_id, kind=RunEvent.Kind.LOG, round=round_index, message=(
            f"waiting for review before round {round_index}: {pending} synthesized items "
            "pending"))
        return RunStatus.WAITING


def run_review_counts(run: Run | int) -> dict[str, int]:
    """The run's synthesized items by review state: pending, approved, edited (approved
    with a person's changes), rejected; one query."""
    agg = run_synthesized(run).aggregate(
        pending=Count("pk", filter=Q(review_status=Example.ReviewStatus.PENDING)),
        approved=Count("pk", filter=Q(review_status=Example.ReviewStatus.APPROVED)),
        edited=Count("pk", filter=Q(review_status=Example.ReviewStatus.APPROVED)
                     & ~Q(suggestion={})),
        rejected=Count("pk", filter=Q(review_status=Example.ReviewStatus.REJECTED)),
    )
    return {key: int(value or 0) for key, value in agg.items()}


def engine_item_id(*, run: Run | int, key: str) -> str:
    """The engine's id of a synthesized example of ``run`` (stored as ``run<pk>-<id>``)."""
    run_id = run if isinstance(run, int) else run.pk
    prefix = f"run{run_id}-"
    return key[len(prefix):] if key.startswith(prefix) else key


def reviewed_item(example: Example, *, run: Run) -> Item:
    """The engine's item for an approved synthesized example, as people left it: the
    person's version when they edited it (``meta["decision"]`` says which)."""
    decision = "edited" if example.suggestion else "approved"
    return Item(id=engine_item_id(run=run, key=example.key), prompt=example.prompt,
                answer=example.answer,
                skills=tuple(sorted(s.name for s in example.skills.all())),
                level=example.level,
                meta={**(example.meta or {}), "example": example.pk, "decision": decision})


def run_review_state(*, run: Run) -> ReviewState:
    """What the worker hands the engine before a round: the run's approved synthesized
    items as they are now, the ids of the rejected ones, how many are pending, and whether
    the round must wait (review required, items pending, and the project does not say "use
    approved items only"; read now, so a changed setting applies). Five queries."""
    items = run_synthesized(run)
    pending = items.filter(review_status=Example.ReviewStatus.PENDING).count()
    approved = [reviewed_item(e, run=run) for e in
                items.filter(review_status=Example.ReviewStatus.APPROVED)
                .order_by("pk").prefetch_related("skills")]
    rejected = frozenset(
        engine_item_id(run=run, key=key) for key in
        items.filter(review_status=Example.ReviewStatus.REJECTED).values_list("key", flat=True))
    approved_only = Project.objects.filter(pk=run.project_id).values_list(
        "approved_only", flat=True).first()
    wait = bool(run.synth_requires_review and pending and not approved_only)
    return ReviewState(approved=tuple(approved), rejected=rejected, pending=pending, wait=wait)


def review_queue_url(*, project_id: int, run_id: int | None = None,
                     round_index: int | None = None) -> str:
    """The review queue of the project, filtered to a run (and round) when given."""
    try:
        base = reverse("review:queue", args=[project_id])
    except NoReverseMatch:  # the review app is not installed
        base = f"/projects/{project_id}/review/"
    query = {k: v for k, v in (("run", run_id), ("round", round_index)) if v is not None}
    return f"{base}?{urlencode(query)}" if query else base


def run_review_summary(*, run: Run, rounds: Iterable[dict] = ()) -> dict:
    """What the run page says about review: pending items (and the queue link, filtered to
    the round when they are all of one round), and how many synthesized items the rounds
    trained on, unreviewed, approved and edited, summed over ``rounds`` (the rows of
    ``selectors.round_list_light``). One query."""
    by_round = run_pending_by_round(run)
    pending = sum(by_round.values())
    only_round = next(iter(by_round)) if len(by_round) == 1 else None
    trained = {key: int(sum(r.get(f"synth_{key}") or 0 for r in rounds))
               for key in ("items", "unreviewed", "approved", "edited")}
    return {
        "pending": pending,
        "waiting": run.status == RunStatus.WAITING,
        "queue_url": review_queue_url(project_id=run.project_id, run_id=run.pk,
                                      round_index=only_round) if pending else "",
        "trained": trained,
    }
