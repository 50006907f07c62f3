"""Plotly figure dicts of a comparison, built from :func:`apps.compare.stats.series` (pure).

The page hands each figure to the browser with ``json_script``; static/js/compare_charts.js
draws it with ``Plotly.react`` (and the exported HTML file does the same, offline).
"""

from __future__ import annotations

_LAYOUT = {
    "margin": {"l": 56, "r": 16, "t": 40, "b": 72},
    "height": 360,
    "legend": {"orientation": "h", "y": -0.25},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "hovermode": "closest",
}


def mean_std_figure(*, series: list[dict], title: str, ytitle: str) -> dict:
    """One line per group: the mean over its runs by training steps, error bars of one
    standard deviation; hover gives the round and the number of runs."""
    data = []
    for s in series:
        if not s["steps"]:
            continue
        data.append({
            "type": "scatter", "mode": "lines+markers", "name": s["label"],
            "x": s["steps"], "y": [round(m, 4) for m in s["mean"]],
            "error_y": {"type": "data", "array": [round(v, 4) for v in s["std"]],
                        "visible": True, "thickness": 1},
            "customdata": [[r, n] for r, n in zip(s["rounds"], s["n"], strict=True)],
            "hovertemplate": ("%{fullData.name}<br>steps %{x} (round %{customdata[0]})<br>"
                              "mean %{y:.3f} ± %{error_y.array:.3f} over %{customdata[1]} "
                              "runs<extra></extra>"),
        })
    layout = {
        **_LAYOUT,
        "title": {"text": title, "font": {"size": 14}},
        "xaxis": {"title": {"text": "training steps"}, "rangemode": "tozero"},
        "yaxis": {"title": {"text": ytitle}, "range": [0, 1]},
    }
    return {"data": data, "layout": layout}
