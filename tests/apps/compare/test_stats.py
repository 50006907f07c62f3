"""The pure parts of a comparison: spec flattening, grouping, mean ± std, tree order."""

import math

import pytest

from apps.compare.stats import (
    flatten_spec,
    group_key_valid,
    group_options,
    make_groups,
    mean_std,
    series,
    skill_tree_order,
)
from apps.compare.table import default_baseline, final_table, parse_baseline


def _run(pk, strategy="uniform", steps=10, **spec):
    return {"pk": pk, "name": f"r{pk}", "strategy": strategy, "steps_per_round": steps,
            "lr": 0.001, "flat_spec": flatten_spec(spec)}


def test_flatten_spec_leaves_out_seeds_secrets_prompts_and_paths():
    flat = flatten_spec({
        "seed": 3, "rounds": 5, "device": "cpu",
        "task": {"family": "arithmetic", "held_out_levels": [5, 6],
                 "options": {"seed": 1, "max_digits": 4}},
        "teacher": {"kind": "openai", "api_key": "sk-x", "prompts": {"solve": "text"},
                    "base_url": "http://h", "model": "m"},
        "student": {"model_dir": "/models/x", "lora": None},
        "curriculum": {"strategy": "sec", "params": {"tau": 1.0}},
    })
    assert flat == {"task.family": "arithmetic", "task.held_out_levels": "[5, 6]",
                    "task.options.max_digits": "4", "teacher.kind": "openai",
                    "teacher.model": "m", "student.lora": "none",
                    "curriculum.params.tau": "1"}


def test_group_keys():
    assert group_key_valid("strategy") and group_key_valid("spec.curriculum.params.tau")
    for bad in ("", "spec.", "spec.a..b", "spec.a b", "__class__", "spec." + "a" * 100):
        assert not group_key_valid(bad), bad


def test_groups_sort_numbers_numerically_and_options_offer_what_varies():
    runs = [_run(1, task={"family": "a"}), _run(2, task={"family": "b"}), _run(3)]
    runs[0]["lr"], runs[1]["lr"], runs[2]["lr"] = 0.01, 0.1, 0.002
    assert [g.label for g in make_groups(runs, "lr")] == ["0.002", "0.01", "0.1"]
    assert [g.label for g in make_groups(runs, "spec.task.family")] == ["(unset)", "a", "b"]
    keys = [k for k, _ in group_options(runs)]
    assert keys[:3] == ["strategy", "lr", "run"] and "spec.task.family" in keys
    assert "steps_per_round" not in keys  # the same for every run


def test_series_mean_and_sample_std_by_training_steps():
    runs = [_run(1), _run(2), _run(3, steps=20)]
    rounds = {1: [{"index": 0, "accuracy": 0.2}, {"index": 1, "accuracy": 0.4}],
              2: [{"index": 0, "accuracy": 0.4}, {"index": 1, "accuracy": None}],
              3: [{"index": 1, "accuracy": 0.9}]}
    (s,) = series(make_groups(runs, "strategy"), rounds, "accuracy")
    assert s["steps"] == [0, 10, 20] and s["rounds"] == [0, 1, 1] and s["n"] == [2, 1, 1]
    assert s["mean"] == pytest.approx([0.3, 0.4, 0.9])
    assert s["std"][0] == pytest.approx(math.sqrt(0.02)) and s["std"][1] == 0.0
    assert all(math.isnan(v) for v in mean_std([]))


def test_skill_tree_order_puts_parents_first():
    skills = [{"id": 1, "name": "b", "parent_id": None}, {"id": 2, "name": "a2", "parent_id": 3},
              {"id": 3, "name": "a", "parent_id": None}, {"id": 4, "name": "a1", "parent_id": 3},
              {"id": 5, "name": "loop", "parent_id": 6}, {"id": 6, "name": "loop2",
                                                          "parent_id": 5}]
    assert [s["name"] for s in skill_tree_order(skills)] == ["a", "a1", "a2", "b", "loop",
                                                             "loop2"]


def test_final_table_baselines_and_weakest():
    runs = [_run(1, "uniform"), _run(2, "uniform"), _run(3, "sec")]
    groups = make_groups(runs, "strategy")
    finals = {
        1: {"accuracy": 0.5, "weakest": 0.1, "held_out": None, "levels": {},
            "skills": {10: 0.1, 11: 0.9}},
        2: {"accuracy": 0.7, "weakest": 0.3, "held_out": None, "levels": {},
            "skills": {10: 0.3, 11: 0.7}},
        3: {"accuracy": 0.8, "weakest": 0.5, "held_out": None, "levels": {},
            "skills": {10: 0.6, 11: 0.5}},
    }
    skills = [{"id": 10, "name": "add"}, {"id": 11, "name": "carry"}, {"id": 12, "name": "x"}]
    assert default_baseline(groups) == ("group", "uniform")
    assert parse_baseline("run:3", groups) == ("run", "3")
    assert parse_baseline("run:99", groups) is None and parse_baseline("x", groups) is None
    table = final_table(groups=groups, skills=skills, finals=finals,
                        baseline=("group", "uniform"))
    assert [c["label"] for c in table["columns"]] == ["sec", "uniform"]
    assert [r["name"] for r in table["rows"]] == ["overall accuracy", "weakest-skill accuracy",
                                                 "add", "carry"]  # x: evaluated by none
    overall = table["rows"][0]["cells"]
    assert overall[0]["delta_text"] == "+0.200" and overall[0]["trend"] == "up"
    assert overall[1]["mean_text"] == "0.600" and overall[1]["std_text"] == "± 0.141"
    assert table["weakest"] == {"sec": "carry", "uniform": "add"}
    by_run = final_table(groups=groups, skills=skills, finals=finals, baseline=("run", "3"))
    assert by_run["rows"][0]["cells"][1]["delta"] == pytest.approx(-0.2)
