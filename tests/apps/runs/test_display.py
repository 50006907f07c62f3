import pytest

from apps.runs.display import format_cell, format_duration, progress_summary, state_tables


def test_format_duration():
    assert format_duration(None) == "unknown"
    assert format_duration(-1) == "unknown"
    assert format_duration(float("nan")) == "unknown"
    assert format_duration(4.6) == "5s"
    assert format_duration(65) == "1m 05s"
    assert format_duration(3600 + 120) == "1h 02m"


def _summary(**kw):
    args = {"status": "running", "total_rounds": 4, "finished_rounds": 0,
            "round_seconds": [], "event": None}
    args.update(kw)
    return progress_summary(**args)


def test_progress_counts_the_initial_evaluation_as_a_round():
    p = _summary(finished_rounds=0)
    assert p["all_rounds"] == 5 and p["current_round"] == 0 and p["percent"] == 0.0
    assert p["eta"] == ""  # nothing to estimate from yet


def test_progress_within_the_current_round_and_mean_round_eta():
    event = {"round": 2, "step": 10, "total_steps": 40, "loss": 1.25, "tokens_per_s": 900.0,
             "eta_s": 30.0, "message": "train"}
    p = _summary(finished_rounds=2, round_seconds=[20.0, 40.0], event=event)
    assert p["current_round"] == 2
    assert p["percent"] == round(100 * (2 + 0.8 * 0.25) / 5, 1)  # training: 80% of a round
    assert p["step"] == 10 and p["total_steps"] == 40 and p["phase"] == "train"
    assert p["loss"] == 1.25
    assert p["eta_s"] == pytest.approx(30.0 * (5 - 2 - 0.2))  # mean round 30 s times rounds left
    assert p["eta"] == "1m 24s"


def test_progress_uses_the_trainer_eta_before_any_training_round_finished():
    event = {"round": 1, "step": 5, "total_steps": 20, "eta_s": 12.0}
    p = _summary(finished_rounds=1, event=event)
    assert p["eta_s"] == 12.0 and p["eta"] == "12s"


def test_progress_ignores_an_event_of_an_older_round():
    event = {"round": 1, "step": 20, "total_steps": 20, "eta_s": 0.0, "loss": 0.5}
    p = _summary(finished_rounds=2, event=event)
    assert p["step"] is None and p["percent"] == 40.0


def test_progress_of_finished_runs():
    assert _summary(status="succeeded", finished_rounds=5)["percent"] == 100.0
    failed = _summary(status="failed", finished_rounds=2, round_seconds=[5.0])
    assert failed["percent"] == 40.0 and failed["current_round"] is None
    assert failed["eta"] == ""
    # A succeeded run always shows a full bar, even when it stopped early.
    assert _summary(status="succeeded", finished_rounds=3)["percent"] == 100.0


def test_state_tables_of_a_bandit_join_per_level_values():
    state = {"q": {"2": 0.5, "1": 0.25, "10": 0.0}, "probabilities": {"1": 0.3, "2": 0.7},
             "updates": 3}
    tables = state_tables(state)
    per_level, summary = tables
    assert per_level["title"] == "Per level"
    assert per_level["columns"] == ["level", "Q value", "probability"]
    assert per_level["rows"] == [["1", 0.25, 0.3], ["2", 0.5, 0.7], ["10", 0.0, None]]
    assert summary == {"title": "Summary", "columns": ["", "value"], "rows": [["updates", 3]],
                       "cells": [[{"text": "updates", "numeric": False},
                                  {"text": "3", "numeric": True}]],
                       "row_html": ['<td>updates</td><td class="num">3</td>']}


def test_state_table_rows_escape_their_text():
    (summary,) = state_tables({"note": "<b>&"})
    assert summary["row_html"] == ["<td>note</td><td>&lt;b&gt;&amp;</td>"]


def test_state_tables_of_windows_pairs_and_skill_levels():
    state = {
        "windows": {"1": [0.5, 1.0], "2": []},
        "skill_levels": {"carry": 2, "add": 1},
        "pairs": [["carry", 2, 3], ["add", 1, 1]],
        "moves": [{"skill": "carry", "from": 1, "to": 2}],
    }
    tables = {t["title"]: t for t in state_tables(state)}
    assert tables["Per level"]["columns"] == ["level", "window size", "window mean"]
    assert tables["Per level"]["rows"] == [["1", 2, 0.75], ["2", 0, None]]
    assert tables["Per skill"]["rows"] == [["add", 1], ["carry", 2]]
    assert tables["pairs"]["columns"] == ["skill", "level", "failed items"]
    assert tables["moves"]["columns"] == ["skill", "from", "to"]
    assert tables["moves"]["rows"] == [["carry", 1, 2]]


def test_state_tables_of_a_bandit_over_skills_at_levels():
    """A bandit whose arms are skills at levels (``arms`` skill_level) gets one table with a
    row per cell, levels in order and skills by name; its list of cells with pool items goes
    to the summary under a readable title."""
    state = {"q": {"sub@10": 0.1, "carry@2": 0.5, "add@2": 0.25},
             "probabilities": {"add@2": 0.2, "carry@2": 0.7, "sub@10": 0.1},
             "live": ["add@2", "carry@2", "sub@10"], "updates": 1}
    tables = {t["title"]: t for t in state_tables(state)}
    cells = tables["Per skill at a level"]
    assert cells["columns"] == ["skill @ level", "Q value", "probability"]
    assert cells["rows"] == [["add@2", 0.25, 0.2], ["carry@2", 0.5, 0.7], ["sub@10", 0.1, 0.1]]
    assert "Per skill" not in tables and "Per level" not in tables
    assert ["arms with pool items", "add@2, carry@2, sub@10"] in tables["Summary"]["rows"]


def test_state_tables_of_nothing():
    assert state_tables(None) == []
    assert state_tables({"weights": {}}) == []


def test_format_cell():
    assert format_cell(None) == {"text": "–", "numeric": False}
    assert format_cell(True)["text"] == "yes"
    assert format_cell(0.123456) == {"text": "0.1235", "numeric": True}
    assert format_cell(2.0)["text"] == "2"
    assert format_cell("add") == {"text": "add", "numeric": False}


def test_the_evaluation_after_training_moves_the_bar_forward_never_back():
    train_end = {"round": 2, "step": 40, "total_steps": 40, "message": "train"}
    evaluating = {"round": 2, "step": 0, "total_steps": 0, "message": "evaluate: 200 items"}
    diagnosing = {"round": 2, "step": 0, "total_steps": 0, "message": "diagnose"}
    shares = [_summary(finished_rounds=2, event=e, train_share=0.6)["percent"]
              for e in (train_end, evaluating, diagnosing)]
    assert shares == sorted(shares) and shares[0] == round(100 * 2.6 / 5, 1)
    assert _summary(finished_rounds=3, train_share=0.6)["percent"] > shares[-1]


def test_train_share_is_measured_on_finished_training_rounds():
    from apps.runs.display import train_share_measured

    assert train_share_measured([]) is None
    assert train_share_measured([{"seconds": 10.0, "train_seconds": 6.0},
                                 {"seconds": 30.0, "train_seconds": 26.0}]) == 0.8
    assert train_share_measured([{"seconds": 10.0, "train_seconds": None}]) is None


def test_progress_over_a_recorded_run_never_goes_back(tmp_path):
    """A real (tiny) run's progress events and round records, replayed in their order into
    what the run page shows: the percentage only grows, and ends at 100."""
    from apps.runs.display import train_share_measured
    from tests.engine.student_helpers import tiny_run_spec
    from workers.engine.loop import run_loop
    from workers.engine.records import RunHooks

    timeline = []

    class Hooks(RunHooks):
        def on_progress(self, event):
            message = event.phase if not event.message else f"{event.phase}: {event.message}"
            timeline.append(("event", {"round": event.round, "step": event.step,
                                       "total_steps": event.total_steps, "message": message}))

        def on_round(self, record):
            timeline.append(("round", {"index": record.round, **record.metrics}))

    run_loop(tiny_run_spec(rounds=3), artifacts_dir=tmp_path, hooks=Hooks())
    rounds, event, percents = [], None, []
    for kind, data in timeline:
        if kind == "round":
            rounds.append(data)
        else:
            event = data
        trained = [r for r in rounds if r["index"] > 0]
        percents.append(_summary(
            total_rounds=3, finished_rounds=len(rounds), event=event,
            round_seconds=[r["seconds"] for r in trained],
            train_share=train_share_measured(trained),
            status="running" if len(rounds) < 4 else "succeeded")["percent"])
    assert percents == sorted(percents), list(zip(percents, timeline, strict=True))
    assert percents[-1] == 100.0 and len(set(percents)) > 8
