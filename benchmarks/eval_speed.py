"""Evaluation throughput: the batched, length-bucketed evaluator vs one ``generate`` per item.

    python benchmarks/eval_speed.py --preset tiny --items 256 --threads 2
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

from workers.engine.evaluate import evaluate_items  # noqa: E402
from workers.engine.spec import StudentSpec  # noqa: E402
from workers.engine.student import build_student, resolve_device  # noqa: E402
from workers.engine.tasks.arithmetic import ArithmeticFamily  # noqa: E402
from workers.engine.trainer import Trainer  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="tiny")
    p.add_argument("--items", type=int, default=256)
    p.add_argument("--single-items", type=int, default=64,
                   help="items timed one by one (extrapolated per item)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--train-steps", type=int, default=30,
                   help="steps first, so answers have realistic lengths")
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

    start = time.perf_counter()
    batched = evaluate_items(student, family, items, batch_size=args.batch_size)
    t_batched = time.perf_counter() - start

    single = items[: args.single_items]
    start = time.perf_counter()
    one_by_one = [evaluate_items(student, family, [it], batch_size=1)[0] for it in single]
    t_single = time.perf_counter() - start
    same = [v.prediction for v in one_by_one] == [v.prediction for v in batched[: len(single)]]
    batched_rate = len(items) / t_batched
    single_rate = len(single) / t_single
    print(json.dumps({
        "preset": args.preset, "device": str(student.device), "threads": torch.get_num_threads(),
        "items": len(items), "batch_size": args.batch_size,
        "batched_items_per_s": batched_rate, "single_items_per_s": single_rate,
        "speedup": batched_rate / single_rate, "same_predictions": same,
    }, indent=2))


if __name__ == "__main__":
    main()
