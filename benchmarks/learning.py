"""Learning benchmark: curricula against `uniform` at equal training steps, on an eval split
that training never sees.

Every arm is a strategy with its parameters (``name=strategy:param=value,...``; a
``task.<field>`` parameter changes the task instead, e.g. ``task.pool_size=60000``), run for
every seed through the engine's headless runner in ``--jobs`` worker processes. The control
arm ``uniform_unskewed`` trains `uniform` on a pool drawn without the spec's
``task.pool_options`` (the natural skill mix): if it matches `stat_sel`, the gain of
targeting is only the undoing of the pool's skew.

Reported per arm (mean ± standard deviation over seeds, in %): final-round and
last-3-rounds mean accuracy, weakest-skill accuracy (the weakest skill of each run's final
round), held-out-level accuracy, accuracy on the hardest trained level, the largest overlap
count between training data and eval (must be 0), and per-seed wins over the baseline arm
(``--baseline``, `uniform` unless set: name `uniform_unskewed` to compare arms that train on
the unskewed pool with the control on that pool), on the weakest skill and on the hardest
trained level; ``curves.json`` has every arm's mean accuracy and weakest-skill accuracy per
round.

    python benchmarks/learning.py --out /tmp/learning --seeds 0,1,2,3,4 --jobs 2 --threads 1
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workers.engine.headless import load_spec, run_one  # noqa: E402
from workers.engine.spec import RunSpec  # noqa: E402

ARMS = ("uniform=uniform", "uniform_unskewed=uniform", "stat_sel=stat_sel",
        "stat_syn=stat_syn", "sec=sec", "dump=dump")


def parse_arm(text: str) -> tuple[str, str, dict]:
    """``name=strategy:param=value,param=value`` -> (name, strategy, params)."""
    name, _, rest = text.partition("=")
    strategy, _, raw = rest.partition(":")
    params = {}
    for pair in filter(None, raw.split(",")):
        key, _, value = pair.partition("=")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    if not name or not strategy:
        raise SystemExit(f"--arms: {text!r} is not name=strategy[:param=value,...]")
    return name, strategy, params


def arm_spec(spec: RunSpec, name: str, strategy: str, params: dict, seed: int) -> RunSpec:
    """The spec of one arm: ``task.<field>=value`` parameters change the task (e.g.
    ``task.pool_size=60000``), the others are the strategy's."""
    task = spec.task
    if name.endswith("_unskewed"):
        task = dataclasses.replace(task, pool_options={})
    changes = {k.removeprefix("task."): v for k, v in params.items() if k.startswith("task.")}
    if changes:
        task = dataclasses.replace(task, **changes)
    params = {k: v for k, v in params.items() if not k.startswith("task.")}
    curriculum = dataclasses.replace(spec.curriculum, strategy=strategy, params=params)
    return dataclasses.replace(spec, seed=seed, task=task, curriculum=curriculum)


def one(job: tuple[dict, str, str, int]) -> str:
    spec_dict, out, label, threads = job
    import torch

    torch.set_num_threads(threads)
    start = time.perf_counter()
    run_one(RunSpec.from_dict(spec_dict), Path(out), label=label, quiet=True)
    return f"{label} done in {time.perf_counter() - start:.0f} s"


def read_rounds(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def level_accuracy(record: dict, level: int) -> float | None:
    row = next((r for r in record["levels"] if r["level"] == level), None)
    return row["success_rate"] if row and row["evaluated"] else None


def mean_sd(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(out: Path, arms: list[str], seeds: list[int], hardest: int,
              baseline: str = "uniform") -> dict:
    per_arm: dict[str, dict] = {}
    curves: dict[str, dict] = {}
    for name in arms:
        finals: dict[str, list[float]] = {k: [] for k in (
            "accuracy", "weakest", "last3_accuracy", "last3_weakest", "held_out", "hardest")}
        overlap = 0
        weakest_skills = []
        rounds_by_seed = []
        for seed in seeds:
            rounds = read_rounds(out / name / f"seed{seed}" / "metrics.jsonl")
            rounds_by_seed.append(rounds)
            final = rounds[-1]["metrics"]
            last3 = [r["metrics"] for r in rounds[-3:]]
            finals["accuracy"].append(final["accuracy"])
            finals["weakest"].append(final["weakest_skill_accuracy"] or 0.0)
            finals["last3_accuracy"].append(statistics.fmean(m["accuracy"] for m in last3))
            # the weakest skill's accuracy in each of the last three rounds, averaged
            finals["last3_weakest"].append(statistics.fmean(
                m["weakest_skill_accuracy"] or 0.0 for m in last3))
            if final.get("held_out_accuracy") is not None:
                finals["held_out"].append(final["held_out_accuracy"])
            hard = level_accuracy(rounds[-1], hardest)
            if hard is not None:
                finals["hardest"].append(hard)
            overlap = max([overlap, *(int(r["metrics"].get("overlap") or 0) for r in rounds)])
            weakest_skills.append(final["weakest_skill"])
        per_arm[name] = {
            "per_seed": finals, "overlap": overlap, "weakest_skills": weakest_skills,
            **{f"{k}_mean": mean_sd(v)[0] for k, v in finals.items()},
            **{f"{k}_sd": mean_sd(v)[1] for k, v in finals.items()},
        }
        n = min(len(r) for r in rounds_by_seed)
        curves[name] = {
            "accuracy": [statistics.fmean(r[i]["metrics"]["accuracy"] for r in rounds_by_seed)
                         for i in range(n)],
            "weakest": [statistics.fmean(r[i]["metrics"]["weakest_skill_accuracy"] or 0.0
                                         for r in rounds_by_seed) for i in range(n)],
            "steps": [sum(r["metrics"].get("steps", 0) for r in rounds_by_seed[0][:i + 1])
                      for i in range(n)],
        }
    base = per_arm.get(baseline)
    if base:
        for row in per_arm.values():
            for key in ("weakest", "last3_weakest", "accuracy", "last3_accuracy", "hardest"):
                row[f"{key}_delta"] = row[f"{key}_mean"] - base[f"{key}_mean"]
            row["weakest_wins"] = seeds_ahead(row, base, "last3_weakest")
            row["hardest_wins"] = seeds_ahead(row, base, "hardest")
    return {"arms": per_arm, "curves": curves, "baseline": baseline}


def seeds_ahead(row: dict, base: dict, key: str) -> int:
    """On how many seeds the arm's figure beats the baseline's with the same seed."""
    mine, theirs = row["per_seed"][key], base["per_seed"][key]
    if len(mine) != len(theirs):  # a level missing from some run's record
        raise SystemExit(f"{key}: {len(mine)} seeds against the baseline's {len(theirs)}")
    return sum(a > b for a, b in zip(mine, theirs, strict=True))


def table(summary: dict, seeds: list[int]) -> str:
    def pct(row, key):
        return f"{100 * row[f'{key}_mean']:.1f} ± {100 * row[f'{key}_sd']:.1f}"

    baseline = summary.get("baseline", "uniform")
    base = summary["arms"].get(baseline)

    def delta(row, key):
        return "—" if f"{key}_delta" not in row or row is base \
            else f"{100 * row[f'{key}_delta']:+.1f}"

    def wins(row, key):
        return "—" if f"{key}_wins" not in row or row is base \
            else f"{row[f'{key}_wins']}/{len(seeds)}"

    lines = [
        "| arm | mean acc. (final) | mean acc. (last 3) | weakest (final) | weakest (last 3) "
        f"| Δ weakest last 3 vs {baseline} | seeds ahead | hardest trained level "
        "| seeds ahead on it | held-out level | overlap |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in summary["arms"].items():
        lines.append(
            f"| {name} | {pct(row, 'accuracy')} | {pct(row, 'last3_accuracy')} | "
            f"{pct(row, 'weakest')} | {pct(row, 'last3_weakest')} | "
            f"{delta(row, 'last3_weakest')} | {wins(row, 'weakest')} | {pct(row, 'hardest')} | "
            f"{wins(row, 'hardest')} | {pct(row, 'held_out')} | {row['overlap']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--spec", type=Path, default=Path(__file__).parent / "specs/learning.yaml")
    p.add_argument("--out", type=Path, default=Path("/tmp/learning"))
    p.add_argument("--arms", default=",".join(ARMS).replace(",", " "),
                   help="space-separated name=strategy[:param=value,...]")
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--jobs", type=int, default=2, help="runs at a time, in worker processes")
    p.add_argument("--report-only", action="store_true", help="summarize finished runs")
    p.add_argument("--baseline", default="uniform",
                   help="the arm every other arm is compared with (one of --arms)")
    args = p.parse_args(argv)
    spec = load_spec(args.spec)
    seeds = [int(s) for s in args.seeds.split(",")]
    arms = [parse_arm(a) for a in args.arms.split()]
    if args.baseline not in [a[0] for a in arms]:
        p.error(f"--baseline: {args.baseline!r} is not one of the arms "
                f"({', '.join(a[0] for a in arms)})")
    start = time.perf_counter()
    if not args.report_only:
        jobs = []
        for seed in seeds:  # seeds outermost: a partial result still compares every arm
            for name, strategy, params in arms:
                run_spec = arm_spec(spec, name, strategy, params, seed)
                RunSpec.from_dict(run_spec.to_dict())  # validate before starting anything
                done = args.out / name / f"seed{seed}" / "metrics.jsonl"
                if done.exists() and len(read_rounds(done)) == spec.rounds + 1:
                    continue  # finished by an earlier invocation: runs are deterministic
                jobs.append((run_spec.to_dict(), str(args.out / name / f"seed{seed}"),
                             f"{name}/s{seed}", args.threads))
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
            for line in pool.map(one, jobs):
                print(line, flush=True)
    seconds = time.perf_counter() - start
    trained = [lv for lv in range(1, 6) if lv not in spec.task.held_out_levels
               and lv in (spec.task.options.get("levels") or [])]
    summary = summarize(args.out, [a[0] for a in arms], seeds, max(trained), args.baseline)
    summary.update(seconds=seconds, seeds=seeds, arms_spec=args.arms, jobs=args.jobs,
                   threads=args.threads, steps=spec.rounds * spec.train.steps_per_round)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(table(summary, seeds))
    print(f"total {seconds / 60:.1f} min for {len(arms)} arms x {len(seeds)} seeds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
