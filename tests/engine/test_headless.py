import json
import pickle
import subprocess
import sys

import pytest
import yaml

from workers.engine.errors import EngineError, ModelLoadError, SpecError
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
    assert "--compare: unknown strategy 'nope'" in capsys.readouterr().err  # the flag, not the spec


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


def test_help_documents_the_exit_codes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "exit status:" in out
    assert "0  done" in out and "1  a run failed" in out and "2  bad spec or input" in out
    assert "--set STRATEGY.PARAM=VALUE" in out


@pytest.mark.parametrize(("flags", "message"), [
    (["--set", "sec.tau"], "--set: 'sec.tau' is not STRATEGY.PARAM=VALUE"),
    (["--set", "annealing.tau=1"], "--set: 'annealing.tau=1': unknown strategy 'annealing'"),
    (["--set", "dump.tau=1"], "dump does not run here (running: uniform, sec)"),
    (["--set", "sec.temperature=1"], "sec has no parameter 'temperature' (its parameters: tau"),
    (["--set", "uniform.k=1"], "uniform has no parameter 'k' (it has none)"),
    (["--set", "sec.tau=-1"], "--set: sec.tau=-1: must be at least"),
    (["--set", "sec.sampling=3"], "--set: sec.sampling=3: must be one of"),
    (["--jobs", "0"], "argument --jobs: must be 1 or more"),
    (["--threads", "x"], "argument --threads: not a whole number"),
    (["--resume"], "--resume: does not combine with --compare"),
])
def test_bad_flags_exit_2_naming_the_flag(tmp_path, capsys, flags, message):
    args = [str(_spec(tmp_path)), "--out", str(tmp_path / "out"), "--compare", "uniform,sec",
            "--quiet", *flags]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before anything ran


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "taken").write_text("")
    assert main([str(_spec(tmp_path)), "--out", str(tmp_path / "taken"), "--quiet"]) == 2
    assert "--out: " in capsys.readouterr().err


def test_set_gives_each_compared_strategy_its_parameters(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main([str(_spec(tmp_path)), "--out", str(out), "--compare", "uniform,sec",
                 "--set", "sec.tau=0.05", "--set", "sec.sampling=proportional",
                 "--quiet", "--threads", "1"]) == 0
    rows = {r["strategy"]: r for r in json.loads((out / "compare.json").read_text())}
    assert rows["sec"]["params"] == {"tau": 0.05, "alpha": 0.5, "signal_samples": 64,
                                     "signal_unit": "answer", "arms": "level",
                                     "sampling": "proportional"}
    assert rows["uniform"]["params"] == {}
    spec = json.loads((out / "sec-seed0" / "spec.json").read_text())
    assert spec["curriculum"] == {"strategy": "sec",
                                  "params": {"tau": 0.05, "sampling": "proportional"}}


def test_set_on_a_single_run_goes_over_the_specs_params(tmp_path):
    path = _spec(tmp_path, curriculum={"strategy": "sec", "params": {"alpha": 0.25}})
    out = tmp_path / "out"
    assert main([str(path), "--out", str(out), "--set", "sec.tau=0.5", "--quiet",
                 "--threads", "1"]) == 0
    spec = json.loads((out / "spec.json").read_text())
    assert spec["curriculum"]["params"] == {"alpha": 0.25, "tau": 0.5}


def test_bad_model_directory_says_what_is_missing(tmp_path, capsys):
    empty = tmp_path / "model"
    empty.mkdir()
    path = _spec(tmp_path, student={"preset": None, "model_dir": str(empty), "max_length": 16})
    assert main([str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"bad input: spec.student.model_dir: model directory {str(empty)!r}: " \
           f"no config.json in {empty}" in err
    (empty / "config.json").write_text("{}")
    assert main([str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert f"no weights in {empty}" in capsys.readouterr().err


def test_bad_data_line_exits_2_naming_field_and_line(tmp_path, capsys):
    data = tmp_path / "items.jsonl"
    line = json.dumps({"prompt": "1+1=", "answer": "2", "skills": ["add"], "level": 1})
    data.write_bytes(line.encode() + b"\n" + b'{"prompt": "caf\xe9"}\n')
    path = _spec(tmp_path, task={"family": "jsonl", "options": {"path": str(data)}})
    assert main([str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "bad input: spec.task.options.path: " in err and "line 2: not valid UTF-8" in err


def test_a_failed_run_exits_1(tmp_path, capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise EngineError("round 1: the plan yields no training items")

    monkeypatch.setattr("workers.engine.loop.run_loop", boom)
    assert main([str(_spec(tmp_path)), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    assert "run failed: round 1" in capsys.readouterr().err


def test_errors_cross_process_boundaries_whole():
    # --jobs N hands a worker's error back to the parent pickled
    for err in (SpecError("spec.rounds", "must be at least 1"),
                ModelLoadError("/m", "no config.json in /m")):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err)
        assert back.__dict__ == err.__dict__


def test_the_command_line_exit_status(tmp_path):
    cmd = [sys.executable, "-m", "workers.engine.headless", str(_spec(tmp_path)),
           "--out", str(tmp_path / "out"), "--set", "uniform.k=1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--set" in done.stderr
