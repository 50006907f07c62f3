"""Plotly figure dicts for the run page, built from plain rows (pure, no database).

The page hands each figure to the browser with ``json_script``; static/js/run_charts.js
draws it with ``Plotly.react``.
"""

from __future__ import annotations

from collections.abc import Iterable

_LAYOUT = {
    "margin": {"l": 48, "r": 16, "t": 36, "b": 72},
    "height": 320,
    "legend": {"orientation": "h", "y": -0.32},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
}


def accuracy_figure(
    *, rounds: Iterable[tuple[int, float | None]],
    levels: Iterable[tuple[int, int, float]],
) -> dict:
    """Eval accuracy by round: the overall line and one line per difficulty level.

    ``rounds``: (round index, overall accuracy or None); ``levels``: (round index, level,
    success rate).
    """
    overall = [(i, acc) for i, acc in rounds if acc is not None]
    per_level: dict[int, list[tuple[int, float]]] = {}
    for index, level, rate in levels:
        per_level.setdefault(level, []).append((index, rate))
    data = []
    if overall:
        data.append({
            "type": "scatter", "mode": "lines+markers", "name": "overall",
            "x": [i for i, _ in overall], "y": [round(a, 4) for _, a in overall],
            "line": {"width": 3},
        })
    for level in sorted(per_level):
        points = sorted(per_level[level])
        data.append({
            "type": "scatter", "mode": "lines", "name": f"level {level}",
            "x": [i for i, _ in points], "y": [round(r, 4) for _, r in points],
            "line": {"dash": "dot"},
        })
    layout = {
        **_LAYOUT,
        "title": {"text": "Eval accuracy by round", "font": {"size": 14}},
        "xaxis": {"title": {"text": "round"}, "dtick": 1},
        "yaxis": {"title": {"text": "accuracy"}, "range": [0, 1]},
    }
    return {"data": data, "layout": layout}


def level_share_figure(*, levels: Iterable[tuple[int, int, float]]) -> dict:
    """The curriculum's sampling probability per level by round, as stacked bars.

    ``levels``: (round index, level, sampling probability); round 0 (the initial
    evaluation) trains nothing and is left out.
    """
    per_level: dict[int, dict[int, float]] = {}
    for index, level, probability in levels:
        if index == 0:
            continue
        per_level.setdefault(level, {})[index] = probability
    indexes = sorted({i for by_round in per_level.values() for i in by_round})
    data = [
        {
            "type": "bar", "name": f"level {level}", "x": indexes,
            "y": [round(per_level[level].get(i, 0.0), 4) for i in indexes],
        }
        for level in sorted(per_level)
    ]
    layout = {
        **_LAYOUT,
        "barmode": "stack",
        "title": {"text": "Sampling probability per level", "font": {"size": 14}},
        "xaxis": {"title": {"text": "round"}, "dtick": 1},
        "yaxis": {"title": {"text": "probability"}, "range": [0, 1]},
    }
    return {"data": data, "layout": layout}



# --- The run dashboard (apps/runs/dashboard.py builds the rows) ---------------------------


def _axis_round() -> dict:
    return {"title": {"text": "round"}, "dtick": 1}


def _layout(title: str, **extra) -> dict:
    return {**_LAYOUT, "title": {"text": title, "font": {"size": 14}}, **extra}


def skill_heatmap_figure(
    *, skills: list[tuple[str, int]], rounds: list[int],
    cells: dict[tuple[str, int], dict],
) -> dict:
    """Skills × rounds: the miss rate of each skill in each round, with a button that
    switches to the share of misses. ``skills``: (name, depth in the skill tree) in tree
    order, top to bottom; ``cells``: ``{(skill, round index): {evaluated, failed, miss_rate,
    miss_share}}``. Hover shows items evaluated and failures; ``customdata`` holds them.
    """
    names = [name for name, _ in skills]

    def grid(key: str) -> list[list[float | None]]:
        return [[None if (n, r) not in cells else round(cells[(n, r)][key], 4)
                 for r in rounds] for n in names]

    custom = [[[cells.get((n, r), {}).get("evaluated", 0), cells.get((n, r), {}).get("failed", 0)]
               for r in rounds] for n in names]
    rate, share = grid("miss_rate"), grid("miss_share")
    hover = ("skill %{y}<br>round %{x}<br>%{customdata[1]} failed of %{customdata[0]} "
             "evaluated<br>%{z:.1%}<extra></extra>")
    trace = {
        "type": "heatmap", "x": rounds, "y": names, "z": rate, "customdata": custom,
        "zmin": 0, "zmax": 1, "colorscale": "Reds", "hovertemplate": hover,
        "colorbar": {"title": {"text": "miss rate"}, "tickformat": ".0%"}, "xgap": 1, "ygap": 1,
    }
    buttons = [
        {"label": "miss rate", "method": "restyle",
         "args": [{"z": [rate], "zmax": 1, "colorbar.title.text": "miss rate"}]},
        {"label": "share of misses", "method": "restyle",
         "args": [{"z": [share], "zmax": max([v for row in share for v in row if v] or [1]),
                   "colorbar.title.text": "share of misses"}]},
    ]
    # labels are right-aligned: the tree shows as a corner before each child's name
    labels = [("· " * (depth - 1) + "└ " if depth else "") + name for name, depth in skills]
    layout = _layout(
        "Missing-Skill-Profile by round (click a cell for its failed items)",
        height=max(320, 18 * len(names) + 140),
        margin={"l": 160, "r": 16, "t": 64, "b": 48},
        xaxis={**_axis_round(), "side": "bottom"},
        yaxis={"autorange": "reversed", "tickvals": names, "ticktext": labels,
               "automargin": True, "tickfont": {"size": 11}},
        updatemenus=[{"type": "buttons", "direction": "right", "buttons": buttons,
                      "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
                      "pad": {"b": 4}, "showactive": True}],
    )
    return {"data": [trace], "layout": layout}


def level_accuracy_figure(
    *, levels: Iterable[tuple[int, int, float, int]], held_out_levels: set[int],
    overall: Iterable[tuple[int, float | None, float | None]],
) -> dict:
    """Accuracy per level over rounds, with the overall and held-out accuracy.

    ``levels``: (round index, level, success rate, items evaluated); ``overall``: (round
    index, accuracy, held-out accuracy or None).
    """
    per_level: dict[int, list[tuple[int, float, int]]] = {}
    for index, level, rate, evaluated in levels:
        if evaluated:
            per_level.setdefault(level, []).append((index, rate, evaluated))
    overall = list(overall)
    data = []
    points = [(i, a) for i, a, _ in overall if a is not None]
    if points:
        data.append({"type": "scatter", "mode": "lines+markers", "name": "overall",
                     "x": [i for i, _ in points], "y": [round(a, 4) for _, a in points],
                     "line": {"width": 3}})
    held = [(i, h) for i, _, h in overall if h is not None]
    if held:
        data.append({"type": "scatter", "mode": "lines+markers", "name": "held-out",
                     "x": [i for i, _ in held], "y": [round(h, 4) for _, h in held],
                     "line": {"width": 3, "dash": "dash"}})
    for level in sorted(per_level):
        pts = sorted(per_level[level])
        name = f"level {level}" + (" (held out)" if level in held_out_levels else "")
        data.append({
            "type": "scatter", "mode": "lines", "name": name, "x": [p[0] for p in pts],
            "y": [round(p[1], 4) for p in pts], "customdata": [p[2] for p in pts],
            "hovertemplate": f"{name}, round %{{x}}: %{{y:.1%}} of %{{customdata}}<extra></extra>",
            "line": {"dash": "dot"},
        })
    return {"data": data, "layout": _layout(
        "Accuracy per level", xaxis=_axis_round(),
        yaxis={"title": {"text": "accuracy"}, "range": [0, 1]})}


def sampling_figure(
    *, levels: Iterable[tuple[int, int, float, float | None]], score_name: str = "score",
) -> dict:
    """The curriculum's sampling probability per level by round (stacked bars), with the
    strategy's score of the level (Q value, UCB score) on hover. ``levels``: (round index,
    level, probability, score or None); round 0 trains nothing and is left out."""
    per_level: dict[int, dict[int, tuple[float, float | None]]] = {}
    for index, level, probability, score in levels:
        if index:
            per_level.setdefault(level, {})[index] = (probability, score)
    indexes = sorted({i for by_round in per_level.values() for i in by_round})
    data = []
    for level in sorted(per_level):
        values = [per_level[level].get(i, (0.0, None)) for i in indexes]
        scores = ["–" if s is None else f"{s:.3f}" for _, s in values]
        data.append({
            "type": "bar", "name": f"level {level}", "x": indexes,
            "y": [round(p, 4) for p, _ in values], "customdata": scores,
            "hovertemplate": f"level {level}, round %{{x}}: p=%{{y:.3f}}, {score_name} "
                             "%{customdata}<extra></extra>",
        })
    return {"data": data, "layout": _layout(
        "Sampling probability per level", barmode="stack", xaxis=_axis_round(),
        yaxis={"title": {"text": "probability"}, "range": [0, 1]})}


def skill_weight_figure(*, skills: list[str], rounds: list[int],
                        weights: dict[tuple[str, int], float]) -> dict | None:
    """The share of each round's training budget that targets each skill (skills × rounds),
    for skill-targeted strategies; None when no round targeted a skill."""
    if not weights:
        return None
    names = [s for s in skills if any((s, r) in weights for r in rounds)]
    z = [[round(weights.get((s, r), 0.0), 4) for r in rounds] for s in names]
    trace = {"type": "heatmap", "x": rounds, "y": names, "z": z, "zmin": 0,
             "colorscale": "Blues", "xgap": 1, "ygap": 1,
             "hovertemplate": "skill %{y}<br>round %{x}<br>%{z:.1%} of the budget<extra></extra>",
             "colorbar": {"title": {"text": "share"}, "tickformat": ".0%"}}
    return {"data": [trace], "layout": _layout(
        "Skill weights (share of the training budget)",
        height=max(280, 16 * len(names) + 120), margin={"l": 160, "r": 16, "t": 40, "b": 48},
        xaxis=_axis_round(), yaxis={"autorange": "reversed", "automargin": True,
                                    "tickfont": {"size": 11}})}


def mastery_figure(*, skill_levels: dict[str, list[tuple[int, int]]]) -> dict | None:
    """Each skill's mastery level over rounds as a step chart; None when there is none.
    ``skill_levels``: ``{skill: [(round index, level), ...]}``."""
    if not skill_levels:
        return None
    data = [
        {"type": "scatter", "mode": "lines", "name": skill, "line": {"shape": "hv"},
         "x": [i for i, _ in sorted(points)], "y": [lv for _, lv in sorted(points)],
         "hovertemplate": f"{skill}, round %{{x}}: level %{{y}}<extra></extra>"}
        for skill, points in sorted(skill_levels.items())
    ]
    return {"data": data, "layout": _layout(
        "Mastery level per skill", xaxis=_axis_round(),
        yaxis={"title": {"text": "level"}, "dtick": 1},
        showlegend=len(data) <= 12)}


DATA_SERIES = (("pool", "from the pool"), ("synthesized", "synthesized"),
               ("accepted", "accepted"), ("pending", "pending review"),
               ("rejected", "rejected"))


def data_figure(*, rows: list[dict]) -> dict:
    """Training data per round: items drawn from the pool and synthesized, and the round's
    synthesized examples by review status. ``rows``: one dict per round with ``index`` and
    the keys of :data:`DATA_SERIES` (None where unknown)."""
    rows = [r for r in rows if r["index"]]
    data = [
        {"type": "bar", "name": label, "x": [r["index"] for r in rows],
         "y": [r.get(key) or 0 for r in rows]}
        for key, label in DATA_SERIES if any(r.get(key) for r in rows)
    ]
    return {"data": data, "layout": _layout(
        "Data per round", barmode="group", xaxis=_axis_round(),
        yaxis={"title": {"text": "items"}})}


def cost_figure(*, rows: list[dict]) -> dict:
    """Teacher tokens (bars) and calls, and worker seconds (line, right axis) per round.
    ``rows``: ``{index, tokens, calls, seconds}``."""
    x = [r["index"] for r in rows]
    data = [
        {"type": "bar", "name": "teacher tokens", "x": x, "y": [r["tokens"] for r in rows],
         "customdata": [r["calls"] for r in rows],
         "hovertemplate": "round %{x}: %{y} tokens in %{customdata} calls<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "worker seconds", "x": x,
         "y": [round(r["seconds"], 2) for r in rows], "yaxis": "y2"},
    ]
    return {"data": data, "layout": _layout(
        "Cost per round", xaxis=_axis_round(), yaxis={"title": {"text": "tokens"}},
        yaxis2={"title": {"text": "seconds"}, "overlaying": "y", "side": "right",
                "rangemode": "tozero"})}


def cost_per_point(rows: list[dict], weakest: list[tuple[int, float | None]]) -> dict | None:
    """Cost per point (percentage point) of weakest-skill accuracy gained from round 0 to
    the last round that has one: ``{gain, tokens, seconds, tokens_per_point,
    seconds_per_point, round}``; per-point figures are None unless the accuracy rose."""
    known = [(i, a) for i, a in weakest if a is not None]
    if len(known) < 2:
        return None
    (first_i, first), (last_i, last) = known[0], known[-1]
    spent = [r for r in rows if first_i < r["index"] <= last_i]
    tokens = sum(r["tokens"] for r in spent)
    seconds = sum(r["seconds"] for r in spent)
    gain = 100 * (last - first)
    return {"round": last_i, "gain": gain, "tokens": tokens, "seconds": seconds,
            "tokens_per_point": tokens / gain if gain > 0 else None,
            "seconds_per_point": seconds / gain if gain > 0 else None}
