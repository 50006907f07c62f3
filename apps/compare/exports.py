"""A comparison as files: CSV (one row per group × round × measure) and one self-contained
HTML file with its charts that works offline.

CSV columns (docs/comparison.md):

- ``group``: the group's label (the value of the group-by parameter; "name (#id)" per run);
- ``round``: the round index; ``steps``: training steps at that round (round × the runs'
  steps per round; rounds of runs with other steps per round are other rows);
- ``kind``: ``overall`` (eval accuracy), ``weakest_skill`` (the lowest per-skill accuracy of
  each run's round), ``held_out`` (held-out accuracy), ``held_out_level`` (success rate on
  one held-out level), ``skill`` (accuracy on one skill);
- ``name``: the skill name, the held-out level, or empty;
- ``runs``: how many runs gave a value; ``accuracy_mean``, ``accuracy_std`` (sample standard
  deviation, 0 for one run);
- ``baseline_mean``: the same measure of the baseline (group or run) at the same steps;
  ``delta``: ``accuracy_mean - baseline_mean`` (empty where the baseline has no value).

The HTML file inlines the vendored Plotly bundle, the figure JSON (in ``json_script``
tags: ``<``, ``>`` and ``&`` escaped) and the drawing script, and its Content-Security-Policy
forbids every network request.
"""

from __future__ import annotations

import csv
import io
import math
import re
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db.models import Case, CharField, F, Value, When
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from apps.compare.selection import Selection
from apps.compare.selectors import (
    comparison_rounds,
    comparison_runs,
    comparison_skills,
    rounds_versions,
)
from apps.compare.stats import make_groups, mean_std, skill_tree_order
from apps.compare.table import default_baseline, parse_baseline
from apps.runs.models import LevelStat, SkillStat

CSV_COLUMNS = ("group", "round", "steps", "kind", "name", "runs", "accuracy_mean",
               "accuracy_std", "baseline_mean", "delta")
KINDS = ("overall", "weakest_skill", "held_out", "held_out_level", "skill")
_ROUND_METRICS = (("overall", "accuracy"), ("weakest_skill", "weakest"),
                  ("held_out", "held_out"))


def _csv_safe(value):
    """A text cell a spreadsheet would run as a formula gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _num(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.6g}"


def comparison_csv_rows(*, project, selection: Selection) -> list[dict]:
    """The CSV's rows as dicts (columns: CSV_COLUMNS)."""
    runs, _ = comparison_runs(project=project, selection=selection)
    if not runs:
        return []
    groups = make_groups(runs, selection.group_by)
    baseline = parse_baseline(selection.baseline, groups) or default_baseline(groups)
    group_of = {r["pk"]: g.label for g in groups for r in g.runs}
    base_runs = {r["pk"] for g in groups for r in g.runs
                 if baseline and ((baseline[0] == "group" and g.label == baseline[1])
                                  or (baseline[0] == "run" and str(r["pk"]) == baseline[1]))}
    spr = {r["pk"]: r["steps_per_round"] or 0 for r in runs}
    rounds_by_run = comparison_rounds(run_ids=list(group_of), versions=rounds_versions(runs))
    where: dict[int, tuple[int, int]] = {}  # round id -> (run pk, round index)
    values: dict[tuple, list[float]] = {}  # (group, steps, kind, name) -> values
    base: dict[tuple, list[float]] = {}  # (steps, kind, name) -> baseline values
    index_at: dict[int, int] = {}

    def add(run_pk: int, index: int, kind: str, name: str, value) -> None:
        if value is None or not math.isfinite(value):
            return
        steps = index * spr[run_pk]
        index_at.setdefault(steps, index)
        values.setdefault((group_of[run_pk], steps, kind, name), []).append(value)
        if run_pk in base_runs:
            base.setdefault((steps, kind, name), []).append(value)

    held: set[int] = set()
    held_at: dict[int, set[int]] = {}  # round id -> its held-out levels
    for run_pk, rounds in rounds_by_run.items():
        for rnd in rounds:
            where[rnd["id"]] = (run_pk, rnd["index"])
            held.update(rnd["held_out_levels"])
            for kind, key in _ROUND_METRICS:
                add(run_pk, rnd["index"], kind, "", rnd[key])
            held_at[rnd["id"]] = set(rnd["held_out_levels"])
    if held:
        for round_id, level, rate in (
                LevelStat.objects.filter(run_id__in=list(group_of), level__in=held)
                .order_by().values_list("round_id", "level", "success_rate")):
            if level in held_at.get(round_id, ()):
                run_pk, index = where[round_id]
                add(run_pk, index, "held_out_level", str(level), rate)
    stats = {key: (len(v), *mean_std(v)) for key, v in values.items()}
    base_means = {key: mean_std(v)[0] for key, v in base.items()}
    # Per-skill rows: group x steps x skill aggregated in the database (50 runs x 21 rounds
    # x 100 skills are 105,000 rows; a few thousand come back).
    names = {s["id"]: s["name"] for s in comparison_skills(project=project)}
    by_label: dict[str, list[int]] = {}
    for pk, label in group_of.items():
        by_label.setdefault(label, []).append(pk)
    for label, steps, skill_id, first, n, mean, std in _skill_aggregates(by_label):
        index_at.setdefault(steps, first)
        stats[(label, steps, "skill", names.get(skill_id, str(skill_id)))] = (n, mean, std or 0.0)
    if base_runs:
        for _, steps, skill_id, _, _, mean, _ in _skill_aggregates({"": sorted(base_runs)}):
            base_means[(steps, "skill", names.get(skill_id, str(skill_id)))] = mean

    skill_rank = {s["name"]: i for i, s in enumerate(
        skill_tree_order(comparison_skills(project=project)))}
    group_rank = {g.label: i for i, g in enumerate(groups)}

    def order(key):
        group, steps, kind, name = key
        if kind == "held_out_level":
            sub = int(name)
        elif kind == "skill":
            sub = skill_rank.get(name, len(skill_rank))
        else:
            sub = 0
        return (group_rank[group], steps, KINDS.index(kind), sub, name)

    rows = []
    for key in sorted(stats, key=order):
        group, steps, kind, name = key
        n, mean, std = stats[key]
        base_mean = base_means.get((steps, kind, name))
        rows.append({
            "group": group, "round": index_at[steps], "steps": steps, "kind": kind,
            "name": name, "runs": n, "accuracy_mean": _num(mean),
            "accuracy_std": _num(std), "baseline_mean": _num(base_mean),
            "delta": "" if base_mean is None else _num(mean - base_mean),
        })
    return rows


def _skill_aggregates(runs_by_label: dict[str, list[int]]):
    """(label, steps, first round index, skill id, runs, mean, sample std or None) of the
    per-skill accuracies, per label x training steps x skill: the values in one query, the
    mean and std in Python (``mean_std``), the same on every database (SQLite's sample
    standard deviation fails on a group of one value)."""
    label = Case(*[When(run_id__in=pks, then=Value(name))
                   for name, pks in runs_by_label.items()], output_field=CharField())
    ids = [pk for pks in runs_by_label.values() for pk in pks]
    rows = (SkillStat.objects.filter(run_id__in=ids, evaluated__gt=0)
            .order_by().annotate(label=label, steps=F("round__index") * F("run__steps_per_round"))
            .values_list("label", "steps", "skill_id", "round__index", "accuracy"))
    groups: dict[tuple, list] = {}
    for name, steps, skill_id, index, accuracy in rows.iterator():
        group = groups.setdefault((name, steps, skill_id), [index, []])
        group[0] = min(group[0], index)
        group[1].append(accuracy)
    for (name, steps, skill_id), (first, values) in groups.items():
        mean, std = mean_std(values)
        yield name, steps, skill_id, first, len(values), mean, std if len(values) > 1 else None


def comparison_csv(*, project, selection: Selection) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in comparison_csv_rows(project=project, selection=selection):
        writer.writerow({k: _csv_safe(v) for k, v in row.items()})
    return out.getvalue()


# --- The offline HTML file ------------------------------------------------------------------

_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)


def inline_script(text: str) -> str:
    """``text`` made safe inside a <script> element: no ``</script`` nor ``<!--`` in it (both
    only ever occur inside string or regex literals, where the escaped forms mean the same)."""
    return mark_safe(_SCRIPT_END.sub(r"<\\/\1", text).replace("<!--", "<\\!--"))


def _static_dir() -> Path:
    return Path(settings.STATICFILES_DIRS[0])


@lru_cache(maxsize=4)
def _read(path: Path, mtime: float) -> str:
    return path.read_text(encoding="utf-8")


def plotly_bundle_path() -> Path:
    """The vendored Plotly bundle to inline: the smallest ``vendor/plotly*.js`` (a partial
    bundle when one is vendored, else the full one)."""
    found = sorted(_static_dir().glob("vendor/plotly*.js"), key=lambda p: p.stat().st_size)
    if not found:
        raise FileNotFoundError("no vendored Plotly bundle in static/vendor/")
    return found[0]


def _inline_file(path: Path) -> str:
    return inline_script(_read(path, path.stat().st_mtime))


def comparison_html(*, context: dict) -> str:
    """One HTML file with the comparison's charts and table: ``context`` is that of
    ``selection_context(shared=True)`` (no controls, no links into the app)."""
    bundle = plotly_bundle_path()
    return render_to_string("compare/comparison_export.html", {
        **context,
        "inline_scripts": mark_safe("".join(  # noqa: S308 (inline_script escapes them)
            f"<script>{_inline_file(path)}</script>\n"
            for path in (bundle, _static_dir() / "js" / "compare_charts.js"))),
        "inline_assets": True,
        "css": _read(_static_dir() / "css" / "compare.css",
                     (_static_dir() / "css" / "compare.css").stat().st_mtime),
    })
