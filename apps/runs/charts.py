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

