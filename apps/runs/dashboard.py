"""The run dashboard: what it reads (a bounded number of queries whatever the size of the run)
and the context its partial ``templates/runs/_dashboard.html`` renders from.

The run page includes the partial; a share link's page renders it with ``shared=True``
(no controls, no links into the rest of the app, no teacher keys, no teacher prompt text)
and its own ``failures_url``, which the heatmap's click asks for the failed items of one
cell (query parameters ``round`` and ``skill``).
"""

from __future__ import annotations

from collections import defaultdict

from django.db import connection
from django.db.models import Count, F, IntegerField, OuterRef, Subquery
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Coalesce
from django.urls import reverse

from apps.projects.models import Example
from apps.runs import charts
from apps.runs.models import EvalFailure, LevelStat, Round, Run, SkillStat

FAILURES_SHOWN = 50  # failed items listed for one heatmap cell
SCORE_NAMES = {"sec": "Q", "dump": "UCB"}  # what LevelStat.strategy_score is per strategy


# --- Reads -------------------------------------------------------------------------------


def skill_tree_order(rows: list[dict]) -> list[tuple[str, int]]:
    """(name, depth) of ``rows`` (``{id, name, parent_id}``) in tree order: each skill
    followed by its children, siblings by name; a skill whose parent is not among the rows
    is a root. Cycles (which the models do not forbid) are cut."""
    ids = {r["id"] for r in rows}
    children: dict[int | None, list[dict]] = defaultdict(list)
    for r in rows:
        children[r["parent_id"] if r["parent_id"] in ids else None].append(r)
    out: list[tuple[str, int]] = []
    seen: set[int] = set()

    def walk(parent: int | None, depth: int) -> None:
        for r in sorted(children.get(parent, []), key=lambda r: r["name"]):
            if r["id"] in seen:
                continue
            seen.add(r["id"])
            out.append((r["name"], depth))
            walk(r["id"], depth + 1)

    walk(None, 0)
    for r in sorted(rows, key=lambda r: r["name"]):  # only in a cycle: not reached above
        if r["id"] not in seen:
            seen.add(r["id"])
            out.append((r["name"], 0))
    return out


METRIC_KEYS = ("accuracy", "held_out_accuracy", "held_out_levels", "weakest_skill_accuracy",
               "seconds", "synthesized", "teacher")
STATE_KEYS = ("skill_levels", "skill_weights", "weights")  # mastery and stat_* strategies


def dashboard_rows(*, run: Run) -> dict:
    """Everything the dashboard draws, as plain rows, in three queries: the rounds (with
    their synthesized examples counted by review status), the Missing-Skill-Profile rows
    (with each skill's name and parent) and the level stats."""
    def reviewed(status: str) -> Coalesce:
        n = (Example.objects.filter(round=OuterRef("pk"), review_status=status).order_by()
             .values("round").annotate(n=Count("id")).values("n"))
        return Coalesce(Subquery(n, output_field=IntegerField()), 0)

    # only the keys drawn are read out of the JSON columns, in the database: a round's
    # metrics also hold per-skill accuracies, teacher failures and more
    picked = {f"m_{k}": KeyTransform(k, "metrics") for k in METRIC_KEYS}
    picked |= {f"s_{k}": KeyTransform(k, "curriculum_state") for k in STATE_KEYS}
    rounds = list(
        Round.objects.filter(run=run).order_by("index")
        .annotate(pending=reviewed(Example.ReviewStatus.PENDING),
                  accepted=reviewed(Example.ReviewStatus.APPROVED),
                  rejected=reviewed(Example.ReviewStatus.REJECTED))
        .values("id", "index", "plan", "pending", "accepted", "rejected", **picked)
    )
    for r in rounds:
        r["metrics"] = {k: r.pop(f"m_{k}") for k in METRIC_KEYS}
        r["curriculum_state"] = {k: v for k in STATE_KEYS
                                 if (v := r.pop(f"s_{k}")) is not None}
    stats = list(SkillStat.objects.filter(run=run).order_by()
                 .values("round_id", "skill_id", "evaluated", "failed", "miss_rate",
                         "miss_share", skill_name=F("skill__name"),
                         skill_parent_id=F("skill__parent_id")))
    skills = list({s["skill_id"]: {"id": s["skill_id"], "name": s["skill_name"],
                                   "parent_id": s["skill_parent_id"]} for s in stats}.values())
    levels = list(LevelStat.objects.filter(run=run).order_by()
                  .values("round_id", "level", "sampling_probability", "success_rate",
                          "strategy_score", "samples", "evaluated"))
    return {"rounds": rounds, "stats": stats, "skills": skills, "levels": levels}


def _blamed_on(qs, skill: str):
    """The failures of ``qs`` blamed on ``skill``: JSON containment where the database has
    it (PostgreSQL); on SQLite, which has none, the round's failures (500 at most, as the
    worker keeps only some) are read and matched here."""
    if connection.vendor == "postgresql":
        return qs.filter(blamed__contains=[skill])
    return qs.filter(pk__in=[pk for pk, blamed in qs.values_list("pk", "blamed")
                             if skill in blamed])


def failures_for_cell(*, run: Run, round_index: int, skill: str,
                      limit: int = FAILURES_SHOWN) -> dict:
    """The failed items of ``skill`` in round ``round_index`` (those whose failure was blamed
    on it; held-out failures are not diagnosed and so in no cell), in the order stored:
    ``{round, skill, items, shown, stored, failed}`` where ``failed`` is the profile's count
    (the worker keeps only some: ``workers.engine.records.failure_rows``); three queries at
    most on PostgreSQL."""
    qs = _blamed_on(EvalFailure.objects.filter(run=run, round__index=round_index),
                    skill).order_by("id")
    items = list(qs.values("item_id", "prompt", "answer", "prediction", "level", "skills",
                           "blamed", "held_out")[:limit])
    stored = len(items) if len(items) < limit else qs.count()
    failed = (SkillStat.objects.filter(run=run, round__index=round_index, skill__name=skill)
              .values_list("failed", flat=True).first())
    return {"round": round_index, "skill": skill, "items": items, "shown": len(items),
            "stored": stored, "failed": failed}


# --- Figures -----------------------------------------------------------------------------


def _skill_weights(rnd: dict) -> dict[str, float]:
    """The share of the round's training budget that targets each skill: from the data
    plan's entries (every strategy), else the strategy's own ``skill_weights``/``weights``."""
    entries = (rnd["plan"] or {}).get("entries") or []
    total = sum(int(e.get("count") or 0) for e in entries)
    weights: dict[str, float] = defaultdict(float)
    for e in entries:
        if e.get("skill") and total:
            weights[e["skill"]] += int(e.get("count") or 0) / total
    if weights:
        return dict(weights)
    state = rnd["curriculum_state"] or {}
    raw = state.get("skill_weights") or state.get("weights") or {}
    return {k: float(v) for k, v in raw.items() if isinstance(v, int | float)
            and not str(k).lstrip("-").isdigit()}


def _teacher(metrics: dict) -> tuple[int, int]:
    t = metrics.get("teacher") or {}
    return (int(t.get("prompt_tokens") or 0) + int(t.get("completion_tokens") or 0),
            int(t.get("calls") or 0))


def build_dashboard(*, rows: dict, strategy: str = "") -> dict:
    """The dashboard's figures and numbers from :func:`dashboard_rows` (pure)."""
    rounds = rows["rounds"]
    index_of = {r["id"]: r["index"] for r in rounds}
    indexes = [r["index"] for r in rounds]
    names = {s["id"]: s["name"] for s in rows["skills"]}
    cells = {}
    for s in rows["stats"]:
        if s["skill_id"] in names and s["round_id"] in index_of:
            cells[(names[s["skill_id"]], index_of[s["round_id"]])] = s
    shown = {name for (name, _), cell in cells.items() if cell["evaluated"] or cell["failed"]}
    order = skill_tree_order([s for s in rows["skills"] if s["name"] in shown])

    held_out_levels = {int(lv) for r in rounds
                       for lv in (r["metrics"] or {}).get("held_out_levels") or []}
    level_rows = [(index_of[lv["round_id"]], lv["level"], lv["success_rate"], lv["evaluated"])
                  for lv in rows["levels"] if lv["round_id"] in index_of]
    overall = [(r["index"], (r["metrics"] or {}).get("accuracy"),
                (r["metrics"] or {}).get("held_out_accuracy")) for r in rounds]
    sampling = [(index_of[lv["round_id"]], lv["level"], lv["sampling_probability"],
                 lv["strategy_score"]) for lv in rows["levels"]
                if lv["round_id"] in index_of and lv["level"] not in held_out_levels]

    weights = {(skill, r["index"]): w for r in rounds if r["index"]
               for skill, w in _skill_weights(r).items()}
    mastery: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for r in rounds:
        for skill, level in ((r["curriculum_state"] or {}).get("skill_levels") or {}).items():
            if isinstance(level, int):
                mastery[skill].append((r["index"], level))

    data_rows, cost_rows = [], []
    for r in rounds:
        m = r["metrics"] or {}
        entries = (r["plan"] or {}).get("entries") or []
        data_rows.append({
            "index": r["index"],
            "pool": sum(int(e.get("count") or 0) for e in entries
                        if e.get("source", "pool") == "pool"),
            "synthesized": m.get("synthesized") or 0,
            "accepted": r.get("accepted", 0), "pending": r.get("pending", 0),
            "rejected": r.get("rejected", 0),
        })
        tokens, calls = _teacher(m)
        cost_rows.append({"index": r["index"], "tokens": tokens, "calls": calls,
                          "seconds": float(m.get("seconds") or 0.0)})
    weakest = [(r["index"], (r["metrics"] or {}).get("weakest_skill_accuracy")) for r in rounds]

    figures = {
        "heatmap": charts.skill_heatmap_figure(skills=order, rounds=indexes, cells=cells),
        "levels": charts.level_accuracy_figure(levels=level_rows, overall=overall,
                                               held_out_levels=held_out_levels),
        "sampling": charts.sampling_figure(levels=sampling,
                                           score_name=SCORE_NAMES.get(strategy, "score")),
        "weights": charts.skill_weight_figure(skills=[n for n, _ in order] + sorted(
            {s for s, _ in weights} - {n for n, _ in order}), rounds=indexes[1:],
            weights=weights),
        "mastery": charts.mastery_figure(skill_levels=dict(mastery)),
        "data": charts.data_figure(rows=data_rows),
        "cost": charts.cost_figure(rows=cost_rows),
    }
    return {
        "figures": {k: v for k, v in figures.items() if v is not None},
        "cost_per_point": charts.cost_per_point(cost_rows, weakest),
        "totals": {"tokens": sum(r["tokens"] for r in cost_rows),
                   "calls": sum(r["calls"] for r in cost_rows),
                   "seconds": sum(r["seconds"] for r in cost_rows)},
        "data_rows": data_rows,
        "n_rounds": len(rounds), "n_skills": len(order),
    }


# --- The partial's context ---------------------------------------------------------------

FIGURE_IDS = ("heatmap", "levels", "sampling", "weights", "mastery", "data", "cost")


def run_dashboard_context(*, run: Run, shared: bool = False, show_prompts: bool = False,
                          failures_url: str | None = None) -> dict:
    """The context of ``templates/runs/_dashboard.html``: ``{"dashboard": {...}}``.

    ``shared``: for a share link's page (no links into the app; the dashboard itself shows
    no teacher keys nor teacher prompt text in any case: ``show_prompts`` is passed on for
    the share page's own use). ``failures_url``: where the heatmap's click reads a cell's
    failed items; defaults to the run's own endpoint (members only).
    """
    strategy = run.curriculum.strategy if run.curriculum_id else ""
    built = build_dashboard(rows=dashboard_rows(run=run), strategy=strategy)
    figures = built.pop("figures")
    return {"dashboard": {
        **built,
        "run_id": run.pk,
        "active": run.is_active,  # still running: the figures are as of this page load
        "strategy": strategy,
        "figures": [{"name": name, "id": f"dash-{name}-figure", "figure": figures[name]}
                    for name in FIGURE_IDS if name in figures],
        "shared": shared,
        "show_prompts": show_prompts,
        "failures_url": failures_url or reverse("runs:run-failures", args=[run.pk]),
    }}
