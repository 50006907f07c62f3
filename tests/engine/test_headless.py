import json

import yaml

from workers.engine.headless import format_table, main, summarize


def _spec(tmp_path, **over):
    data = {
        "task": {"options": {"levels": [1, 2], "ops": ["add"]}, "pool_size": 40,
                 "eval_size": 8},
        "student": {"preset": "tiny", "max_length": 16},
        "train": {"steps_per_round": 2, "batch_size": 4},
        "rounds": 1, "device": "cpu",
    }
    data.update(over)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_bad_spec_exits_2_naming_the_field(tmp_path, capsys):
    path = _spec(tmp_path, train={"steps_per_round": 0})
    assert main([str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "spec.train.steps_per_round" in capsys.readouterr().err
    path.write_text("rounds: [1")
    assert main([str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    path = _spec(tmp_path)
    assert main([str(path), "--out", str(tmp_path / "out"), "--compare", "nope", "--quiet"]) == 2
    assert "spec.curriculum.strategy" in capsys.readouterr().err


def test_run_writes_metrics_jsonl_and_checkpoints(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(_spec(tmp_path)), "--out", str(out), "--quiet", "--threads", "1"]) == 0
    lines = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    assert [ln["round"] for ln in lines] == [0, 1]
    assert (out / "checkpoints" / "round-001" / "config.json").is_file()
    assert "accuracy" in capsys.readouterr().out
    # --resume after the last complete round runs nothing new and keeps the lines
    assert main([str(_spec(tmp_path)), "--out", str(out), "--quiet", "--resume"]) == 0
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2


def test_compare_prints_a_table_per_strategy(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main([str(_spec(tmp_path)), "--out", str(out), "--compare", "uniform,stat_sel",
                 "--seeds", "0,1", "--quiet"])
    assert code == 0
    table = capsys.readouterr().out
    assert "uniform" in table and "stat_sel" in table and "±" in table
    rows = json.loads((out / "compare.json").read_text())
    assert [r["strategy"] for r in rows] == ["uniform", "stat_sel"]
    assert all(len(r["accuracy"]) == 2 for r in rows)


def test_summary_statistics():
    row = summarize("x", [0, 1], [
        {"accuracy": 0.5, "weakest_skill_accuracy": 0.2, "weakest_skill": "a",
         "held_out_accuracy": None},
        {"accuracy": 0.7, "weakest_skill_accuracy": 0.4, "weakest_skill": "b",
         "held_out_accuracy": None},
    ])
    assert row["accuracy_mean"] == 0.6 and abs(row["weakest_sd"] - 0.1414) < 1e-3
    assert "60.0 ± 14.1" in format_table([row])


def test_compare_in_worker_processes_gives_the_same_rows(tmp_path, capsys):
    spec = str(_spec(tmp_path))
    args = ["--compare", "uniform,stat_sel", "--seeds", "0,1", "--quiet", "--threads", "1"]
    assert main([spec, "--out", str(tmp_path / "one"), *args]) == 0
    assert main([spec, "--out", str(tmp_path / "two"), *args, "--jobs", "2"]) == 0
    one = json.loads((tmp_path / "one" / "compare.json").read_text())
    two = json.loads((tmp_path / "two" / "compare.json").read_text())
    assert one == two
    assert (tmp_path / "two" / "stat_sel-seed1" / "metrics.jsonl").is_file()
