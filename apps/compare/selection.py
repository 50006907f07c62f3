"""Which runs a comparison holds and how it groups them: read from a query string (the run
list's checkboxes, the filter form) or from a saved :class:`Comparison`.

Run ids are only ever looked up inside the comparison's project, so an id of another
project (or team) in the selection is ignored: it neither errors nor shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from apps.common.params import parse_int
from apps.compare.stats import group_key_valid
from apps.runs.models import RunStatus

MAX_RUNS = 200
MAX_FILTER_VALUES = 20
STATUSES = tuple(s for s, _ in RunStatus.choices)


@dataclass(frozen=True)
class Selection:
    run_ids: tuple[int, ...] = ()
    strategies: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    group_by: str = "strategy"
    baseline: str = ""
    errors: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_filter(self) -> bool:
        return not self.run_ids

    @property
    def is_empty(self) -> bool:
        return not (self.run_ids or self.strategies or self.statuses)

    def filter_dict(self) -> dict:
        return {"strategies": list(self.strategies), "statuses": list(self.statuses)}

    def query(self, **override) -> str:
        """The query string that rebuilds this selection (``override`` replaces keys)."""
        params = {"run": list(self.run_ids), "strategy": list(self.strategies),
                  "status": list(self.statuses), "group": self.group_by,
                  "baseline": self.baseline}
        params.update(override)
        return urlencode({k: v for k, v in params.items() if v not in ("", [], None)},
                         doseq=True)

    def describe(self) -> str:
        if self.run_ids:
            return f"{len(self.run_ids)} chosen runs"
        parts = []
        if self.strategies:
            parts.append("strategy in (" + ", ".join(self.strategies) + ")")
        if self.statuses:
            parts.append("status " + " or ".join(self.statuses))
        return ", ".join(parts) or "no runs chosen yet"


def _clean(value, max_chars: int) -> str:
    """``value`` stripped, or "" when it is too long or holds a control character (a NUL
    never reaches the database)."""
    text = str(value).strip()
    if len(text) > max_chars or any(ord(c) < 32 for c in text):
        return ""
    return text


def _texts(values, *, limit: int, max_chars: int = 100) -> tuple[str, ...]:
    out = []
    for v in values:
        v = _clean(v, max_chars)
        if v and v not in out:
            out.append(v)
    return tuple(out[:limit])


def selection_build(*, run_ids, strategies=(), statuses=(), group_by: str = "strategy",
                    baseline: str = "") -> Selection:
    """A clean selection; what cannot be used is dropped and named in ``errors``."""
    errors = []
    ids: list[int] = []
    for raw in run_ids:
        value = raw if isinstance(raw, int) and not isinstance(raw, bool) else parse_int(raw)
        if value is None or value <= 0:
            errors.append(f"{str(raw)[:40]!r} is not a run id")
        elif value not in ids:
            ids.append(value)
    if len(ids) > MAX_RUNS:
        errors.append(f"a comparison holds at most {MAX_RUNS} runs; the first {MAX_RUNS} "
                      "are shown")
        ids = ids[:MAX_RUNS]
    bad_status = [s for s in statuses if s not in STATUSES]
    if bad_status:
        errors.append(f"unknown status {str(bad_status[0])[:40]!r} "
                      f"(known: {', '.join(STATUSES)})")
    group_by = str(group_by or "strategy").strip()
    if not group_key_valid(group_by):
        errors.append(f"cannot group by {group_by[:60]!r}; grouped by strategy")
        group_by = "strategy"
    return Selection(
        run_ids=tuple(ids),
        strategies=_texts(strategies, limit=MAX_FILTER_VALUES),
        statuses=tuple(s for s in _texts(statuses, limit=len(STATUSES)) if s in STATUSES),
        group_by=group_by, baseline=_clean(baseline or "", 300), errors=tuple(errors),
    )


def selection_from_params(params) -> Selection:
    """From a query string: ``run`` (repeated ids) or the filter ``strategy`` / ``status``
    (repeated), plus ``group`` and ``baseline``."""
    return selection_build(
        run_ids=params.getlist("run"), strategies=params.getlist("strategy"),
        statuses=params.getlist("status"), group_by=params.get("group", "strategy"),
        baseline=params.get("baseline", ""),
    )


def selection_from_comparison(comparison, params: Mapping | None = None) -> Selection:
    """A saved comparison's selection; ``params`` (the page's query string) may change the
    grouping and the baseline for this view only."""
    stored = comparison.filter if isinstance(comparison.filter, dict) else {}
    group_by, baseline = comparison.group_by, comparison.baseline
    if params is not None:
        group_by = params.get("group") or group_by
        baseline = params.get("baseline") or baseline
    return selection_build(
        run_ids=comparison.run_ids if isinstance(comparison.run_ids, list) else [],
        strategies=stored.get("strategies") or (), statuses=stored.get("statuses") or (),
        group_by=group_by, baseline=baseline,
    )
