"""The final-accuracy table of a comparison (pure: plain rows in, display rows out).

Columns are the groups; rows are the overall accuracy, the weakest-skill accuracy, the
held-out accuracy and each held-out level (highlighted), then every skill in tree order.
Each cell is the mean over the group's runs of their last stored round, with the standard
deviation and the delta against the baseline (a group, or one run).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from django.utils.safestring import SafeString, mark_safe

from apps.compare.stats import Group, mean_std

Baseline = tuple[str, str]  # ("group", label) or ("run", "<pk>")


def _cell(values: list[float], base: float | None) -> dict:
    mean, std = mean_std(values)
    cell = {"n": len(values), "mean": None if not values else mean,
            "std": None if not values else std, "delta": None,
            "mean_text": "–" if not values else f"{mean:.3f}",
            "std_text": "" if len(values) < 2 else f"± {std:.3f}",
            "delta_text": "", "trend": "", "weakest": False}
    if values and base is not None and math.isfinite(base):
        delta = mean - base
        cell["delta"] = delta
        cell["delta_text"] = f"{delta:+.3f}"
        cell["trend"] = "up" if delta > 0.0005 else "down" if delta < -0.0005 else "flat"
    return cell


def final_table(
    *, groups: Sequence[Group], skills: Sequence[Mapping],
    finals: Mapping[int, Mapping], baseline: Baseline | None,
) -> dict:
    """``finals``: run pk -> ``{"accuracy", "weakest", "held_out", "levels": {level: rate},
    "skills": {skill id: accuracy}}`` of its last round (runs without rounds absent).

    Returns ``{"columns": [...], "rows": [...], "weakest": {group label: skill name}}``.
    """
    held_levels = sorted({lv for f in finals.values() for lv in f["levels"]})
    has_held_out = any(f["held_out"] is not None for f in finals.values())
    row_specs: list[tuple[str, str, object]] = [
        ("overall", "overall accuracy", lambda f: f["accuracy"]),
        ("weakest", "weakest-skill accuracy", lambda f: f["weakest"]),
    ]
    if has_held_out:
        row_specs.append(("held_out", "held-out accuracy", lambda f: f["held_out"]))
    for lv in held_levels:
        row_specs.append(("held_out_level", f"held-out level {lv}",
                          lambda f, lv=lv: f["levels"].get(lv)))
    for skill in skills:
        row_specs.append(("skill", skill["name"], lambda f, sid=skill["id"]: f["skills"].get(sid)))

    def values(group_finals, get) -> list[float]:
        out = []
        for final in group_finals:
            value = get(final)
            if value is not None and math.isfinite(value):
                out.append(float(value))
        return out

    base_finals = [finals[r["pk"]] for r in _baseline_runs(groups, baseline) if r["pk"] in finals]
    group_finals = [[finals[r["pk"]] for r in g.runs if r["pk"] in finals] for g in groups]
    rows = []
    for kind, name, get in row_specs:
        base_values = values(base_finals, get)
        base = mean_std(base_values)[0] if base_values else None
        cells = [_cell(values(gf, get), base) for gf in group_finals]
        if kind == "skill" and not any(c["n"] for c in cells):
            continue  # no run evaluated this skill in its last round
        rows.append({"kind": kind, "name": name, "cells": cells, "cells_html": "",
                     "highlight": kind in ("weakest", "held_out", "held_out_level")})
    weakest: dict[str, str] = {}
    for i, group in enumerate(groups):
        skill_rows = [r for r in rows if r["kind"] == "skill" and r["cells"][i]["n"]]
        if skill_rows:
            low = min(skill_rows, key=lambda r: r["cells"][i]["mean"])
            low["cells"][i]["weakest"] = True
            weakest[group.label] = low["name"]
    for row in rows:
        row["cells_html"] = cells_html(row["cells"])
    columns = [{"label": g.label, "n": len(g.runs),
                "is_baseline": baseline == ("group", g.label)} for g in groups]
    return {"columns": columns, "rows": rows, "weakest": weakest,
            "held_out_levels": held_levels}


def _baseline_runs(groups: Sequence[Group], baseline: Baseline | None) -> list[Mapping]:
    if baseline is None:
        return []
    kind, value = baseline
    for group in groups:
        if kind == "group" and group.label == value:
            return list(group.runs)
        if kind == "run":
            for run in group.runs:
                if str(run["pk"]) == value:
                    return [run]
    return []


def default_baseline(groups: Sequence[Group]) -> Baseline | None:
    """The ``uniform`` group when there is one, else the first group."""
    for group in groups:
        if group.label == "uniform":
            return ("group", group.label)
    return ("group", groups[0].label) if groups else None


def parse_baseline(text: str, groups: Sequence[Group]) -> Baseline | None:
    """``"group:<label>"`` or ``"run:<pk>"`` if it names a group or a run of the comparison,
    else None."""
    kind, _, value = (text or "").partition(":")
    if kind == "group" and any(g.label == value for g in groups):
        return ("group", value)
    if kind == "run" and any(str(r["pk"]) == value for g in groups for r in g.runs):
        return ("run", value)
    return None


def cells_html(cells: Sequence[Mapping]) -> SafeString:
    """A row's cells as HTML, built here rather than by a template loop: a comparison by run
    has 50 columns × 100 skills, and a template tag per cell costs more than the page's
    queries. The texts are numbers this module formatted (digits, sign, "±", "–") and the
    trend one of three words: nothing in them needs escaping."""
    out = []
    for c in cells:
        std = f' <span class="muted">{c["std_text"]}</span>' if c["std_text"] else ""
        delta = (f' <span class="delta {c["trend"]}">{c["delta_text"]}</span>'
                 if c["delta_text"] else "")
        head = ('<td class="num weakest" title="weakest skill of this group">' if c["weakest"]
                else '<td class="num">')
        out.append(f"{head}{c['mean_text']}{std}{delta}</td>")
    return mark_safe("".join(out))  # noqa: S308 (numbers formatted above, no user text)
