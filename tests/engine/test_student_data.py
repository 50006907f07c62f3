"""The student takes the run's data whole: a preset's vocabulary covers every character of
it, a loaded tokenizer that cannot encode one refuses the item naming it, and items longer
than the context are refused with their count; nothing becomes <unk> or is cut."""

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from tests.engine.student_helpers import tiny_run_spec, tiny_student
from workers.engine.errors import ItemError, SpecError
from workers.engine.loop import CHECKPOINTS, run_loop
from workers.engine.spec import StudentSpec
from workers.engine.student import (
    CHARS,
    build_char_tokenizer,
    build_student,
    check_items,
    data_chars,
    unfit_reason,
)
from workers.engine.tasks.base import Item

BEYOND = "é×÷€😀"


def _item(i: int, prompt: str, answer: str, line: int | None = None) -> Item:
    meta = {"line": line} if line is not None else {}
    return Item(id=f"it-{i}", prompt=prompt, answer=answer, skills=("s",), level=1, meta=meta)


def _jsonl(rows: list[tuple[str, str]]) -> list[str]:
    return [json.dumps({"id": f"row-{i}", "prompt": p, "answer": a, "skills": ["s"],
                        "level": 1, "split": "eval" if i % 4 == 0 else "train"},
                       ensure_ascii=False) for i, (p, a) in enumerate(rows, start=1)]


def test_the_preset_vocabulary_keeps_ascii_ids_and_adds_the_datas_characters():
    plain, wide = build_char_tokenizer(), build_char_tokenizer(BEYOND + "ab")
    assert len(wide) == len(plain) + len(BEYOND)
    for ch in CHARS:
        assert wide.convert_tokens_to_ids(ch) == plain.convert_tokens_to_ids(ch)
    text = "3×4=12, 9÷3=3, café 5€ 😀"
    ids = wide(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == len(text) and wide.unk_token_id not in ids
    assert wide.decode(ids) == text
    assert plain.unk_token_id in plain(text, add_special_tokens=False)["input_ids"]


def test_a_preset_student_covers_its_data():
    items = [_item(1, "3×4=", "12"), _item(2, "café?", "é")]
    student = build_student(StudentSpec(preset="tiny", max_length=24),
                            device=torch.device("cpu"), seed=0, chars=data_chars(items))
    check_items(student, items)  # nothing to refuse
    ids, n_prompt = student.encode_pair("3×4=", "12")
    assert student.tokenizer.decode(ids[n_prompt:-1]) == "12"
    assert student.unknown_chars("3×4=é") == []


def test_a_run_on_characters_beyond_ascii_trains_and_its_checkpoint_round_trips(tmp_path):
    spec = tiny_run_spec(
        task={"family": "reasoning_gym", "pool_size": 24, "eval_size": 8,
              "options": {"datasets": {"complex_arithmetic": {"levels": [1]}}}},
        student={"preset": "tiny", "max_length": 96}, rounds=1,
        train={"steps_per_round": 2, "batch_size": 4})
    summary = run_loop(spec, artifacts_dir=tmp_path)
    assert summary.rounds[1].metrics["steps"] == 2
    ckpt = Path(summary.final.checkpoint_dir)
    tok = AutoTokenizer.from_pretrained(ckpt)
    items = [json.loads(line) for line in (ckpt / "eval_items.jsonl").read_text().splitlines()]
    for text in [it["prompt"] + it["answer"] for it in items] + ["(4.0) × (2.0 - 1.0i) ÷"]:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.unk_token_id not in ids
        assert tok.decode(ids) == text


def test_a_model_dir_tokenizer_that_cannot_encode_a_character_refuses_the_item(tmp_path):
    model_dir = tmp_path / "ascii-student"
    tiny_student(max_length=32).save(model_dir)  # a preset of printable ASCII only
    rows = [("1+1=", "2"), ("2+2=", "4"), ("café+1=", "?"), ("3+3=", "6"), ("4+4=", "8")]
    spec = tiny_run_spec(task={"family": "jsonl", "options": {"lines": _jsonl(rows)}},
                         student={"preset": None, "model_dir": str(model_dir),
                                  "max_length": 32})
    with pytest.raises(ItemError) as exc:
        run_loop(spec, artifacts_dir=tmp_path / "run")
    assert exc.value.item_id == "row-3"
    assert "line 3" in str(exc.value) and "'é' (U+00E9)" in str(exc.value)
    assert not (tmp_path / "run" / CHECKPOINTS).exists() or \
        not any((tmp_path / "run" / CHECKPOINTS).iterdir())  # refused before round 0


def test_items_longer_than_the_context_are_refused_with_their_count(tmp_path):
    rows = [("1+1=", "2"), ("12345678+87654321=", "99999999"), ("2+2=", "4"),
            ("11111111+22222222=", "33333333"), ("3+3=", "6")]
    spec = tiny_run_spec(task={"family": "jsonl", "options": {"lines": _jsonl(rows)}},
                         student={"preset": "tiny", "max_length": 16})
    with pytest.raises(SpecError) as exc:
        run_loop(spec, artifacts_dir=tmp_path)
    assert exc.value.field == "spec.student.max_length"
    message = str(exc.value)
    assert "2 items are longer than the student's context of 16 tokens: e.g. " in message
    assert "'row-2' (line 2) (29 tokens)" in message and "'row-4' (line 4)" in message


def test_unfit_reason_names_the_character_or_the_length():
    student = tiny_student(max_length=12)
    assert unfit_reason(student, _item(1, "1+2=", "3")) is None
    assert "'é'" in unfit_reason(student, _item(2, "é", "3"))
    assert "longer than the context of 12" in unfit_reason(student, _item(3, "123456+1=", "123457"))
