"""Where an example came from and where it went: the prompt version and teacher that made
it, its round, the failed eval item (and the student's wrong answer) that triggered it, the
reference items the teacher was shown, the teacher's solutions and which agreed; and the
runs and rounds that could train on it."""

from __future__ import annotations

from django.db.models import Q

from apps.projects.models import Example
from apps.review.models import ReviewDecision
from apps.runs.models import EvalFailure, Round, Run
from workers.engine.api import parsers

MAX_REFERENCES = 10
MAX_RUNS = 20


def _examples_by_item_id(project_id: int, ids: list[str]) -> dict[str, Example]:
    """Examples by their engine item id (their key, or ``example-<pk>`` without one)."""
    keys = [i for i in ids if i and not i.startswith("example-")]
    pks = [int(i[8:]) for i in ids if i.startswith("example-") and i[8:].isdigit()]
    found = Example.objects.filter(Q(key__in=keys) | Q(pk__in=pks), project_id=project_id)
    return {(e.key or f"example-{e.pk}"): e for e in found}


def solutions_of(example: Example) -> list[dict]:
    """The teacher's independent solutions, each marked when it agrees with the kept
    answer (the teacher's own, in ``suggestion`` after a person's edit)."""
    meta = example.meta or {}
    kept = (example.suggestion or {}).get("answer", example.answer)
    norm = parsers.normalize_answer(str(kept))
    return [{"answer": str(a), "agrees": parsers.normalize_answer(str(a)) == norm}
            for a in meta.get("solutions") or () if a is not None]


def lineage_of(example: Example) -> dict:
    """Everything the focus panel shows about ``example`` besides the item itself."""
    meta = example.meta or {}
    rnd = example.round
    trigger_id = str(meta.get("trigger_item") or "")
    refs = [str(r) for r in (meta.get("references") or ())][:MAX_REFERENCES]
    linked = _examples_by_item_id(example.project_id, [trigger_id, *refs])
    failure = None
    if rnd is not None and trigger_id:
        failure = (EvalFailure.objects.filter(run_id=rnd.run_id, item_id=trigger_id,
                                              round__index__lte=rnd.index)
                   .select_related("round").order_by("-round__index").first())
    trigger = example.triggering_example or linked.get(trigger_id)
    solutions = solutions_of(example)
    history = list(ReviewDecision.objects.filter(example=example)
                   .select_related("user", "undone_by").order_by("-id")[:5])
    return {
        "teacher": meta.get("teacher") or example.teacher_kind,
        "prompt_version": example.prompt_version,
        "prompt_version_label": meta.get("prompt_version") or "",
        "solve_prompt_version": meta.get("solve_prompt_version") or "",
        "round": rnd,
        "run": rnd.run if rnd is not None else None,
        "trigger_id": trigger_id,
        "trigger": trigger,
        "failure": failure,
        "references": [(r, linked.get(r)) for r in refs],
        "solutions": solutions,
        "agreement": meta.get("agreement"),
        "n_solutions": meta.get("n_solutions") or len(solutions),
        "verification": meta.get("verification") or "",
        "teacher_reason": meta.get("reason") or "",
        "plan_reason": meta.get("plan_reason") or "",
        "history": history,
    }


def trained_in(example: Example, skills: list[str]) -> dict:
    """The runs that could train on ``example`` and, per run, the rounds whose data plan
    drew from its skill and level.

    A run's pool is the project's dataset at launch, so a pool run is one launched after
    the item joined the dataset (``added_at``); a synthesized item is also its own run's
    from the round after the one that made it. Plans are recorded per (skill, level) cell,
    not per item: a listed round drew from the item's cell, which holds the item.
    """
    runs: dict[int, Run] = {}
    own = example.round.run if example.round_id else None
    if example.review_status != Example.ReviewStatus.REJECTED \
            and example.split == Example.Split.TRAIN:
        if example.added_at is not None:
            for run in (Run.objects.filter(project_id=example.project_id,
                                           created_at__gte=example.added_at)
                        .order_by("-created_at")[:MAX_RUNS]):
                runs[run.pk] = run
        if own is not None:
            runs.setdefault(own.pk, own)
    rounds = Round.objects.filter(run_id__in=list(runs)).order_by("run_id", "index")
    out = []
    skill_set = set(skills)
    per_run: dict[int, list[int]] = {pk: [] for pk in runs}
    for rnd in rounds.only("id", "run_id", "index", "plan"):
        if own is not None and rnd.run_id == own.pk and example.round is not None \
                and rnd.index <= example.round.index and example.added_at is None:
            continue
        for entry in (rnd.plan or {}).get("entries", ()):
            if entry.get("skill") in skill_set and entry.get("level") == example.level \
                    and entry.get("count", 0) > 0:
                per_run[rnd.run_id].append(rnd.index)
                break
    for pk, run in runs.items():
        out.append({"run": run, "rounds": per_run[pk], "own": own is not None and
                    pk == own.pk})
    return {"runs": out, "truncated": len(runs) >= MAX_RUNS}
