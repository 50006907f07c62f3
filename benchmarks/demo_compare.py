"""The demo's comparison through the product: how much CPU until the gap shows.

Does what a new user does, on the demo's own setup (SQLite and the filesystem broker in a
scratch data folder): ``manage.py demo_compare`` (the demo project and its six queued runs),
then the demo's worker exactly as ``scripts/demo.sh`` starts it. Every ``--every`` seconds
it reads the comparison's per-round numbers as the comparison page does
(``comparison_rounds``) and the CPU seconds the worker's processes have used (from the
kernel, children included). It reports, per round that both first-seed runs have reached,
the weakest-skill accuracy of ``uniform`` and ``stat_sel`` and the worker CPU minutes at
the moment it was seen, and stops once the first seed's two runs are done (or at
``--max-minutes``).

    .venv/bin/python benchmarks/demo_compare.py --out /tmp/demo_compare.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its live descendants, with what they
    counted for children they waited for."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    tree, todo = set(), [pid]
    while todo:
        p = todo.pop()
        tree.add(p)
        todo.extend(c for c, (parent, _) in stats.items() if parent == p and c not in tree)
    return sum(stats[p][1] for p in tree if p in stats) / tick


def read_rounds(env: dict) -> dict:
    """The first-seed runs' rounds as the comparison page reads them (in a child process,
    so this process holds no database state between polls)."""
    code = (
        "import json, os, django\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.dev')  # manage.py's\n"
        "django.setup()\n"
        "from apps.compare.models import Comparison\n"
        "from apps.compare.selectors import comparison_rounds\n"
        "from apps.core.demo_compare import COMPARISON\n"
        "from apps.runs.models import Run\n"
        "c = Comparison.objects.get(name=COMPARISON)\n"
        "runs = {r.pk: r for r in Run.objects.filter(pk__in=c.run_ids, seed=0)"
        ".select_related('curriculum')}\n"
        "rounds = comparison_rounds(run_ids=list(runs))\n"
        "print(json.dumps({runs[pk].curriculum.strategy: {'status': runs[pk].status, "
        "'rounds': [[r['index'], r['weakest'], r['accuracy']] for r in rounds.get(pk, [])]}"
        " for pk in runs}))\n"
    )
    out = subprocess.run([PY, "-c", code], cwd=ROOT, env=env, check=True,
                         stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("/tmp/demo_compare.json"))
    p.add_argument("--every", type=float, default=10.0, help="seconds between readings")
    p.add_argument("--max-minutes", type=float, default=30.0)
    args = p.parse_args()
    data = Path(tempfile.mkdtemp(prefix="demo-compare-"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "OMP_NUM_THREADS")}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the demo's settings, as manage.py chooses
    env.update(STUDIO_DATA_DIR=str(data), DEMO_PASSWORD="demo-compare-benchmark")
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                   check=True)
    subprocess.run([PY, "manage.py", "demo_compare"], cwd=ROOT, env=env, check=True)
    # the demo's worker, as scripts/demo.sh starts it
    worker = subprocess.Popen(
        [str(Path(PY).parent / "celery"), "-A", "config", "worker", "-Q", "default,gpu",
         "-c", "2", "--prefetch-multiplier", "1", "-n", "demo-compare@%h", "--loglevel",
         "WARNING"], cwd=ROOT, env=env, start_new_session=True)
    start = time.monotonic()
    seen: dict[int, dict] = {}
    result = {"cpus": len(os.sched_getaffinity(0)), "rounds": []}
    try:
        while time.monotonic() - start < args.max_minutes * 60:
            time.sleep(args.every)
            cpu = tree_cpu_seconds(worker.pid)
            runs = read_rounds(env)
            if set(runs) != {"uniform", "stat_sel"}:
                continue
            by = {s: {i: (w, a) for i, w, a in r["rounds"]} for s, r in runs.items()}
            for index in sorted(set(by["uniform"]) & set(by["stat_sel"]) - set(seen)):
                row = {"round": index, "cpu_min": round(cpu / 60, 2),
                       "wall_min": round((time.monotonic() - start) / 60, 2),
                       "uniform_weakest": by["uniform"][index][0],
                       "stat_sel_weakest": by["stat_sel"][index][0],
                       "uniform_mean": by["uniform"][index][1],
                       "stat_sel_mean": by["stat_sel"][index][1]}
                seen[index] = row
                result["rounds"].append(row)
                print(json.dumps(row), flush=True)
            if all(r["status"] in ("succeeded", "failed", "cancelled") for r in runs.values()):
                break
        result["statuses"] = {s: r["status"] for s, r in runs.items()}
        args.out.write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2))
    finally:
        # the other seeds' runs have started: stop at once rather than let them finish
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
