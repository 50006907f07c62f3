"""The teacher's API key never reaches the disk: not in spec.json, checkpoints or metrics,
not in a spec's repr, not in an answer or error that echoes the request."""

import dataclasses
import json
from pathlib import Path

from tests.engine.student_helpers import tiny_run_spec
from tests.engine.test_teacher_openai import FakeServer, SumFamily, completion
from workers.engine import headless
from workers.engine.errors import TeacherError
from workers.engine.spec import RunSpec, TeacherSpec
from workers.engine.teachers import build_teacher

KEY = "sk-secret-123"


def _files_holding(root: Path, needle: bytes) -> list[str]:
    return [str(p.relative_to(root)) for p in sorted(root.rglob("*"))
            if p.is_file() and needle in p.read_bytes()]


def test_to_dict_leaves_the_key_out_and_repr_hides_it():
    spec = tiny_run_spec(teacher={"kind": "oracle", "api_key": KEY})
    assert spec.teacher.api_key == KEY
    data = spec.to_dict()
    assert "api_key" not in data["teacher"] and KEY not in json.dumps(data)
    assert KEY not in repr(spec) and KEY not in repr(spec.teacher)
    assert RunSpec.from_dict(data).teacher.api_key == ""  # the caller passes it in again
    assert spec.to_dict(secrets=True)["teacher"]["api_key"] == KEY


def test_a_run_writes_no_file_holding_the_key(tmp_path):
    spec = tiny_run_spec(teacher={"kind": "oracle", "api_key": KEY},
                         curriculum={"strategy": "stat_syn"}, rounds=1)
    out = tmp_path / "run"
    headless.run_one(spec, out, quiet=True)
    written = sorted(p.name for p in out.rglob("*") if p.is_file())
    assert {"spec.json", "metrics.jsonl", "state.json"} <= set(written)
    assert _files_holding(out, KEY.encode()) == []
    # a resumed run finds its checkpoint and still gets the key from the caller
    summary = headless.run_one(spec, out, quiet=True, resume=True)
    assert summary.final.round == 1
    assert _files_holding(out, KEY.encode()) == []


def test_compare_hands_the_key_to_its_runs_in_memory_only(tmp_path, monkeypatch):
    seen = []

    def fake_run(run):
        seen.append(run[0])
        return {"accuracy": 0.5, "weakest_skill_accuracy": 0.5, "weakest_skill": "add",
                "held_out_accuracy": None}

    monkeypatch.setattr(headless, "_final_metrics", fake_run)
    spec = tiny_run_spec(teacher={"kind": "oracle", "api_key": KEY})
    headless.compare(spec, tmp_path, ["uniform", "stat_sel"], [0], quiet=True)
    assert [RunSpec.from_dict(d).teacher.api_key for d in seen] == [KEY, KEY]
    assert _files_holding(tmp_path, KEY.encode()) == []


def _teacher(server, **fields):
    spec = TeacherSpec(kind="openai", base_url=server.url, model="m", api_key=KEY,
                       timeout_s=2.0, max_retries=0, allowed_hosts=("127.0.0.1",), **fields)
    return build_teacher(spec, SumFamily(), backoff_base=0.0, sleep=lambda s: None)


def test_an_answer_or_error_echoing_the_key_does_not_carry_it():
    echo = f"Authorization: Bearer {KEY}"
    with FakeServer([(200, completion(f"you sent {echo}"), 0)]) as server:
        raw = _teacher(server).call_raw("solve", "hi")
        assert server.requests[0]["auth"] == f"Bearer {KEY}"
    assert "you sent" in raw and KEY not in raw
    with FakeServer([(200, f"not json {echo}", 0)]) as server:
        try:
            _teacher(server).call_raw("solve", "hi")
        except Exception as exc:  # ParseError: the raw body travels with it
            assert KEY not in str(exc) and KEY not in getattr(exc, "raw", "")
        else:
            raise AssertionError("an unreadable body must fail")
    with FakeServer([(401, json.dumps({"error": {"message": f"bad key {echo}"}}), 0)]) as server:
        try:
            _teacher(server).call_raw("solve", "hi")
        except TeacherError as exc:
            assert KEY not in str(exc) and KEY not in exc.raw
        else:
            raise AssertionError("a 401 must fail")


def test_teacher_spec_repr_never_shows_the_key():
    spec = TeacherSpec(kind="openai", base_url="https://x/v1", model="m", api_key=KEY)
    assert KEY not in repr(spec) and KEY not in str(dataclasses.replace(spec, model="n"))
