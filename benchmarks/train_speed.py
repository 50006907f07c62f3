"""Training throughput: our hand-written trainer vs ``transformers.Trainer``.

Same model (a preset built from one seed), same items, same batch size, same device, same
collate function (answer-only labels); the difference is length bucketing and the loop.
Throughput counts real (non-padding) tokens per second.

    python benchmarks/train_speed.py --preset tiny --steps 20 --repeats 3 --threads 2
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from workers.engine.spec import StudentSpec  # noqa: E402
from workers.engine.student import build_student, resolve_device  # noqa: E402
from workers.engine.tasks.arithmetic import ArithmeticFamily  # noqa: E402
from workers.engine.trainer import Trainer, collate  # noqa: E402


def items(n: int, seed: int = 0):
    return ArithmeticFamily().sample(n=n, rng=random.Random(seed))  # levels 1..5: mixed lengths


def ours(args, data):
    student = build_student(StudentSpec(preset=args.preset, max_length=32),
                            device=resolve_device(args.device), seed=0)
    trainer = Trainer(student, lr=1e-3, batch_size=args.batch_size)
    trainer.train(data, steps=args.warmup, seed=1)  # warm-up (allocator, kernels)

    def run(seed: int) -> dict:
        result = trainer.train(data, steps=args.steps, seed=seed)
        return {"tokens": result.tokens, "seconds": result.seconds,
                "tokens_per_s": result.tokens_per_s}

    return run


def hf(args, data):
    from transformers import Trainer as HFTrainer
    from transformers import TrainingArguments

    student = build_student(StudentSpec(preset=args.preset, max_length=32),
                            device=resolve_device(args.device), seed=0)
    rows = [dict(zip(("ids", "n_prompt"), student.encode_pair(it.prompt, it.answer),
                     strict=True)) for it in data]
    counted = {"tokens": 0}

    def collator(batch):
        out = collate(student, [(r["ids"], r["n_prompt"]) for r in batch])
        counted["tokens"] += int(out["attention_mask"].sum())
        return out

    def run(steps: int, seed: int) -> float:
        targs = TrainingArguments(
            output_dir=str(Path(args.tmp) / "hf"), per_device_train_batch_size=args.batch_size,
            max_steps=steps, learning_rate=1e-3, report_to=[], save_strategy="no",
            logging_strategy="no", use_cpu=resolve_device(args.device).type == "cpu",
            bf16=resolve_device(args.device).type == "cuda", dataloader_num_workers=0,
            remove_unused_columns=False, seed=seed, disable_tqdm=True, lr_scheduler_type="constant",
        )
        trainer = HFTrainer(model=student.model, args=targs, train_dataset=rows,
                            data_collator=collator)
        start = time.perf_counter()
        trainer.train()
        return time.perf_counter() - start

    run(args.warmup, 1)

    def timed(seed: int) -> dict:
        counted["tokens"] = 0
        seconds = run(args.steps, seed)
        return {"tokens": counted["tokens"], "seconds": seconds,
                "tokens_per_s": counted["tokens"] / seconds}

    return timed


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="tiny")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--items", type=int, default=4096)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--tmp", default="/tmp/train_speed")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = items(args.items)
    run_ours, run_hf = ours(args, data), hf(args, data)
    results: dict[str, list[dict]] = {"ours": [], "transformers_trainer": []}
    # Alternate the two, so load from other processes hits both alike; report medians.
    for rep in range(args.repeats):
        results["ours"].append(run_ours(10 + rep))
        results["transformers_trainer"].append(run_hf(10 + rep))
    med = {k: statistics.median(r["tokens_per_s"] for r in v) for k, v in results.items()}
    print(json.dumps({"preset": args.preset, "device": str(resolve_device(args.device)),
                      "steps": args.steps, "repeats": args.repeats,
                      "batch_size": args.batch_size, "threads": torch.get_num_threads(),
                      "median_tokens_per_s": med,
                      "speedup": med["ours"] / med["transformers_trainer"],
                      "runs": results}, indent=2))


if __name__ == "__main__":
    main()
