"""Learning benchmark: uniform vs the skill-targeted and adaptive strategies, equal steps.

Runs every strategy with every seed through the headless runner and writes the table
(mean accuracy and weakest-skill accuracy, mean ± spread over seeds) plus ``compare.json``.

    python benchmarks/learning.py --spec benchmarks/specs/learning.yaml \\
        --out /tmp/learning --seeds 0,1,2 --jobs 2 --threads 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from workers.engine.headless import compare, format_table, load_spec  # noqa: E402

STRATEGIES = "uniform,stat_sel,stat_syn,sec,dump,mastery"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--spec", type=Path, default=Path(__file__).parent / "specs/learning.yaml")
    p.add_argument("--out", type=Path, default=Path("/tmp/learning"))
    p.add_argument("--strategies", default=STRATEGIES)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--jobs", type=int, default=2, help="runs at a time, in worker processes")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    spec = load_spec(args.spec)
    seeds = [int(s) for s in args.seeds.split(",")]
    start = time.perf_counter()
    rows = compare(spec, args.out, args.strategies.split(","), seeds, quiet=True,
                   jobs=args.jobs, threads=args.threads)
    seconds = time.perf_counter() - start
    uniform = next((r for r in rows if r["strategy"] == "uniform"), None)
    if uniform:
        for r in rows:
            r["weakest_gain_vs_uniform"] = r["weakest_mean"] - uniform["weakest_mean"]
            r["accuracy_change_vs_uniform"] = r["accuracy_mean"] - uniform["accuracy_mean"]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "compare.json").write_text(json.dumps({"seconds": seconds, "jobs": args.jobs,
                                                       "threads": args.threads, "rows": rows},
                                                      indent=2))
    print(format_table(rows))
    print(f"total {seconds / 60:.1f} min for {len(rows)} strategies x {len(seeds)} seeds")


if __name__ == "__main__":
    main()
