"""The torch profiler trace of a few training steps (``--profile``)."""

import json

import yaml

from tests.engine.student_helpers import add_items, tiny_student
from workers.engine import torch_trace
from workers.engine.headless import main
from workers.engine.trainer import Trainer


def test_trace_records_the_asked_steps_once(tmp_path):
    s = tiny_student()
    trainer = Trainer(s, lr=1e-3, batch_size=4)
    with torch_trace.tracing(tmp_path / "p", steps=2, skip=1) as trace:
        trainer.train(add_items(16), steps=5, seed=0)
        assert trace.done and trace.recorded == 2
        trainer.train(add_items(16), steps=2, seed=1)  # not traced again
    assert torch_trace.current() is None
    events = json.loads((tmp_path / "p" / torch_trace.TRACE_FILE).read_text())["traceEvents"]
    assert any("aten::" in e.get("name", "") for e in events)
    ops = (tmp_path / "p" / torch_trace.OPS_FILE).read_text()
    assert ops.startswith("2 training step(s) after 1 untraced")


def test_a_short_round_still_leaves_a_trace(tmp_path):
    trainer = Trainer(tiny_student(), lr=1e-3, batch_size=4)
    with torch_trace.tracing(tmp_path, steps=10, skip=1) as trace:
        trainer.train(add_items(8), steps=3, seed=0)
    assert trace.done and trace.recorded == 2
    assert (tmp_path / torch_trace.TRACE_FILE).exists()


def test_headless_profile_flag_writes_the_trace(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({
        "task": {"options": {"levels": [1, 2], "ops": ["add"]}, "pool_size": 40,
                 "eval_size": 8},
        "student": {"preset": "tiny", "max_length": 16},
        "train": {"steps_per_round": 4, "batch_size": 4}, "rounds": 1, "device": "cpu",
    }))
    out = tmp_path / "out"
    assert main([str(spec), "--out", str(out), "--quiet", "--profile", "2"]) == 0
    assert "profile: 2 training steps traced" in capsys.readouterr().out
    assert (out / "profile" / torch_trace.TRACE_FILE).exists()
    assert (out / "profile" / torch_trace.OPS_FILE).exists()
    assert main([str(spec), "--out", str(tmp_path / "o2"), "--compare", "uniform,sec",
                 "--jobs", "2", "--profile", "--quiet"]) == 2
    assert "--profile: does not combine with --jobs" in capsys.readouterr().err
