"""Run a whole training run from a YAML or JSON spec, with no web app, database or broker.

    python -m workers.engine.headless spec.yaml --out runs/demo
    python -m workers.engine.headless spec.yaml --out runs/cmp --compare uniform,stat_sel \\
        --seeds 0,1,2 --jobs 2 --threads 1

Each run writes ``metrics.jsonl`` (one line per round) and its checkpoints under its output
directory. ``--compare`` runs every strategy with every seed (equal steps) and prints a table
of final mean accuracy and weakest-skill accuracy, mean and spread over the seeds.
A bad spec exits with status 2 and names the field at fault.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from pathlib import Path

import yaml

from workers.engine.errors import EngineError, RunCancelled, SpecError
from workers.engine.spec import RunSpec

EXIT_BAD_SPEC = 2
EXIT_FAILED = 1


def load_spec(path: Path) -> RunSpec:
    """A RunSpec from a YAML or JSON file (YAML is a superset of JSON)."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise SpecError("spec", f"cannot read {str(path)!r}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SpecError("spec", f"{str(path)!r} is not valid YAML/JSON: {exc}") from exc
    return RunSpec.from_dict(data if data is not None else {})


class _Progress:
    """tqdm bar over all training steps of a run, plus round lines and the metrics file."""

    def __init__(self, spec: RunSpec, metrics_path: Path, label: str, quiet: bool):
        from tqdm import tqdm

        from workers.engine.records import RunHooks

        total = spec.rounds * spec.train.steps_per_round
        bar = tqdm(total=total, desc=label, unit="step", disable=quiet, dynamic_ncols=True)
        metrics_path.parent.mkdir(parents=True, exist_ok=True)

        class Hooks(RunHooks):
            def on_progress(self, event) -> None:
                if event.phase == "train" and event.step:
                    done = (event.round - 1) * spec.train.steps_per_round + event.step
                    bar.update(done - bar.n)
                    bar.set_postfix(round=event.round, loss=f"{event.loss:.3f}",
                                    tok_s=f"{event.tokens_per_s:.0f}")
                elif event.phase != "train":
                    bar.set_postfix(round=event.round, phase=event.phase)

            def on_round(self, record) -> None:
                with open(metrics_path, "a") as fh:
                    fh.write(json.dumps(record.to_dict()) + "\n")
                m = record.metrics
                weakest = m["weakest_skill_accuracy"]
                bar.write(f"{label} round {record.round}: accuracy {m['accuracy']:.3f}, weakest "
                          f"skill {m['weakest_skill']} "
                          f"{weakest if weakest is None else round(weakest, 3)}"
                          + ("" if m["train_loss"] is None else f", loss {m['train_loss']:.3f}"))

        self.hooks = Hooks()
        self.bar = bar

    def close(self) -> None:
        self.bar.close()


def run_one(spec: RunSpec, out: Path, *, label: str = "run", quiet: bool = False,
            resume: bool = False):
    """One run into ``out``; with ``resume`` it continues after the last complete round."""
    from workers.engine import checkpoint
    from workers.engine.loop import CHECKPOINTS, run_loop

    out.mkdir(parents=True, exist_ok=True)
    (out / "spec.json").write_text(json.dumps(spec.to_dict(), indent=2))
    metrics = out / "metrics.jsonl"
    resume_round = None
    if resume:
        latest = checkpoint.latest_complete(out / CHECKPOINTS)
        resume_round = latest[0] if latest else None
    if resume_round is None and metrics.exists():
        metrics.unlink()
    elif resume_round is not None and metrics.exists():
        # keep only the lines of rounds that are complete on disk
        lines = [ln for ln in metrics.read_text().splitlines()
                 if ln and json.loads(ln)["round"] <= resume_round]
        metrics.write_text("".join(ln + "\n" for ln in lines))
    progress = _Progress(spec, metrics, label, quiet)
    try:
        return run_loop(spec, artifacts_dir=out, hooks=progress.hooks, resume_round=resume_round)
    finally:
        progress.close()


def compare(spec: RunSpec, out: Path, strategies: list[str], seeds: list[int], *,
            quiet: bool = False, jobs: int = 1, threads: int = 0) -> list[dict]:
    """Every strategy x seed at equal steps; one result row per strategy.

    With ``jobs`` > 1 the runs go to that many worker processes (each with ``threads`` torch
    threads when given); every run depends only on its spec and seed, so the rows are the
    same as from one process.
    """
    runs = []
    for name in strategies:
        for seed in seeds:
            run_spec = dataclasses.replace(
                spec, seed=seed,
                curriculum=dataclasses.replace(spec.curriculum, strategy=name,
                                               params={} if name != spec.curriculum.strategy
                                               else spec.curriculum.params))
            RunSpec.from_dict(run_spec.to_dict())  # validate the combination
            runs.append((run_spec.to_dict(), str(out / f"{name}-seed{seed}"),
                         f"{name}/s{seed}", quiet, threads))
    if jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: a forked torch process can hang on its parent's thread pools
        with ProcessPoolExecutor(max_workers=jobs,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            finals = list(pool.map(_final_metrics, runs))
    else:
        finals = [_final_metrics(run) for run in runs]
    n = len(seeds)
    return [summarize(name, seeds, finals[i * n:(i + 1) * n])
            for i, name in enumerate(strategies)]


def _final_metrics(run: tuple[dict, str, str, bool, int]) -> dict:
    """One run of :func:`compare` (a top-level function so worker processes can call it)."""
    spec_dict, out, label, quiet, threads = run
    if threads:
        import torch

        torch.set_num_threads(threads)
    summary = run_one(RunSpec.from_dict(spec_dict), Path(out), label=label, quiet=quiet)
    return summary.final.metrics


def summarize(name: str, seeds: list[int], finals: list[dict]) -> dict:
    acc = [m["accuracy"] for m in finals]
    weak = [m["weakest_skill_accuracy"] or 0.0 for m in finals]
    held = [m["held_out_accuracy"] for m in finals if m["held_out_accuracy"] is not None]
    return {
        "strategy": name, "seeds": seeds,
        "accuracy": acc, "weakest": weak, "weakest_skill": [m["weakest_skill"] for m in finals],
        "accuracy_mean": statistics.fmean(acc),
        "accuracy_sd": statistics.stdev(acc) if len(acc) > 1 else 0.0,
        "weakest_mean": statistics.fmean(weak),
        "weakest_sd": statistics.stdev(weak) if len(weak) > 1 else 0.0,
        "held_out_mean": statistics.fmean(held) if held else None,
    }


def format_table(rows: list[dict]) -> str:
    head = f"{'strategy':<14} {'mean accuracy':>18} {'weakest skill':>18} {'held-out':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        held = "-" if r["held_out_mean"] is None else f"{100 * r['held_out_mean']:.1f}"
        acc = f"{100 * r['accuracy_mean']:.1f} ± {100 * r['accuracy_sd']:.1f}"
        weak = f"{100 * r['weakest_mean']:.1f} ± {100 * r['weakest_sd']:.1f}"
        lines.append(f"{r['strategy']:<14} {acc:>18} {weak:>18} {held:>9}")
    return "\n".join(lines)


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") \
            from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.engine.headless",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", type=Path, help="run spec, YAML or JSON")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--compare", default="",
                        help="comma-separated strategies to run side by side")
    parser.add_argument("--seeds", type=_int_list, default=None,
                        help="comma-separated seeds (default: the spec's seed)")
    parser.add_argument("--resume", action="store_true",
                        help="continue after the last complete round in --out")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="with --compare: runs at a time, in worker processes (default 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        spec = load_spec(args.spec)
        strategies = [s.strip() for s in args.compare.split(",") if s.strip()]
        from workers.engine.curriculum import get_strategy

        for name in strategies:
            get_strategy(name)
    except SpecError as exc:
        print(f"bad spec: {exc}", file=sys.stderr)
        return EXIT_BAD_SPEC
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    seeds = args.seeds or [spec.seed]
    try:
        if strategies:
            rows = compare(spec, args.out, strategies, seeds, quiet=args.quiet,
                           jobs=max(1, args.jobs), threads=args.threads)
            (args.out / "compare.json").write_text(json.dumps(rows, indent=2))
            print(format_table(rows))
        else:
            runs = []
            for seed in seeds:
                run_spec = dataclasses.replace(spec, seed=seed)
                out = args.out if len(seeds) == 1 else args.out / f"seed{seed}"
                runs.append(run_one(run_spec, out, label=f"seed {seed}", quiet=args.quiet,
                                    resume=args.resume))
            for seed, summary in zip(seeds, runs, strict=True):
                m = summary.final.metrics
                print(f"seed {seed}: accuracy {m['accuracy']:.3f}, weakest skill "
                      f"{m['weakest_skill']} {m['weakest_skill_accuracy']}, "
                      f"checkpoint {summary.final.checkpoint_dir}")
    except SpecError as exc:
        print(f"bad spec: {exc}", file=sys.stderr)
        return EXIT_BAD_SPEC
    except RunCancelled as exc:
        print(f"cancelled: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except EngineError as exc:
        print(f"run failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
