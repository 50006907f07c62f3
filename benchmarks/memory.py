"""Peak resident memory (RSS) of a whole tiny-preset run: build, train, evaluate, checkpoint.

    python benchmarks/memory.py benchmarks/specs/memory.yaml --threads 2
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402
import torch  # noqa: E402

from workers.engine.headless import load_spec  # noqa: E402
from workers.engine.loop import run_loop  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("spec", type=Path)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = load_spec(args.spec)
    before = psutil.Process().memory_info().rss
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        summary = run_loop(spec, artifacts_dir=Path(out))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({
        "spec": str(args.spec), "parameters": summary.parameters, "rounds": spec.rounds,
        "steps_per_round": spec.train.steps_per_round, "seconds": time.perf_counter() - start,
        "rss_after_imports_mib": before / 2**20, "peak_rss_mib": peak_kib / 1024,
        "final_accuracy": summary.final.metrics["accuracy"],
    }, indent=2))


if __name__ == "__main__":
    main()
