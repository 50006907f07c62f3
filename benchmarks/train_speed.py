"""Training throughput: our hand-written trainer vs ``transformers.Trainer``.

Same model (a preset built from one seed), same items, same batch size, same device, same
collate function (answer-only labels); the difference is length bucketing and the loop, and on
CUDA packing, the compiled step, bf16 autocast and fused AdamW (``transformers.Trainer`` gets
``bf16=True`` there too). Throughput counts real (non-padding) tokens per second; every figure
is printed beside the device's name, and on CUDA as a share of its bf16 peak.

    python benchmarks/train_speed.py --preset tiny --steps 20 --repeats 3 --threads 2
    python benchmarks/train_speed.py --before caee0a1 --no-hf  # vs the trainer at a commit
    python benchmarks/train_speed.py --pack on --compile off  # force a layout / compilation
    python benchmarks/train_speed.py --check-compiled --device cuda  # compiled vs eager losses
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benchmarks.hardware import (  # noqa: E402
    bf16_peak_tflops,
    device_name,
    load_from_git,
    train_flops_per_token,
)
from workers.engine.spec import StudentSpec  # noqa: E402
from workers.engine.student import build_student, resolve_device  # noqa: E402
from workers.engine.tasks.arithmetic import ArithmeticFamily  # noqa: E402
from workers.engine.trainer import Trainer, collate  # noqa: E402


def items(n: int, seed: int = 0):
    return ArithmeticFamily().sample(n=n, rng=random.Random(seed))  # levels 1..5: mixed lengths


def _switch(text: str):
    return {"auto": None, "on": True, "off": False}.get(text, text)


def new_student(args):
    return build_student(StudentSpec(preset=args.preset, max_length=32),
                         device=resolve_device(args.device), seed=0)


def ours(args, data, trainer_class=Trainer, **options):
    student = new_student(args)
    trainer = trainer_class(student, lr=1e-3, batch_size=args.batch_size, **options)
    trainer.train(data, steps=args.warmup, seed=1)  # warm-up (allocator, kernels, compiling)

    def run(seed: int) -> dict:
        cpu = time.process_time()
        result = trainer.train(data, steps=args.steps, seed=seed)
        cpu = time.process_time() - cpu
        return {"tokens": result.tokens, "seconds": result.seconds,
                "tokens_per_s": result.tokens_per_s, "cpu_seconds": cpu,
                "tokens_per_cpu_s": result.tokens / cpu}

    run.trainer = trainer
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

    cuda = resolve_device(args.device).type == "cuda"

    def run(steps: int, seed: int) -> float:
        targs = TrainingArguments(
            output_dir=str(Path(tempfile.mkdtemp(prefix="train_speed_")) / "hf"),
            per_device_train_batch_size=args.batch_size,
            max_steps=steps, learning_rate=1e-3, report_to=[], save_strategy="no",
            logging_strategy="no", use_cpu=resolve_device(args.device).type == "cpu",
            bf16=resolve_device(args.device).type == "cuda", dataloader_num_workers=0,
            remove_unused_columns=False, seed=seed, disable_tqdm=True, lr_scheduler_type="constant",
            optim="adamw_torch_fused" if cuda else "adamw_torch",
        )
        trainer = HFTrainer(model=student.model, args=targs, train_dataset=rows,
                            data_collator=collator)
        start = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # its summary line: stdout is our JSON
            trainer.train()
        return time.perf_counter() - start

    run(args.warmup, 1)

    def timed(seed: int) -> dict:
        counted["tokens"] = 0
        cpu = time.process_time()
        seconds = run(args.steps, seed)
        cpu = time.process_time() - cpu
        return {"tokens": counted["tokens"], "seconds": seconds,
                "tokens_per_s": counted["tokens"] / seconds, "cpu_seconds": cpu,
                "tokens_per_cpu_s": counted["tokens"] / cpu}

    return timed


def check_compiled(args, data) -> dict:
    """Losses of the padded eager step and of the packed (compiled where asked) step, from
    one initial model over the same batches: they should agree to rounding."""
    out = {}
    for name, options in (("padded_eager", {"pack": False, "compile": False}),
                          ("packed", {"pack": True, "compile": _switch(args.compile)})):
        student = new_student(args)
        trainer = Trainer(student, lr=1e-3, batch_size=args.batch_size, **options)
        out[name] = list(trainer.train(data, steps=args.steps, seed=1).losses)
        out[f"{name}_compile_mode"] = trainer.compile_mode
    diffs = [abs(a - b) / max(abs(a), 1e-9)
             for a, b in zip(out["padded_eager"], out["packed"], strict=True)]
    return {"max_relative_loss_difference": max(diffs), "losses": out}


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
    p.add_argument("--pack", default="auto", help="auto, on or off")
    p.add_argument("--compile", default="auto", help="auto, on, off or a torch.compile mode")
    p.add_argument("--before", default="", metavar="GIT_REF",
                   help="also time the trainer as it was at this commit")
    p.add_argument("--no-hf", action="store_true", help="leave transformers.Trainer out")
    p.add_argument("--check-compiled", action="store_true",
                   help="compare the losses of the padded eager and packed/compiled steps")
    p.add_argument("--peak-tflops", type=float, default=0.0,
                   help="the device's bf16 peak when it is not in benchmarks/hardware.py")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = items(args.items)
    device = resolve_device(args.device)
    head = {"preset": args.preset, "device": str(device), "device_name": device_name(device),
            "batch_size": args.batch_size, "threads": torch.get_num_threads()}
    if args.check_compiled:
        print(json.dumps({**head, **check_compiled(args, data)}, indent=2))
        return
    sides = {"ours": ours(args, data, pack=_switch(args.pack), compile=_switch(args.compile))}
    if args.before:
        old = load_from_git(args.before, "workers/engine/trainer.py", "trainer_before")
        sides[f"ours_at_{args.before}"] = ours(args, data, trainer_class=old.Trainer)
    if not args.no_hf:
        sides["transformers_trainer"] = hf(args, data)
    results: dict[str, list[dict]] = {name: [] for name in sides}
    # Alternate the sides, so load from other processes hits them alike; report medians.
    for rep in range(args.repeats):
        for name, run in sides.items():
            results[name].append(run(10 + rep))
    med = {k: statistics.median(r["tokens_per_s"] for r in v) for k, v in results.items()}
    # CPU seconds of this process: far less sensitive than wall time to other processes on a
    # shared machine (with --threads 1, where no thread spins waiting for another)
    per_cpu_s = {k: statistics.median(r["tokens_per_cpu_s"] for r in v)
                 for k, v in results.items()}
    trainer = sides["ours"].trainer
    report = {**head, "steps": args.steps, "repeats": args.repeats,
              "pack": trainer.pack, "compile_mode": trainer.compile_mode,
              "median_tokens_per_s": med, "median_tokens_per_cpu_s": per_cpu_s,
              "speedup": {k: med["ours"] / v for k, v in med.items() if k != "ours"}}
    peak = bf16_peak_tflops(device, args.peak_tflops)
    if peak:
        lengths = [trainer.student.item_tokens(it.prompt, it.answer) for it in data]
        flops = train_flops_per_token(trainer.student.model, statistics.fmean(lengths))
        report["bf16_peak_tflops"] = peak
        report["percent_of_bf16_peak"] = {k: 100 * v * flops / (peak * 1e12)
                                          for k, v in med.items()}
    report["runs"] = results
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
