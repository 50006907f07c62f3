"""Greedy decoding with a static KV cache: the predictions of one ``generate`` per prompt."""

import random

import pytest
import torch

from tests.engine.student_helpers import tiny_student
from workers.engine.decode import GreedyDecoder
from workers.engine.evaluate import generate_answers, greedy_decoder
from workers.engine.tasks.arithmetic import ArithmeticFamily


def one_by_one(student, prompt, max_new_tokens):
    """The reference: plain transformers ``generate``, one prompt, greedy, KV cache."""
    ids = torch.tensor([student.encode_prompt(prompt)])
    out = student.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                 max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                                 eos_token_id=student.eos_id, pad_token_id=student.pad_id,
                                 use_cache=True)
    return student.decode_answer(out[0, ids.shape[1]:].tolist())


def mixed_prompts(n, seed=0):
    items = ArithmeticFamily(levels=[1, 2, 3, 4, 5]).sample(n=n, rng=random.Random(seed))
    return [it.prompt for it in items]


@pytest.mark.parametrize("seed", [0, 1])
def test_batched_predictions_equal_one_generate_per_prompt(seed):
    """An untrained student answers with long, varied strings: every token must agree."""
    s = tiny_student(seed=seed, max_length=32)
    s.model.eval()
    prompts = mixed_prompts(40, seed=seed)
    assert len({len(s.encode_prompt(p)) for p in prompts}) >= 4  # lengths differ
    reference = [one_by_one(s, p, 8) for p in prompts]
    assert len(set(reference)) > 10
    assert generate_answers(s, prompts, max_new_tokens=8, batch_size=16) == reference


def test_one_batch_of_different_prompt_lengths():
    s = tiny_student(seed=3, max_length=32)
    s.model.eval()
    prompts = ["1+2=", "345+678=", "12*3=", "99999+1="]
    decoder = GreedyDecoder(s.model, pad_id=s.pad_id, eos_id=s.eos_id, device=s.device)
    new = decoder.decode([s.encode_prompt(p) for p in prompts], max_new_tokens=6)
    assert [s.decode_answer(ids) for ids in new] == [one_by_one(s, p, 6) for p in prompts]
    # the fixed shape of the compiled path (filler rows, wider prompts) changes nothing
    shape = decoder.shape([len(s.encode_prompt(p)) for p in prompts], 64, 6)
    assert shape == (4, 16, 32)
    padded = decoder.decode([s.encode_prompt(p) for p in prompts], max_new_tokens=6,
                            shape=(8, 32, 48))
    assert padded == new


def test_decoding_stops_once_every_sequence_has_ended():
    s = tiny_student(seed=0, max_length=32)
    calls = []
    decoder = GreedyDecoder(s.model, pad_id=s.pad_id, eos_id=s.eos_id, device=s.device)
    real = decoder._decode_step

    def counted(*args):
        calls.append(1)
        return real(*args)

    decoder._decode_step = counted
    eos = torch.tensor([s.eos_id])  # make eos the argmax everywhere: all end at once
    s.model.lm_head.register_forward_hook(lambda m, i, out: out.index_fill(-1, eos, 1e4))
    new = decoder.decode([s.encode_prompt("1+2="), s.encode_prompt("10+20=")],
                         max_new_tokens=10)
    assert calls == []  # no decode step after the first token
    assert new == [[s.eos_id] + [s.pad_id] * 9] * 2


def test_tokens_after_eos_are_pad():
    s = tiny_student(seed=0, max_length=32)
    decoder = GreedyDecoder(s.model, pad_id=s.pad_id, eos_id=s.eos_id, device=s.device)
    for ids in decoder.decode([s.encode_prompt(p) for p in mixed_prompts(12)],
                              max_new_tokens=8):
        if s.eos_id in ids:
            assert set(ids[ids.index(s.eos_id) + 1:]) <= {s.pad_id}


def test_cpu_decodes_eagerly_and_the_decoder_is_kept_with_the_student():
    s = tiny_student()
    decoder = greedy_decoder(s)
    assert decoder.compile is False and decoder.check_every == 1
    assert greedy_decoder(s) is decoder


def test_a_failing_compiled_step_falls_back_to_eager(monkeypatch, caplog):
    s = tiny_student(seed=1, max_length=32)
    s.model.eval()
    prompts = mixed_prompts(6)
    expected = generate_answers(s, prompts, max_new_tokens=6)

    def broken(fn, **kw):
        def run(*a, **k):
            raise RuntimeError("no compiler here")
        return run

    monkeypatch.setattr(torch, "compile", broken)
    decoder = GreedyDecoder(s.model, pad_id=s.pad_id, eos_id=s.eos_id, device=s.device,
                            compile=True)
    s._cache["greedy_decoder"] = decoder
    assert generate_answers(s, prompts, max_new_tokens=6) == expected
    assert decoder._step is False and "decoding eagerly" in caplog.text
