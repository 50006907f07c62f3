import random

import pytest
import torch

from tests.engine.student_helpers import add_items, tiny_student
from workers.engine.errors import EngineError, RunCancelled
from workers.engine.trainer import (
    IGNORE,
    Trainer,
    answer_token_scores,
    bucketed_batches,
    collate,
)


def test_labels_mask_prompt_and_padding():
    s = tiny_student()
    pairs = [s.encode_pair("1+2=", "3"), s.encode_pair("45+67=", "112")]
    batch = collate(s, pairs)
    for row, (ids, n_prompt) in enumerate(pairs):
        labels = batch["labels"][row].tolist()
        assert labels[:n_prompt] == [IGNORE] * n_prompt
        assert labels[n_prompt: len(ids)] == ids[n_prompt:]  # answer tokens and eos
        assert labels[len(ids):] == [IGNORE] * (len(labels) - len(ids))
        assert batch["attention_mask"][row].sum() == len(ids)


def test_loss_ignores_prompt_tokens():
    """Changing only the prompt-side labels' targets must not change the answer-only loss."""
    s = tiny_student()
    trainer = Trainer(s, lr=1e-3, batch_size=2)
    from workers.engine.trainer import answer_loss

    batch = collate(s, [s.encode_pair("1+2=", "3"), s.encode_pair("4+5=", "9")])
    logits = s.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    base = answer_loss(logits, batch["labels"])
    tampered = logits.clone()
    n_prompt = s.encode_pair("1+2=", "3")[1]
    tampered[:, : n_prompt - 1] += torch.randn_like(tampered[:, : n_prompt - 1]) * 5
    assert torch.allclose(answer_loss(tampered, batch["labels"]), base)
    assert trainer.global_step == 0


def test_bucketing_covers_every_index_once_and_groups_lengths():
    rng = random.Random(0)
    lengths = [rng.randint(5, 40) for _ in range(200)]
    batches = bucketed_batches(lengths, 8, random.Random(1))
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(200))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    assert spread < 0.5 * 35 * len(batches)  # far below random batching


def test_loss_falls_on_a_tiny_set():
    s = tiny_student()
    result = Trainer(s, lr=3e-3, batch_size=8).train(add_items(32), steps=30, seed=0)
    assert result.steps == 30 and result.tokens > 0
    assert result.loss < 0.75 * result.first_loss


def test_same_seed_same_weights_on_cpu():
    items = add_items(24)
    runs = []
    for _ in range(2):
        s = tiny_student(seed=1)
        r = Trainer(s, lr=3e-3, batch_size=4).train(items, steps=6, seed=5)
        runs.append((r.losses, [p.detach().clone() for p in s.model.parameters()]))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1], strict=True))
    other = tiny_student(seed=1)
    r = Trainer(other, lr=3e-3, batch_size=4).train(items, steps=6, seed=6)
    assert r.losses != runs[0][0]


def test_progress_reports_and_should_stop_cancels():
    s = tiny_student()
    seen = []
    Trainer(s, lr=1e-3, batch_size=4).train(add_items(16), steps=4, seed=0,
                                            on_progress=seen.append, report_every_steps=2)
    assert [p.step for p in seen] == [2, 4]
    assert seen[-1].tokens_per_s > 0 and seen[-1].eta_s == 0
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 2

    trainer = Trainer(s, lr=1e-3, batch_size=4)
    with pytest.raises(RunCancelled, match="step 2 of 5"):
        trainer.train(add_items(16), steps=5, seed=0, should_stop=stop)
    assert trainer.global_step == 2


def test_optimizer_state_round_trips():
    s = tiny_student()
    t = Trainer(s, lr=1e-3, batch_size=4, warmup_steps=10)
    t.train(add_items(8), steps=2, seed=0)
    t2 = Trainer(s, lr=1e-3, batch_size=4, warmup_steps=10)
    t2.load_state_dict(t.state_dict())
    assert t2.global_step == 2
    assert t2.optimizer.state_dict()["state"].keys() == t.optimizer.state_dict()["state"].keys()


def test_empty_training_list_is_an_error():
    with pytest.raises(EngineError, match="empty"):
        Trainer(tiny_student(), lr=1e-3, batch_size=4).train([], steps=1, seed=0)


def _score_one_by_one(s, item):
    """Answer tokens right and the reference tokens' summed probability for one item,
    unbatched: the model on the item alone."""
    ids, n_prompt = s.encode_pair(item.prompt, item.answer)
    with torch.no_grad():
        logits = s.model(input_ids=torch.tensor([ids])).logits[0]
    answer = logits[n_prompt - 1: len(ids) - 1].float()
    reference = torch.tensor(ids[n_prompt:])
    hits = int((answer.argmax(-1) == reference).sum())
    prob = float(answer.softmax(-1).gather(-1, reference.unsqueeze(-1)).sum())
    return hits, len(ids) - n_prompt, prob


def _assert_scores(got, items, s):
    want = [_score_one_by_one(s, it) for it in items]
    assert [(g.hits, g.tokens) for g in got] == [(h, n) for h, n, _ in want]
    assert [g.prob for g in got] == pytest.approx([p for _, _, p in want], abs=1e-5)


def test_answer_token_scores_match_the_item_alone_and_leave_the_mode():
    """Teacher-forced hits and reference-token probabilities per item, batched with padding,
    equal the item scored alone (answer digits and eos); before training few are right and
    the reference is unlikely, after training more are right and it is likelier."""
    s = tiny_student()
    items = add_items(40, seed=3)
    before = answer_token_scores(s, items, batch_size=16)
    _assert_scores(before, items, s)
    assert [sc.tokens for sc in before] == [s.answer_length(it.answer) for it in items]
    assert all(0.0 < sc.prob < sc.tokens for sc in before)
    Trainer(s, lr=3e-3, batch_size=8).train(items, steps=60, seed=0)
    s.model.train()
    after = answer_token_scores(s, items, batch_size=7)
    assert s.model.training  # the mode it was in is restored
    s.model.eval()
    _assert_scores(after, items, s)
    assert sum(sc.hits for sc in after) > sum(sc.hits for sc in before)
    assert sum(sc.prob for sc in after) > sum(sc.prob for sc in before)
