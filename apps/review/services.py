"""Review decisions on one example: accept, reject, edit, and undo.

Every decision names the version of the item the reviewer saw; when the item changed since
(another reviewer decided, or edited it), the decision is refused with
:class:`ReviewConflict` and nothing is written. After a decision commits, runs that wait for
the review of the item's round are told to look again (``apps.runs.review_wait``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from apps.accounts.models import Role
from apps.accounts.permissions import require_role
from apps.projects.models import Example, ExampleSkill, Project, Skill
from apps.review.models import ReviewDecision

Status = Example.ReviewStatus
STATE_FIELDS = ("review_status", "added_at", "reviewed_by_id", "reviewed_at", "version",
                "round_id")
MAX_NOTE = 500


class ReviewConflict(Exception):
    """The item changed since the reviewer loaded it; the decision was not saved."""


def _resume(round_ids: list[int]) -> None:
    try:
        from apps.runs.review_wait import resume_runs_waiting_on
    except ImportError:  # the waiting-run side is not installed: nothing waits
        return
    resume_runs_waiting_on(round_ids=round_ids)


def resume_waiting_runs_on_commit(round_ids: Iterable[int | None]) -> None:
    """After the transaction commits, let runs waiting on these rounds' review go on."""
    ids = sorted({r for r in round_ids if r is not None})
    if ids:
        transaction.on_commit(lambda: _resume(ids))


def _conflict_text(current: dict, version: int) -> str:
    when = current["reviewed_at"]
    by = f" at {timezone.localtime(when):%H:%M:%S}" if when else ""
    return (f"Item #{current['id']} changed since you loaded it (version {version}, now "
            f"{current['version']}: {current['review_status']}{by}). Your decision was not "
            "saved; look at the item again and decide once more.")


def _locked_state(example: Example, version: int | None) -> dict:
    """The item's review state, locked for this transaction; ReviewConflict when its
    version is no longer ``version``."""
    current = (Example.objects.select_for_update().filter(pk=example.pk)
               .values("id", *STATE_FIELDS).first())
    if current is None:
        raise ReviewConflict(f"Item #{example.pk} no longer exists.")
    if version is None:
        raise ReviewConflict(f"The decision on item #{example.pk} named no version of it, so "
                             "it was not saved; load the item again and decide once more.")
    if current["version"] != version:
        raise ReviewConflict(_conflict_text(current, version))
    return current


def _decide(*, user, example: Example, version: int | None, action: str, status: str,
            add_to_dataset: bool, updates: dict | None = None, reason: str = "",
            note: str = "", before: dict | None = None, after: dict | None = None,
            ) -> ReviewDecision:
    require_role(user, example.project.team, Role.EDITOR)
    current = _locked_state(example, version)
    now = timezone.now()
    if status == Status.REJECTED:
        added_at = None  # a rejected item leaves the dataset
    elif add_to_dataset:
        added_at = current["added_at"] or now
    else:
        added_at = current["added_at"]
    fields = {"review_status": status, "added_at": added_at, "reviewed_by": user,
              "reviewed_at": now, "version": F("version") + 1, **(updates or {})}
    Example.objects.filter(pk=example.pk).update(**fields)
    decision = ReviewDecision.objects.create(
        project_id=example.project_id, example_id=example.pk, user=user, action=action,
        reason=reason, note=note, added_to_dataset=bool(add_to_dataset and added_at),
        prev_status=current["review_status"], prev_added_at=current["added_at"],
        prev_reviewed_by_id=current["reviewed_by_id"],
        prev_reviewed_at=current["reviewed_at"], version_before=current["version"],
        version_after=current["version"] + 1, before=before or {}, after=after or {},
        created_at=now,
    )
    resume_waiting_runs_on_commit([current["round_id"]])
    return decision


@transaction.atomic
def review_accept(*, user, example: Example, version: int | None,
                  add_to_dataset: bool = False) -> ReviewDecision:
    """Approve the item as it is; with ``add_to_dataset`` it also joins the project's
    dataset (future runs draw it), else only its own run uses it."""
    return _decide(user=user, example=example, version=version,
                   action=ReviewDecision.Action.ACCEPT, status=Status.APPROVED,
                   add_to_dataset=add_to_dataset)


def _check_reason(reason: str, note: str) -> tuple[str, str]:
    note = (note or "").strip()
    if reason not in ReviewDecision.Reason.values:
        raise ValidationError({"reason": "choose a reason from the list"})
    if reason == ReviewDecision.Reason.OTHER and not note:
        raise ValidationError({"note": "say why the item is rejected"})
    if len(note) > MAX_NOTE:
        raise ValidationError({"note": f"at most {MAX_NOTE} characters"})
    return reason, note


@transaction.atomic
def review_reject(*, user, example: Example, version: int | None, reason: str,
                  note: str = "") -> ReviewDecision:
    """Reject the item with a reason from the list (and free text); it leaves the dataset."""
    require_role(user, example.project.team, Role.EDITOR)
    reason, note = _check_reason(reason, note)
    return _decide(user=user, example=example, version=version,
                   action=ReviewDecision.Action.REJECT, status=Status.REJECTED,
                   add_to_dataset=False, reason=reason, note=note)


def level_range(project: Project, *, cached: bool = False) -> tuple[int, int]:
    """The levels an edit may choose: from the project's lowest to its highest level
    (``cached``: as read in the last ten minutes, for a page's label; the check reads them
    afresh)."""
    key = f"review:levels:{project.pk}"
    if cached and (hit := cache.get(key)) is not None:
        return tuple(hit)
    # Per split, so each min and max is one step down the (project, split, level) index.
    rows = [Example.objects.filter(project=project, split=split)
            .aggregate(low=Min("level"), high=Max("level")) for split in Example.Split.values]
    lows = [r["low"] for r in rows if r["low"] is not None]
    highs = [r["high"] for r in rows if r["high"] is not None]
    low = min(lows) if lows else 1
    high = max(highs) if highs else low
    cache.set(key, (low, high), 600)
    return low, high


def content_of(example: Example) -> dict:
    return {"prompt": example.prompt, "answer": example.answer, "level": example.level,
            "skills": sorted(ExampleSkill.objects.filter(example=example)
                             .values_list("skill__name", flat=True))}


def check_edit(*, project: Project, prompt: str, answer: str, skills: Sequence[str],
               level: object) -> tuple[str, str, list[Skill], int]:
    """The edit's fields checked; ValidationError naming each bad field, nothing saved."""
    errors: dict[str, str] = {}
    prompt, answer = (prompt or "").strip(), (answer or "").strip()
    if not prompt:
        errors["prompt"] = "the question must not be empty"
    if not answer:
        errors["answer"] = "the answer must not be empty"
    names = sorted({(s or "").strip() for s in skills} - {""})
    found = {s.name: s for s in Skill.objects.filter(project=project, name__in=names)}
    unknown = [n for n in names if n not in found]
    if unknown:
        errors["skills"] = (f"project {project.name!r} has no skill "
                            + ", ".join(repr(n) for n in unknown))
    elif not names:
        errors["skills"] = "give the item at least one skill"
    low, high = level_range(project)
    if isinstance(level, bool) or not isinstance(level, int):
        errors["level"] = "the level must be a whole number"
    elif not low <= level <= high:
        errors["level"] = f"the level must be between {low} and {high} (this project's levels)"
    if errors:
        raise ValidationError(errors)
    return prompt, answer, [found[n] for n in names], int(level)


@transaction.atomic
def review_edit(*, user, example: Example, version: int | None, prompt: str, answer: str,
                skills: Sequence[str], level: object,
                add_to_dataset: bool = False) -> ReviewDecision:
    """Accept the item with a person's changes. The teacher's version stays in
    ``Example.suggestion`` (kept from the first edit); the item holds the person's."""
    require_role(user, example.project.team, Role.EDITOR)
    prompt, answer, checked, level = check_edit(project=example.project, prompt=prompt,
                                                answer=answer, skills=skills, level=level)
    example.refresh_from_db(fields=["prompt", "answer", "level", "suggestion"])
    before = content_of(example)
    after = {"prompt": prompt, "answer": answer, "level": level,
             "skills": sorted(s.name for s in checked)}
    suggestion = example.suggestion or before
    decision = _decide(
        user=user, example=example, version=version, action=ReviewDecision.Action.EDIT,
        status=Status.APPROVED, add_to_dataset=add_to_dataset,
        updates={"prompt": prompt, "answer": answer, "level": level,
                 "suggestion": suggestion},
        before={**before, "suggestion": example.suggestion}, after=after,
    )
    _set_skills(example.pk, checked)
    return decision


def _set_skills(example_id: int, skills: Sequence[Skill]) -> None:
    ExampleSkill.objects.filter(example_id=example_id).delete()
    ExampleSkill.objects.bulk_create([ExampleSkill(example_id=example_id, skill=s)
                                      for s in skills])


# --- undo -------------------------------------------------------------------------------

def _undo_one(*, user, decision: ReviewDecision, now: datetime) -> None:
    current = (Example.objects.select_for_update().filter(pk=decision.example_id)
               .values("id", *STATE_FIELDS).first())
    if current is None or current["version"] != decision.version_after:
        raise ReviewConflict(
            f"Item #{decision.example_id} changed after this decision; it was not undone."
            if current else f"Item #{decision.example_id} no longer exists.")
    fields = {"review_status": decision.prev_status, "added_at": decision.prev_added_at,
              "reviewed_by_id": decision.prev_reviewed_by_id,
              "reviewed_at": decision.prev_reviewed_at, "version": F("version") + 1}
    if decision.action == ReviewDecision.Action.EDIT and decision.before:
        b = decision.before
        fields.update(prompt=b["prompt"], answer=b["answer"], level=b["level"],
                      suggestion=b.get("suggestion") or {})
        skills = list(Skill.objects.filter(project_id=decision.project_id,
                                           name__in=b.get("skills") or ()))
        _set_skills(decision.example_id, skills)
    Example.objects.filter(pk=decision.example_id).update(**fields)
    ReviewDecision.objects.filter(pk=decision.pk).update(undone_at=now, undone_by=user)


def last_decision(*, user, project: Project) -> ReviewDecision | None:
    """The user's latest decision in the project that is not undone yet."""
    return (ReviewDecision.objects.filter(project=project, user=user, undone_at=None)
            .order_by("-id").first())


@transaction.atomic
def review_undo_last(*, user, project: Project) -> dict:
    """Undo the user's last decision (a whole bulk decision when it was one). Returns
    ``{"undone": n, "kept": n, "example_id": id}``; ``kept`` counts bulk items that changed
    since and were left as they are. Raises ReviewConflict when a single item changed."""
    from apps.review.bulk import review_bulk_undo

    require_role(user, project.team, Role.EDITOR)
    decision = last_decision(user=user, project=project)
    if decision is None:
        raise ValidationError("You have no decision to undo in this project.")
    if decision.batch is not None:
        return review_bulk_undo(user=user, project=project, batch=decision.batch)
    _undo_one(user=user, decision=decision, now=timezone.now())
    return {"undone": 1, "kept": 0, "example_id": decision.example_id}
