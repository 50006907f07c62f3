"""What the run page shows, computed from plain values (pure, no database): the progress
summary with its ETA, and the curriculum's state as tables."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import mark_safe

TERMINAL = ("succeeded", "failed", "cancelled")

# Known state keys of the engine's strategies -> column titles; others are titled as-is.
STATE_TITLES = {
    "q": "Q value", "ucb": "UCB score", "probabilities": "probability",
    "last_rewards": "last reward", "counts": "samples (n)", "weights": "weight",
    "skill_weights": "weight", "skill_levels": "level", "level_shares": "level share",
    "windows": "window", "live": "arms with pool items",
}
LIST_COLUMNS = {"pairs": ("skill", "level", "failed items")}


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "unknown"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


DEFAULT_TRAIN_SHARE = 0.8  # of a training round's time, until one round is measured
# Where each phase of a round starts, as a share of the round's non-training time: phases
# before training (plan, synthesize, signals) start the round; those after it share the
# rest in their order (the evaluation takes most of it, then diagnosing the failures, then
# writing the checkpoint).
_AFTER_TRAINING = {"evaluate": 0.05, "diagnose": 0.8, "checkpoint": 0.95}


def train_share_measured(rounds: Sequence[Mapping[str, Any]]) -> float | None:
    """The share of a training round's time spent training, over the finished training
    rounds (``seconds``, ``train_seconds``); None before one is measured."""
    pairs = [(r["train_seconds"], r["seconds"]) for r in rounds
             if r.get("train_seconds") is not None and r.get("seconds")]
    if not pairs:
        return None
    return min(max(sum(t for t, _ in pairs) / sum(s for _, s in pairs), 0.0), 1.0)


def round_fraction(event: Mapping[str, Any] | None, *, current: int,
                   train_share: float) -> float:
    """How far the round in flight is, from its latest progress event: training counts
    ``train_share`` of a training round (by steps), the evaluation after it the rest; round
    0 is an evaluation only. Never decreases within a round: phases only move forward, and
    ``train_share`` is measured on finished rounds only. Below 1: the round is done when its
    record is."""
    if not event or event.get("round") != current:
        return 0.0
    phase = (event.get("message") or "").split(":", 1)[0].strip()
    share = 0.0 if current == 0 else train_share
    if phase == "train":
        total = event.get("total_steps") or 0
        done = min(max((event.get("step") or 0) / total, 0.0), 1.0) if total else 0.0
        return min(share * done, 0.999)
    if phase in _AFTER_TRAINING:
        return min(share + (1.0 - share) * _AFTER_TRAINING[phase], 0.999)
    return 0.0  # plan, synthesize, signals, review: before training


def progress_summary(
    *, status: str, total_rounds: int, finished_rounds: int, round_seconds: Sequence[float],
    event: Mapping[str, Any] | None, train_share: float | None = None,
) -> dict:
    """The run's progress for the progress bar.

    ``total_rounds`` training rounds follow the initial evaluation (round 0), so a run has
    ``total_rounds + 1`` rounds in all; ``finished_rounds`` of them are recorded.
    ``round_seconds`` are the durations of the finished training rounds, ``event`` the
    latest progress event (round, step, total_steps, loss, tokens_per_s, eta_s, message:
    "phase" or "phase: detail"), ``train_share`` the measured share of a training round
    spent training (:func:`train_share_measured`). The percentage never goes back while a
    run goes on (:func:`round_fraction`). The ETA is the mean training round's measured
    duration times the rounds left; before any training round has finished, it is the
    trainer's own estimate for the current round.
    """
    all_rounds = total_rounds + 1
    share = DEFAULT_TRAIN_SHARE if train_share is None else train_share
    within = 0.0
    current = None
    if status not in TERMINAL and finished_rounds < all_rounds:
        current = finished_rounds  # the index of the round in flight
        within = round_fraction(event, current=current, train_share=share)
    fraction = 1.0 if status == "succeeded" else min((finished_rounds + within) / all_rounds, 1.0)
    eta_s = None
    if current is not None and status in ("running", "queued"):
        if round_seconds:
            mean = sum(round_seconds) / len(round_seconds)
            eta_s = mean * (all_rounds - finished_rounds - within)
        elif event and event.get("round") == current and event.get("eta_s") is not None:
            eta_s = float(event["eta_s"])
    on_current = bool(event) and current is not None and event.get("round") == current
    return {
        "percent": round(100.0 * fraction, 1),
        "current_round": current,
        "finished_rounds": finished_rounds,
        "all_rounds": all_rounds,
        "step": event.get("step") if on_current else None,
        "total_steps": event.get("total_steps") if on_current else None,
        "phase": (event.get("message") or "") if on_current else "",
        "loss": event.get("loss") if event else None,
        "tokens_per_s": event.get("tokens_per_s") if event else None,
        "eta_s": eta_s,
        "eta": format_duration(eta_s) if eta_s is not None else "",
    }


def split_overlap(rounds: Sequence[Mapping[str, Any]]) -> dict | None:
    """The run's train/eval overlap line from its rounds (``index``, ``overlap``,
    ``overlap_removed``): the most eval or held-out problems any round found in its training
    data (0 for an honest run) and the pool rows the worker removed at setup for repeating
    one. None before round 0 is recorded; ``recorded`` False for rounds that predate it."""
    if not rounds:
        return None
    found = [int(r["overlap"]) for r in rounds if r.get("overlap") is not None]
    if not found:
        return {"recorded": False, "label": "train/eval overlap: not recorded"}
    items = max(found)
    first = rounds[0]
    removed = int(first.get("overlap_removed") or 0) if first.get("index") == 0 else 0
    return {"recorded": True, "items": items, "removed": removed, "ok": items == 0,
            "label": f"train/eval overlap: {items} item{'' if items == 1 else 's'}"}


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _sort_key(key: str):
    try:
        return (0, int(key), "")
    except (TypeError, ValueError):
        return (1, 0, str(key))


def _cell_sort_key(key: str):
    skill, _, level = key.rpartition("@")
    return (int(level), skill)


def _title(key: str) -> str:
    return STATE_TITLES.get(key, key.replace("_", " "))


def _is_level_key(key: Any) -> bool:
    try:
        int(key)
    except (TypeError, ValueError):
        return False
    return True


def _is_cell_key(key: Any) -> bool:
    """A bandit's arm for a skill at a level: ``"carry@3"``."""
    skill, at, level = str(key).rpartition("@")
    return bool(at and skill) and _is_level_key(level)


def _group(keys) -> str:
    keys = list(keys)
    if all(_is_level_key(k) for k in keys):
        return "level"
    return "cell" if all(_is_cell_key(k) for k in keys) else "skill"


def state_tables(state: Mapping[str, Any] | None) -> list[dict]:
    """A strategy's logged state as tables ``{"title", "columns", "rows"}``.

    Mappings keyed by level (``{"1": 0.3, ...}``) are joined into one "Per level" table
    with a column per key, mappings keyed by skill at a level (``{"carry@3": 0.3}``) into
    one "Per skill at a level" table, mappings keyed by skill into one "Per skill" table; a mapping
    of lists (sliding windows) becomes its size and mean; lists of records get their own
    table; plain values go to a "Summary" table.
    """
    state = dict(state or {})
    summary: list[list[Any]] = []
    grouped: dict[str, dict[str, dict[str, Any]]] = {"level": {}, "cell": {}, "skill": {}}
    extra: list[dict] = []
    for key, value in state.items():
        if _is_scalar(value):
            summary.append([_title(key), value])
        elif isinstance(value, Mapping):
            if not value:
                continue
            group = _group(value)
            if all(_is_scalar(v) for v in value.values()):
                grouped[group][_title(key)] = {str(k): v for k, v in value.items()}
            elif all(isinstance(v, (list, tuple)) for v in value.values()):
                grouped[group][f"{_title(key)} size"] = {str(k): len(v) for k, v in value.items()}
                grouped[group][f"{_title(key)} mean"] = {
                    str(k): (sum(v) / len(v) if v and all(isinstance(x, (int, float)) for x in v)
                             else None)
                    for k, v in value.items()
                }
            else:
                extra.append({"title": _title(key), "columns": [_title(key), "value"],
                              "rows": [[k, v] for k, v in value.items()]})
        elif isinstance(value, (list, tuple)):
            if not value:
                continue
            if all(isinstance(v, Mapping) for v in value):
                columns = list(dict.fromkeys(k for v in value for k in v))
                rows = [[v.get(c) for c in columns] for v in value]
                extra.append({"title": _title(key), "columns": columns, "rows": rows})
            elif all(isinstance(v, (list, tuple)) for v in value):
                width = max(len(v) for v in value)
                names = LIST_COLUMNS.get(key, ())
                columns = [names[i] if i < len(names) else f"#{i + 1}" for i in range(width)]
                extra.append({"title": _title(key), "columns": columns,
                              "rows": [list(v) + [None] * (width - len(v)) for v in value]})
            else:
                summary.append([_title(key), ", ".join(str(v) for v in value)])
    tables = []
    for group, title, first in (("level", "Per level", "level"),
                                ("cell", "Per skill at a level", "skill @ level"),
                                ("skill", "Per skill", "skill")):
        columns = grouped[group]
        if not columns:
            continue
        keys = sorted({k for col in columns.values() for k in col},
                      key=_cell_sort_key if group == "cell" else _sort_key)
        tables.append({
            "title": title,
            "columns": [first, *columns],
            "rows": [[k, *(col.get(k) for col in columns.values())] for k in keys],
        })
    tables.extend(extra)
    if summary:
        tables.append({"title": "Summary", "columns": ["", "value"], "rows": summary})
    for table in tables:
        table["cells"] = [[format_cell(v) for v in row] for row in table["rows"]]
        # Each row's cells as HTML, written once here rather than cell by cell in the page.
        table["row_html"] = [
            mark_safe("".join(
                f'<td class="num">{escape(c["text"])}</td>' if c["numeric"]
                else f"<td>{escape(c['text'])}</td>" for c in row
            ))
            for row in table["cells"]
        ]
    return tables


def _fixed(value: float | None, digits: int = 3, *, sign: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def skill_rows(stats: Sequence[Any]) -> list[dict]:
    """The per-skill table's rows with their numbers formatted (one pass in Python is
    much cheaper than template filters on every cell of a 100-skill table)."""
    out = []
    for s in stats:
        delta = getattr(s, "delta", None)
        out.append({
            "skill": s.skill.name, "description": s.skill.description,
            "evaluated": s.evaluated, "failed": s.failed,
            "accuracy": _fixed(s.accuracy), "miss_rate": _fixed(s.miss_rate),
            "miss_share": _fixed(s.miss_share),
            "delta": "new" if delta is None else (
                "0.000" if abs(delta) < 0.0005 else _fixed(delta, sign=True)),
            "trend": "" if delta is None or abs(delta) < 0.0005 else (
                "up" if delta > 0 else "down"),
        })
    return out


def run_list_rows(runs: Sequence[Mapping[str, Any]], *, status_labels: Mapping[str, str],
                  now_tz=None) -> list[dict]:
    """The run list's rows (from ``run_rows_for_project``) with their cells formatted:
    status label, ``current/rounds``, latest accuracy to 3 places, creation time."""
    out = []
    for r in runs:
        created = r["created_at"]
        if now_tz is not None and created is not None:
            created = created.astimezone(now_tz)
        out.append({
            **r,
            "status_label": status_labels.get(r["status"], r["status"]),
            "round_text": f"{r['current_round']}/{r['rounds']}",
            "accuracy_text": _fixed(r["latest_accuracy"]),
            "created_text": created.strftime("%Y-%m-%d %H:%M") if created else "",
        })
    return out


def log_text(events: Sequence[Any]) -> str:
    """The log tail as text, one line per event, oldest first."""
    lines = []
    for e in events:
        parts = [e.created_at.strftime("%H:%M:%S")]
        if e.kind == "error":
            parts.append("ERROR")
        if e.kind == "progress":
            where = f"round {e.round}"
            if e.total_steps:
                where += f" step {e.step or 0}/{e.total_steps}"
            if e.loss is not None:
                where += f" loss {e.loss:.4f}"
            parts.append(f"[{where}]")
        parts.append(e.message)
        lines.append(" ".join(p for p in parts if p))
    return "\n".join(lines)


def format_cell(value: Any) -> dict:
    """A table cell: its text, and whether it is a number (right-aligned)."""
    if value is None:
        return {"text": "–", "numeric": False}
    if isinstance(value, bool):
        return {"text": "yes" if value else "no", "numeric": False}
    if isinstance(value, int):
        return {"text": str(value), "numeric": True}
    if isinstance(value, float):
        text = f"{value:.4f}".rstrip("0").rstrip(".") if math.isfinite(value) else str(value)
        return {"text": text, "numeric": True}
    return {"text": str(value), "numeric": False}
