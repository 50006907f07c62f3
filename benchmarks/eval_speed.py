"""Evaluation throughput: the batched evaluator vs one ``generate`` call per item.

Three ways to the same greedy answers, timed side by side on one trained student:

- ``ours``: ``evaluate.generate_answers`` (length-sorted batches, static KV cache, stops when
  every answer of a batch has ended; on CUDA a compiled, CUDA-graph decode step);
- ``generate_batched``: the same length-sorted, left-padded batches through
  ``model.generate`` (the evaluator before the static-cache decoder);
- ``one_by_one``: one plain ``model.generate`` call per item (timed on ``--single-items``,
  extrapolated per item), the reference the predictions must equal.

    python benchmarks/eval_speed.py --preset tiny --items 256 --threads 2
    python benchmarks/eval_speed.py --preset base --device cuda --items 1024 --batch-size 128
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benchmarks.hardware import device_name  # noqa: E402
from workers.engine.evaluate import eval_max_new_tokens, generate_answers  # noqa: E402
from workers.engine.spec import StudentSpec  # noqa: E402
from workers.engine.student import build_student, resolve_device  # noqa: E402
from workers.engine.tasks.arithmetic import ArithmeticFamily  # noqa: E402
from workers.engine.trainer import Trainer  # noqa: E402


@torch.no_grad()
def generate_batched(student, prompts, *, max_new_tokens, batch_size):
    """Length-sorted, left-padded batches through ``model.generate``."""
    student.model.eval()
    encoded = [student.encode_prompt(p) for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    answers = [""] * len(prompts)
    for start in range(0, len(order), batch_size):
        idx = order[start: start + batch_size]
        width = max(len(encoded[i]) for i in idx)
        input_ids = torch.full((len(idx), width), student.pad_id, dtype=torch.long)
        attention = torch.zeros((len(idx), width), dtype=torch.long)
        for row, i in enumerate(idx):
            input_ids[row, width - len(encoded[i]):] = torch.tensor(encoded[i])
            attention[row, width - len(encoded[i]):] = 1
        with student.autocast():
            out = student.model.generate(
                input_ids=input_ids.to(student.device),
                attention_mask=attention.to(student.device), max_new_tokens=max_new_tokens,
                do_sample=False, num_beams=1, eos_token_id=student.eos_id,
                pad_token_id=student.pad_id, use_cache=True)
        for row, ids in enumerate(out[:, width:].tolist()):
            answers[idx[row]] = student.decode_answer(ids)
    return answers


@torch.no_grad()
def one_by_one(student, prompts, *, max_new_tokens):
    student.model.eval()
    answers = []
    for p in prompts:
        ids = torch.tensor([student.encode_prompt(p)], device=student.device)
        with student.autocast():
            out = student.model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids),
                max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                eos_token_id=student.eos_id, pad_token_id=student.pad_id, use_cache=True)
        answers.append(student.decode_answer(out[0, ids.shape[1]:].tolist()))
    return answers


CPU_SECONDS: dict[str, list[float]] = {}  # process CPU time per side (robust to load)


def timed(fn, *args, **kwargs):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    CPU_SECONDS.setdefault(fn.__name__, []).append(time.process_time() - cpu)
    return out, time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="tiny")
    p.add_argument("--items", type=int, default=256)
    p.add_argument("--single-items", type=int, default=64,
                   help="items timed one by one (extrapolated per item)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--train-steps", type=int, default=30,
                   help="steps first, so answers have realistic lengths")
    p.add_argument("--repeats", type=int, default=2, help="batched timings, best kept")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    family = ArithmeticFamily()
    items = family.sample(n=args.items, rng=random.Random(0))
    student = build_student(StudentSpec(preset=args.preset, max_length=32),
                            device=resolve_device(args.device), seed=0)
    Trainer(student, lr=3e-3, batch_size=32).train(items, steps=args.train_steps, seed=0)
    prompts = [it.prompt for it in items]
    max_new = eval_max_new_tokens(student, items)
    # one untimed pass each: compiling, CUDA graphs, allocator
    generate_answers(student, prompts[: args.batch_size], max_new_tokens=max_new,
                     batch_size=args.batch_size)
    generate_batched(student, prompts[: args.batch_size], max_new_tokens=max_new,
                     batch_size=args.batch_size)
    t_ours, t_gen = [], []
    for _ in range(args.repeats):  # alternated, so load hits both alike
        ours, t = timed(generate_answers, student, prompts, max_new_tokens=max_new,
                        batch_size=args.batch_size)
        t_ours.append(t)
        batched, t = timed(generate_batched, student, prompts, max_new_tokens=max_new,
                           batch_size=args.batch_size)
        t_gen.append(t)
    single, t_single = timed(one_by_one, student, prompts[: args.single_items],
                             max_new_tokens=max_new)
    rates = {"ours": len(items) / min(t_ours), "generate_batched": len(items) / min(t_gen),
             "one_by_one": len(single) / t_single}
    cpu = {"ours": len(items) / min(CPU_SECONDS["generate_answers"]),
           "generate_batched": len(items) / min(CPU_SECONDS["generate_batched"]),
           "one_by_one": len(single) / CPU_SECONDS["one_by_one"][0]}
    print(json.dumps({
        "preset": args.preset, "device": str(student.device),
        "device_name": device_name(student.device), "threads": torch.get_num_threads(),
        "items": len(items), "batch_size": args.batch_size, "max_new_tokens": max_new,
        "items_per_s": rates, "items_per_cpu_s": cpu,
        "speedup_vs_one_by_one": rates["ours"] / rates["one_by_one"],
        "speedup_vs_generate_batched": rates["ours"] / rates["generate_batched"],
        "same_predictions_as_one_by_one": ours[: len(single)] == single,
        "same_predictions_as_generate_batched": ours == batched,
        "distinct_predictions": len(set(ours)),
    }, indent=2))


if __name__ == "__main__":
    main()
