"""Packed training batches: same items, same loss, no leakage between packed items."""

import random

import pytest
import torch

from tests.engine.student_helpers import add_items, tiny_student
from workers.engine import trainer as trainer_module
from workers.engine.packing import (
    IGNORE,
    collate_packed,
    pack_rows,
    packable,
    row_bucket,
    row_width,
)
from workers.engine.tasks.arithmetic import ArithmeticFamily
from workers.engine.trainer import Trainer, answer_loss, collate


def mixed_pairs(student, n=24, seed=0):
    items = ArithmeticFamily(levels=[1, 2, 3, 4, 5]).sample(n=n, rng=random.Random(seed))
    return [student.encode_pair(it.prompt, it.answer) for it in items]


def padded_loss(student, pairs):
    batch = collate(student, pairs)
    out = student.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                        use_cache=False)
    return answer_loss(out.logits, batch["labels"])


def packed_loss(student, pairs, **kw):
    batch = collate_packed(pairs, pad_id=student.pad_id,
                           width=row_width([len(ids) for ids, _ in pairs]), **kw)
    out = student.model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                        use_cache=False)
    return answer_loss(out.logits, batch["labels"]), batch


def test_rows_hold_every_item_once_within_the_width():
    rng = random.Random(0)
    lengths = [rng.randint(3, 40) for _ in range(100)]
    rows = pack_rows(lengths, 64)
    assert sorted(i for row in rows for i in row) == list(range(100))
    assert all(sum(lengths[i] for i in row) <= 64 for row in rows)
    assert len(rows) < 0.6 * len(lengths)  # several items share a row
    with pytest.raises(ValueError, match="does not fit"):
        pack_rows([65], 64)


def test_row_buckets_are_few_and_never_smaller():
    sizes = {row_bucket(n) for n in range(1, 257)}
    assert sizes == {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256}
    assert all(n <= row_bucket(n) < 1.5 * n + 1 for n in range(1, 257))


def test_positions_restart_and_labels_stay_within_each_item():
    s = tiny_student(max_length=32)
    pairs = mixed_pairs(s, n=12)
    _, batch = packed_loss(s, pairs)
    seen = 0
    for r in range(batch["input_ids"].shape[0]):
        pos = batch["position_ids"][r].tolist()
        starts = [i for i, p in enumerate(pos) if p == 0]
        for a, b in zip(starts, starts[1:] + [len(pos)], strict=True):
            assert pos[a:b] == list(range(b - a))  # each segment counts from 0
            assert batch["labels"][r, a] == IGNORE  # never predict an item's first token
        seen += sum(1 for ids, _ in pairs for a in starts
                    if batch["input_ids"][r, a: a + len(ids)].tolist() == ids)
    assert seen >= len(pairs)
    n_labels = sum(len(ids) - n_prompt for ids, n_prompt in pairs)
    assert int((batch["labels"] != IGNORE).sum()) == n_labels
    assert int(batch["tokens"]) == sum(len(ids) for ids, _ in pairs)


def test_packed_loss_equals_the_padded_loss_on_the_same_items():
    s = tiny_student(max_length=32)
    pairs = mixed_pairs(s)
    with torch.no_grad():
        unpacked = padded_loss(s, pairs)
        packed, batch = packed_loss(s, pairs)
        bucketed, bbatch = packed_loss(s, pairs, bucket_rows=True)  # extra empty rows
    assert batch["input_ids"].shape[0] < len(pairs)
    assert torch.allclose(packed, unpacked, rtol=1e-5, atol=1e-6)
    assert torch.allclose(bucketed, unpacked, rtol=1e-5, atol=1e-6)
    assert bbatch["input_ids"].shape[0] == row_bucket(batch["input_ids"].shape[0])


def test_gradients_of_packed_and_padded_batches_agree():
    s = tiny_student(max_length=32)
    pairs = mixed_pairs(s, n=16, seed=3)
    padded_loss(s, pairs).backward()
    grads = [p.grad.clone() for p in s.model.parameters()]
    s.model.zero_grad()
    packed_loss(s, pairs)[0].backward()
    for g, p in zip(grads, s.model.parameters(), strict=True):
        assert torch.allclose(g, p.grad, rtol=1e-4, atol=1e-6)


def segment_of(batch, ids):
    """(row, start) of the packed segment holding exactly ``ids``."""
    for r in range(batch["input_ids"].shape[0]):
        row = batch["input_ids"][r].tolist()
        for a, p in enumerate(batch["position_ids"][r].tolist()):
            if p == 0 and row[a: a + len(ids)] == ids:
                return r, a
    raise AssertionError("segment not found")


def test_an_item_never_sees_its_row_neighbours():
    """Changing a packed item's neighbour leaves its logits those it has alone."""
    s = tiny_student(max_length=32)
    target = s.encode_pair("5+6=", "11")
    alone_ids = torch.tensor([target[0]])
    with torch.no_grad():
        alone = s.model(input_ids=alone_ids, use_cache=False).logits[0]
        for first in ("12+34=", "99+98="):
            pairs = [s.encode_pair(first, "46"), target, s.encode_pair("70+8=", "78")]
            batch = collate_packed(pairs, pad_id=s.pad_id, width=64)
            assert batch["input_ids"].shape[0] == 1  # all three share one row
            logits = s.model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                             use_cache=False).logits
            r, at = segment_of(batch, target[0])
            assert at > 0  # it has a neighbour before it
            assert torch.allclose(logits[r, at: at + len(target[0])], alone, atol=1e-5)


def test_packed_training_follows_the_padded_training():
    items = add_items(48)
    runs = {}
    for pack in (False, True):
        s = tiny_student(seed=2, max_length=24)
        trainer = Trainer(s, lr=3e-3, batch_size=8, pack=pack)
        assert trainer.pack is pack and trainer.compile_mode is None  # CPU: no compile
        runs[pack] = trainer.train(items, steps=6, seed=4).losses
    assert runs[True] == pytest.approx(runs[False], rel=1e-4)


def test_cpu_defaults_keep_the_padded_eager_step():
    trainer = Trainer(tiny_student(), lr=1e-3, batch_size=4)
    assert trainer.pack is False and trainer.compile_mode is None


def test_packing_is_known_for_the_presets_with_or_without_lora():
    assert packable(tiny_student().model)
    assert packable(tiny_student(lora={"r": 4}).model)
    assert not packable(torch.nn.Linear(2, 2))


def test_compiled_step_gives_the_eager_losses(monkeypatch):
    """The compiled path through dynamo (the eager backend: no code generation, quick on CPU;
    inductor is what runs on CUDA, benchmarks/gpu_throughput.sh checks its losses)."""
    monkeypatch.setattr(trainer_module, "COMPILE_BACKEND", "eager")
    items = add_items(32)
    runs = {}
    for compile_ in (False, True):
        s = tiny_student(seed=5, max_length=24)
        trainer = Trainer(s, lr=3e-3, batch_size=8, pack=True, compile=compile_)
        runs[compile_] = trainer.train(items, steps=3, seed=1).losses
        assert (trainer._compiled is not None) is compile_
        assert trainer._compiled is not False  # it did not fall back
    assert runs[True] == pytest.approx(runs[False], rel=1e-4)


def test_a_failing_compiled_step_falls_back_to_eager(monkeypatch, caplog):
    def broken(fn, **kw):
        def run(*a, **k):
            raise RuntimeError("no compiler here")
        return run

    monkeypatch.setattr(torch, "compile", broken)
    s = tiny_student(seed=5, max_length=24)
    trainer = Trainer(s, lr=3e-3, batch_size=8, pack=True, compile=True)
    result = trainer.train(add_items(16), steps=2, seed=1)
    assert result.steps == 2 and trainer._compiled is False
    assert "running eagerly" in caplog.text
