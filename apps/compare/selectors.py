"""Reading comparisons: saved ones (scoped to the user's teams) and the numbers of any
selection of runs.

A comparison's page costs the same few queries whatever the number of runs: the runs, their
rounds (only the metrics the charts need, read out of the JSON in the database), the
Missing-Skill-Profile of each run's last round, the project's skills, and, when some rounds
lack them, the weakest-skill accuracies and the held-out levels.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast
from django.shortcuts import get_object_or_404

from apps.compare import charts
from apps.compare.models import Comparison
from apps.compare.selection import MAX_RUNS, Selection, selection_from_comparison
from apps.compare.stats import (
    flatten_spec,
    group_options,
    make_groups,
    series,
    skill_tree_order,
)
from apps.compare.table import default_baseline, final_table, parse_baseline
from apps.projects.models import Project, Skill
from apps.runs.models import LevelStat, Round, Run, SkillStat

ROUNDS_CACHE_SECONDS = 7 * 24 * 3600
RUN_FIELDS = ("pk", "name", "status", "steps_per_round", "lr", "batch_size", "rounds",
              "eval_size", "spec")


def comparison_list_for_user(*, user, project: Project | None = None) -> QuerySet[Comparison]:
    if not user.is_authenticated:
        return Comparison.objects.none()
    qs = Comparison.objects.filter(project__team__memberships__user=user)
    if project is not None:
        qs = qs.filter(project=project)
    return qs.select_related("project__team", "created_by").order_by("name", "pk")


def comparison_get_for_user(*, user, pk: int) -> Comparison:
    """The saved comparison, or Http404 when it belongs to a team the user is not in."""
    return get_object_or_404(comparison_list_for_user(user=user), pk=pk)


def comparison_runs(*, project: Project, selection: Selection) -> tuple[list[dict], bool]:
    """The selected runs of ``project`` (oldest first) as plain rows, and whether the
    selection held more than MAX_RUNS (then the first MAX_RUNS). Ids of other projects'
    runs match nothing here; an empty selection (no ids, no filter) matches no run."""
    if selection.is_empty:
        return [], False
    qs = Run.objects.filter(project=project)
    if selection.run_ids:
        qs = qs.filter(pk__in=selection.run_ids)
    else:
        if selection.strategies:
            qs = qs.filter(curriculum__strategy__in=selection.strategies)
        if selection.statuses:
            qs = qs.filter(status__in=selection.statuses)
    rounds = Round.objects.filter(run=OuterRef("pk")).order_by().values("run")
    rows = list(
        qs.order_by("created_at", "pk")
        .values(*RUN_FIELDS, strategy=F("curriculum__strategy"),
                n_rounds=Subquery(rounds.annotate(n=Count("id")).values("n"),
                                  output_field=IntegerField()),
                last_round_id=Subquery(rounds.annotate(m=Max("id")).values("m"),
                                       output_field=IntegerField()),
                curriculum_name=F("curriculum__name"), student_name=F("student__name"),
                student_preset=F("student__preset"), teacher_name=F("teacher_config__name"))
        [:MAX_RUNS + 1]
    )
    for row in rows:
        row["flat_spec"] = flatten_spec(row.pop("spec"))
        for key in ("curriculum", "student", "teacher"):  # names, as FIELD_KEYS reads them
            row[key] = row.pop(f"{key}_name")
    return rows[:MAX_RUNS], len(rows) > MAX_RUNS


def rounds_versions(runs: list[dict]) -> dict[int, tuple]:
    """run pk -> (number of rounds, newest round id): what its rounds' cache key holds."""
    return {r["pk"]: (r["n_rounds"] or 0, r["last_round_id"]) for r in runs}


def _metric(key: str):
    return Cast(KeyTextTransform(key, "metrics"), FloatField())


# On PostgreSQL a round's metrics are a TOASTed jsonb (the per-skill accuracies make them
# kilobytes): each ``metrics ->> key`` would decompress them again, so the inner query
# detoasts them once (``|| '{}'`` makes an in-memory copy; OFFSET 0 keeps the planner from
# folding it into the outer expressions). Four times faster on 50 runs x 21 rounds.
_ROUNDS_SQL = """
SELECT id, run_id, "index", {numbers}, m -> 'held_out_levels'
FROM (SELECT id, run_id, "index", metrics || '{{}}'::jsonb AS m FROM {table}
      WHERE run_id = ANY(%s) OFFSET 0) AS r
ORDER BY run_id, "index"
"""
_ROUND_NUMBERS = (("accuracy", "accuracy"), ("weakest", "weakest_skill_accuracy"),
                  ("held_out", "held_out_accuracy"))


def _detoast_once() -> bool:
    return connection.vendor == "postgresql"


def _round_rows(run_ids: list[int]) -> list[dict]:
    if not _detoast_once():
        return list(
            Round.objects.filter(run_id__in=run_ids).order_by("run_id", "index")
            .values("id", "run_id", "index",
                    held_out_levels=KeyTransform("held_out_levels", "metrics"),
                    **{name: _metric(key) for name, key in _ROUND_NUMBERS})
        )
    numbers = ", ".join(
        f"CASE WHEN jsonb_typeof(m -> '{key}') = 'number' THEN (m ->> '{key}')::float END"
        for _, key in _ROUND_NUMBERS)
    sql = _ROUNDS_SQL.format(numbers=numbers, table=connection.ops.quote_name(
        Round._meta.db_table))
    names = ("id", "run_id", "index", *(n for n, _ in _ROUND_NUMBERS), "held_out_levels")
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(run_ids)])
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        if isinstance(row["held_out_levels"], str):
            row["held_out_levels"] = json.loads(row["held_out_levels"])
    return rows


def comparison_rounds(*, run_ids: list[int],
                      versions: Mapping[int, tuple] | None = None) -> dict[int, list[dict]]:
    """run pk -> its rounds (oldest first) as ``{id, index, accuracy, weakest, held_out,
    held_out_levels}``. A round whose metrics lack the weakest-skill accuracy gets it from
    its stored profile (one more query, only then).

    With ``versions`` (:func:`rounds_versions`) each run's rows are cached under its number
    of rounds and newest round id: a round's metrics never change once recorded, so a key
    is stale only when rounds were added or removed, and then it is another key. Runs found
    in the cache cost no query."""
    keys = {pk: f"compare:rounds:v1:{pk}:{n}:{last}"
            for pk, (n, last) in (versions or {}).items()}
    cached = cache.get_many([keys[pk] for pk in run_ids if pk in keys]) if keys else {}
    out: dict[int, list[dict]] = {}
    todo = []
    for pk in run_ids:
        if keys.get(pk) in cached:
            out[pk] = [dict(row) for row in cached[keys[pk]]]
        else:
            todo.append(pk)
    if todo:
        fresh: dict[int, list[dict]] = {pk: [] for pk in todo}
        for row in _round_rows(todo):
            levels = row["held_out_levels"]
            row["held_out_levels"] = [int(v) for v in levels if isinstance(v, int)] \
                if isinstance(levels, list) else []
            fresh[row["run_id"]].append(row)
        _weakest_from_profiles([row for rows in fresh.values() for row in rows])
        if keys:
            cache.set_many({keys[pk]: rows for pk, rows in fresh.items() if pk in keys},
                           ROUNDS_CACHE_SECONDS)
        out.update({pk: [dict(row) for row in rows] for pk, rows in fresh.items()})
    return {pk: rows for pk, rows in out.items() if rows}


def _weakest_from_profiles(rows: list[dict]) -> None:
    """Rounds recorded without ``weakest_skill_accuracy``: the lowest accuracy of their
    stored profile (skills they evaluated), in one query."""
    missing = {row["id"]: row for row in rows if row["weakest"] is None}
    if missing:
        lows = (SkillStat.objects.filter(round_id__in=list(missing), evaluated__gt=0)
                .order_by().values("round_id").annotate(low=Min("accuracy")))
        for low in lows:
            missing[low["round_id"]]["weakest"] = low["low"]


def comparison_finals(*, rounds_by_run: Mapping[int, list[dict]]) -> dict[int, dict]:
    """run pk -> the numbers of its last stored round: accuracy, weakest, held-out accuracy,
    held-out level success rates and the per-skill accuracies (skills it evaluated).

    The per-skill and held-out rates are cached per run under its last round's id (a
    recorded round's statistics never change; a deleted skill's rate is left unused, since
    the table's rows come from the project's skills)."""
    last = {pk: rounds[-1] for pk, rounds in rounds_by_run.items() if rounds}
    finals = {pk: {"round": r["index"], "accuracy": r["accuracy"], "weakest": r["weakest"],
                   "held_out": r["held_out"], "levels": {}, "skills": {}}
              for pk, r in last.items()}
    keys = {pk: f"compare:final:v1:{pk}:{r['id']}" for pk, r in last.items()}
    cached = cache.get_many(list(keys.values())) if keys else {}
    todo = {pk: r for pk, r in last.items() if keys[pk] not in cached}
    for pk in last.keys() - todo.keys():
        finals[pk].update(cached[keys[pk]])
    if not todo:
        return finals
    round_ids = [r["id"] for r in todo.values()]
    stats = (SkillStat.objects.filter(round_id__in=round_ids, evaluated__gt=0).order_by()
             .values_list("run_id", "skill_id", "accuracy"))
    for run_id, skill_id, accuracy in stats:
        finals[run_id]["skills"][skill_id] = accuracy
    held = {lv for r in todo.values() for lv in r["held_out_levels"]}
    if held:
        levels = (LevelStat.objects.filter(round_id__in=round_ids, level__in=held).order_by()
                  .values_list("run_id", "level", "success_rate"))
        wanted = {pk: set(r["held_out_levels"]) for pk, r in todo.items()}
        for run_id, level, rate in levels:
            if level in wanted[run_id]:
                finals[run_id]["levels"][level] = rate
    cache.set_many({keys[pk]: {"skills": finals[pk]["skills"], "levels": finals[pk]["levels"]}
                    for pk in todo}, ROUNDS_CACHE_SECONDS)
    return finals


def comparison_skills(*, project: Project) -> list[dict]:
    return list(Skill.objects.filter(project=project).order_by()
                .values("id", "name", "parent_id"))


def selection_context(*, project: Project, selection: Selection, shared: bool = False,
                      comparison: Comparison | None = None) -> dict:
    """Everything ``templates/compare/_comparison.html`` draws, from the database."""
    runs, capped = comparison_runs(project=project, selection=selection)
    errors = list(selection.errors)
    if capped:
        errors.append(f"the selection matches more than {MAX_RUNS} runs; the oldest "
                      f"{MAX_RUNS} are compared")
    groups = make_groups(runs, selection.group_by)
    rounds_by_run = comparison_rounds(run_ids=[r["pk"] for r in runs],
                                      versions=rounds_versions(runs)) if runs else {}
    finals = comparison_finals(rounds_by_run=rounds_by_run) if runs else {}
    baseline = parse_baseline(selection.baseline, groups)
    if selection.baseline and baseline is None:
        errors.append("the baseline is not in this comparison; the default is used")
    baseline = baseline or default_baseline(groups)
    skills = skill_tree_order(comparison_skills(project=project)) if runs else []
    table = final_table(groups=groups, skills=skills, finals=finals, baseline=baseline)
    figures = {
        "accuracy": charts.mean_std_figure(
            series=series(groups, rounds_by_run, "accuracy"),
            title="Eval accuracy (mean ± std over runs)", ytitle="accuracy"),
        "weakest": charts.mean_std_figure(
            series=series(groups, rounds_by_run, "weakest"),
            title="Weakest-skill accuracy (mean ± std over runs)", ytitle="accuracy"),
    }
    if any(r["held_out"] is not None for rs in rounds_by_run.values() for r in rs):
        figures["held_out"] = charts.mean_std_figure(
            series=series(groups, rounds_by_run, "held_out"),
            title="Held-out accuracy (mean ± std over runs)", ytitle="accuracy")
    baseline_value = f"{baseline[0]}:{baseline[1]}" if baseline else ""
    return {
        "project": project,
        "comparison": comparison,
        "shared": shared,
        "selection": selection,
        "errors": errors,
        "runs": runs,
        "n_runs": len(runs),
        "n_without_rounds": sum(1 for r in runs if r["pk"] not in finals),
        "groups": [{"label": g.label, "runs": [{"pk": r["pk"], "name": r["name"]}
                                                for r in g.runs]} for g in groups],
        "group_by": selection.group_by,
        "group_options": group_options(runs, current=selection.group_by),
        "baseline": baseline_value,
        "baseline_options": (
            [(f"group:{g.label}", f"group {g.label}") for g in groups]
            + [(f"run:{r['pk']}", f"run {r['name']}") for r in runs]),
        "table": table,
        "figures": figures,
        "figure_list": [{"id": f"compare-{key}", "figure": fig} for key, fig in figures.items()],
        "hidden_params": [] if comparison is not None else (
            [("run", pk) for pk in selection.run_ids]
            + [("strategy", s) for s in selection.strategies]
            + [("status", s) for s in selection.statuses]),
    }


def comparison_context(*, comparison: Comparison, shared: bool = False,
                       params: Mapping | None = None) -> dict:
    """The context of ``templates/compare/_comparison.html`` for a saved comparison. With
    ``shared`` the partial shows no controls and no links into the app (share links).
    ``params`` (the page's query string) may change the grouping and baseline for one
    view; shared pages pass none."""
    selection = selection_from_comparison(comparison, None if shared else params)
    return selection_context(project=comparison.project, selection=selection, shared=shared,
                             comparison=comparison)
