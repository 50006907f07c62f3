"""The dashboard's figure builders and the engine's failure rows (pure: no database)."""

from types import SimpleNamespace

import pytest

from apps.runs import charts
from apps.runs.dashboard import build_dashboard, skill_tree_order
from workers.engine.profile import Verdict
from workers.engine.records import RoundRecord, failure_rows
from workers.engine.tasks.base import Item


def test_skill_tree_order_puts_children_under_parents_and_survives_cycles():
    rows = [{"id": 1, "name": "carry", "parent_id": 2},
            {"id": 2, "name": "add", "parent_id": None},
            {"id": 3, "name": "borrow", "parent_id": 4},
            {"id": 4, "name": "sub", "parent_id": None},
            {"id": 5, "name": "a", "parent_id": 99},  # parent not shown: a root
            {"id": 6, "name": "x", "parent_id": 7}, {"id": 7, "name": "y", "parent_id": 6}]
    assert skill_tree_order(rows) == [("a", 0), ("add", 0), ("carry", 1), ("sub", 0),
                                      ("borrow", 1), ("x", 0), ("y", 0)]


def test_heatmap_has_rate_share_toggle_hover_counts_and_tree_labels():
    cells = {("add", 0): {"evaluated": 4, "failed": 2, "miss_rate": 0.5, "miss_share": 0.4},
             ("carry", 1): {"evaluated": 5, "failed": 1, "miss_rate": 0.2, "miss_share": 1.0}}
    fig = charts.skill_heatmap_figure(skills=[("add", 0), ("carry", 1)], rounds=[0, 1],
                                      cells=cells)
    trace = fig["data"][0]
    assert trace["type"] == "heatmap" and trace["y"] == ["add", "carry"]
    assert trace["z"] == [[0.5, None], [None, 0.2]]
    assert trace["customdata"][0][0] == [4, 2] and trace["customdata"][1][0] == [0, 0]
    buttons = fig["layout"]["updatemenus"][0]["buttons"]
    assert [b["label"] for b in buttons] == ["miss rate", "share of misses"]
    assert buttons[1]["args"][0]["z"] == [[[0.4, None], [None, 1.0]]]
    assert fig["layout"]["yaxis"]["ticktext"] == ["add", "└ carry"]


def test_sampling_figure_carries_scores_on_hover_and_skips_round_0():
    fig = charts.sampling_figure(levels=[(0, 1, 0.5, None), (1, 1, 0.7, 0.25), (1, 2, 0.3, None)],
                                 score_name="Q")
    assert [t["name"] for t in fig["data"]] == ["level 1", "level 2"]
    assert fig["data"][0]["x"] == [1] and fig["data"][0]["customdata"] == ["0.250"]
    assert "Q" in fig["data"][0]["hovertemplate"]


def test_cost_per_point_of_weakest_skill_accuracy():
    rows = [{"index": 0, "tokens": 100, "calls": 1, "seconds": 1.0},
            {"index": 1, "tokens": 300, "calls": 3, "seconds": 10.0},
            {"index": 2, "tokens": 500, "calls": 5, "seconds": 10.0}]
    out = charts.cost_per_point(rows, [(0, 0.2), (1, 0.3), (2, 0.4)])
    assert out["gain"] == pytest.approx(20.0) and out["tokens"] == 800
    assert out["tokens_per_point"] == pytest.approx(40.0)
    assert out["seconds_per_point"] == pytest.approx(1.0)
    flat = charts.cost_per_point(rows, [(0, 0.4), (2, 0.3)])
    assert flat["tokens_per_point"] is None and flat["gain"] < 0
    assert charts.cost_per_point(rows, [(0, 0.4), (1, None)]) is None


def _rows(strategy_state):
    rounds = [
        {"id": 10, "index": 0, "metrics": {"accuracy": 0.4, "weakest_skill_accuracy": 0.1,
                                           "teacher": {"calls": 2, "prompt_tokens": 10,
                                                       "completion_tokens": 5},
                                           "seconds": 2.0, "held_out_levels": [3],
                                           "held_out_accuracy": 0.0},
         "plan": {"entries": []}, "curriculum_state": {}},
        {"id": 11, "index": 1, "metrics": {"accuracy": 0.6, "weakest_skill_accuracy": 0.3,
                                           "synthesized": 4, "seconds": 8.0,
                                           "teacher": {"calls": 4, "prompt_tokens": 100,
                                                       "completion_tokens": 50}},
         "plan": {"entries": [{"skill": "carry", "level": 1, "count": 6, "source": "synth"},
                              {"skill": None, "level": None, "count": 4, "source": "pool"}]},
         "curriculum_state": strategy_state, "pending": 3, "rejected": 1},
    ]
    return {
        "rounds": rounds,
        "stats": [{"round_id": 10, "skill_id": 1, "evaluated": 4, "failed": 2, "miss_rate": 0.5,
                   "miss_share": 1.0},
                  {"round_id": 11, "skill_id": 2, "evaluated": 4, "failed": 1, "miss_rate": 0.25,
                   "miss_share": 1.0},
                  {"round_id": 11, "skill_id": 3, "evaluated": 0, "failed": 0, "miss_rate": 0.0,
                   "miss_share": 0.0}],
        "skills": [{"id": 1, "name": "add", "parent_id": None},
                   {"id": 2, "name": "carry", "parent_id": 1},
                   {"id": 3, "name": "never", "parent_id": None}],
        "levels": [{"round_id": 11, "level": 1, "sampling_probability": 1.0, "success_rate": 0.6,
                    "strategy_score": 0.5, "samples": 10, "evaluated": 5},
                   {"round_id": 11, "level": 3, "sampling_probability": 0.0, "success_rate": 0.0,
                    "strategy_score": None, "samples": 0, "evaluated": 2}],
    }


def test_build_dashboard_from_rows():
    out = build_dashboard(rows=_rows({"skill_levels": {"add": 1, "carry": 2}}), strategy="mastery")
    figs = out["figures"]
    assert set(figs) == {"heatmap", "levels", "sampling", "weights", "mastery", "data", "cost"}
    assert figs["heatmap"]["data"][0]["y"] == ["add", "carry"]  # "never" was never evaluated
    names = [t["name"] for t in figs["levels"]["data"]]
    assert names == ["overall", "held-out", "level 1", "level 3 (held out)"]
    assert [t["name"] for t in figs["sampling"]["data"]] == ["level 1"]  # held-out levels not
    assert figs["weights"]["data"][0]["z"] == [[0.6]]
    assert {t["name"] for t in figs["mastery"]["data"]} == {"add", "carry"}
    data = {t["name"]: t["y"] for t in figs["data"]["data"]}
    assert data == {"from the pool": [4], "synthesized": [4], "pending review": [3],
                    "rejected": [1]}
    assert out["totals"] == {"tokens": 165, "calls": 6, "seconds": 10.0}
    assert out["cost_per_point"]["tokens_per_point"] == pytest.approx(150 / 20)


def test_build_dashboard_without_skill_targeting_or_mastery():
    out = build_dashboard(rows=_rows({"q": {"1": 0.5}}), strategy="sec")
    assert "mastery" not in out["figures"]
    assert "Q" in out["figures"]["sampling"]["data"][0]["hovertemplate"]
    empty = build_dashboard(rows={"rounds": [], "stats": [], "skills": [], "levels": []})
    assert empty["n_rounds"] == 0 and empty["cost_per_point"] is None


def _verdict(i, *, skills=("add",), blamed=("add",), correct=False, split="eval"):
    return Verdict(item_id=f"e{i}", skills=skills, level=1, correct=correct,
                   prediction=f"p{i}", missing_skills=() if correct else blamed, split=split)


def test_failure_rows_carry_items_and_are_capped_per_skill_and_round():
    items = {f"e{i}": Item(id=f"e{i}", prompt=f"{i}+1=", answer=str(i + 1), skills=("add",),
                           level=1) for i in range(40)}
    report = SimpleNamespace(
        verdicts=[_verdict(i) for i in range(30)] + [_verdict(30, correct=True)]
        + [_verdict(31, skills=("add", "carry"), blamed=("carry",))],
        held_out=[_verdict(32, blamed=(), split="held_out")])
    rows = failure_rows(report, items, per_skill=5, limit=100)
    assert [r["item_id"] for r in rows] == ["e0", "e1", "e2", "e3", "e4", "e31"]
    assert rows[0] == {"item_id": "e0", "prompt": "0+1=", "answer": "1", "prediction": "p0",
                       "level": 1, "skills": ["add"], "blamed": ["add"], "held_out": False}
    assert rows[-1]["blamed"] == ["carry"]
    assert len(failure_rows(report, items, per_skill=100, limit=7)) == 7
    # held-out failures are not diagnosed: kept under their own skills while there is room
    held = failure_rows(SimpleNamespace(verdicts=[], held_out=report.held_out), items)
    assert held[0]["held_out"] is True and held[0]["blamed"] == []


def test_round_record_keeps_failures_through_dict_and_reads_older_dicts():
    record = RoundRecord(round=1, profile=(), levels=(), held_out=(), level_probabilities={},
                         level_scores={}, level_samples={}, plan={}, curriculum_state={},
                         metrics={}, synthesized=(), teacher_failures=(), checkpoint_dir=None,
                         failures=({"item_id": "e1"},))
    data = record.to_dict()
    assert RoundRecord.from_dict(data).failures == ({"item_id": "e1"},)
    del data["failures"]
    assert RoundRecord.from_dict(data).failures == ()


def test_a_tiny_run_records_its_failed_items_with_prompts_and_answers(tmp_path):
    from tests.engine.student_helpers import tiny_run_spec
    from workers.engine.loop import run_loop

    summary = run_loop(tiny_run_spec(), artifacts_dir=tmp_path)
    zero = summary.rounds[0]
    failed = sum(s.failed for s in zero.profile)
    assert zero.failures, "an untrained student fails some items"
    row = zero.failures[0]
    assert row["prompt"] and row["answer"] and set(row["blamed"]) <= set(row["skills"])
    blamed = sum(len(r["blamed"]) for r in zero.failures if not r["held_out"])
    assert blamed <= failed  # as many blamed skill slots as the profile counts, at most
