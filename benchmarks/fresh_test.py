"""The learning benchmark's final students scored again on a fresh test set.

The targeted strategies build their Missing-Skill-Profile from the eval split that the
learning tables score: no eval problem is trained on, but which skill × level cells get more
training follows the eval's failures. This check draws, per seed, a new test set from the
same family with as many items at each trained level as the eval split, disjoint from that
seed's eval split, its seed pool and every item any arm synthesized (a level whose problems
are used up is left out), and scores every arm's last checkpoint on it and on the eval
items of the same levels. If the gains of the tables hold here, they do not come from the
eval items themselves.

    .venv/bin/python benchmarks/fresh_test.py --runs /tmp/learning \
        --arms uniform,stat_sel,stat_syn,dump
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workers.engine.assemble import draw_eval, seed_pool, train_levels  # noqa: E402
from workers.engine.checkpoint import latest_complete  # noqa: E402
from workers.engine.errors import SpecError  # noqa: E402
from workers.engine.evaluate import evaluate  # noqa: E402
from workers.engine.spec import RunSpec  # noqa: E402
from workers.engine.splits import SplitGuard, problem_key  # noqa: E402
from workers.engine.student import build_student, resolve_device  # noqa: E402
from workers.engine.tasks import build_family  # noqa: E402
from workers.engine.tasks.base import Item  # noqa: E402

TEST_SEED = 1_000_003  # any seed the runs never use for drawing


def synthesized(run: Path) -> list[Item]:
    out = []
    for line in (run / "metrics.jsonl").read_text().splitlines():
        if line.strip():
            out.extend(Item.from_dict(d) for d in json.loads(line).get("synthesized", []))
    return out


def fresh_test(spec: RunSpec, runs: list[Path]) -> tuple[list[Item], list[Item], int]:
    """A test set like the eval split (as many items at each trained level), disjoint from
    the eval split, the pool and every synthesized item of ``runs``; the eval items at the
    levels it covers (a level whose problems are used up is left out); and the number of
    problems it had to avoid."""
    family = build_family(spec.task.family, spec.task.options)
    levels = train_levels(spec, family)
    eval_items = draw_eval(spec, family)
    guard = SplitGuard(eval_items)
    pool = seed_pool(spec, family, levels, None, guard=guard)
    avoid = {problem_key(it) for it in [*eval_items, *pool]}
    for run in runs:
        avoid.update(problem_key(it) for it in synthesized(run))
    rng = random.Random(TEST_SEED + spec.seed)
    test: list[Item] = []
    for level in levels:  # as many items a level as the eval split has
        n = sum(it.level == level for it in eval_items)
        try:
            test.extend(family.sample(n=n, rng=rng, levels=[level], exclude=avoid))
        except SpecError as exc:  # the level's problems are used up by eval, pool, synthesis
            print(f"seed {spec.seed}: level {level} left out: {exc}", file=sys.stderr)
    assert not avoid & {problem_key(it) for it in test}
    eval_same = [it for it in eval_items if it.level in {t.level for t in test}]
    return test, eval_same, len(avoid)


def score(run: Path, spec: RunSpec, test: list[Item]) -> dict:
    family = build_family(spec.task.family, spec.task.options)
    _round, path = latest_complete(run / "checkpoints")
    student = build_student(spec.student, device=resolve_device("cpu"), seed=spec.seed,
                            from_checkpoint=path)
    report = evaluate(student, family, test)
    skills = sorted({s for it in test for s in it.skills})
    by_skill = report.skill_accuracy(skills)
    weakest = min(by_skill, key=by_skill.get)
    return {"accuracy": report.accuracy, "weakest": by_skill[weakest],
            "weakest_skill": weakest, "skills": by_skill}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=Path, default=Path("/tmp/learning"))
    p.add_argument("--arms", default="uniform,stat_sel,stat_syn,dump")
    p.add_argument("--seeds", default="0,1,2,3,4")
    args = p.parse_args()
    arms = args.arms.split(",")
    results: dict[str, list[dict]] = {arm: [] for arm in arms}
    for seed in (int(s) for s in args.seeds.split(",")):
        runs = [args.runs / arm / f"seed{seed}" for arm in arms]
        spec = RunSpec.from_dict(json.loads((runs[0] / "spec.json").read_text()))
        test, eval_same, avoided = fresh_test(spec, runs)
        for arm, run in zip(arms, runs, strict=True):
            arm_spec = RunSpec.from_dict(json.loads((run / "spec.json").read_text()))
            row = {"test": score(run, arm_spec, test), "eval": score(run, arm_spec, eval_same)}
            results[arm].append(row)
            print(json.dumps({"seed": seed, "arm": arm, "avoided": avoided,
                              "levels": sorted({it.level for it in test}),
                              **{f"{split}_{k}": v for split, r in row.items()
                                 for k, v in r.items() if k != "skills"}}), flush=True)

    def cell(arm: str, split: str, key: str) -> str:
        values = [r[split][key] * 100 for r in results[arm]]
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.1f} ± {sd:.1f}"

    print("| arm | mean acc. (eval) | mean acc. (fresh test) | weakest (eval) "
          "| weakest (fresh test) | seeds ahead of uniform (fresh test, weakest) |")
    print("| --- | --- | --- | --- | --- | --- |")
    base = [r["test"]["weakest"] for r in results[arms[0]]]
    for arm in arms:
        ahead = sum(r["test"]["weakest"] > b for r, b in zip(results[arm], base, strict=True))
        print(f"| {arm} | {cell(arm, 'eval', 'accuracy')} | {cell(arm, 'test', 'accuracy')} | "
              f"{cell(arm, 'eval', 'weakest')} | {cell(arm, 'test', 'weakest')} | "
              f"{'—' if arm == arms[0] else f'{ahead}/{len(base)}'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
