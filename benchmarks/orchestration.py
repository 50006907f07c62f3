"""Orchestration benchmark: what running through Celery costs, and what a worker crash costs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/studio_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python benchmarks/orchestration.py --repeat 3 --fault-runs 3

Needs PostgreSQL and Redis (the database is migrated; the gpu and default queues of that
Redis database are emptied). It starts its own GPU workers (``celery -A config worker -Q
gpu -c 1 --prefetch-multiplier 1``, CPU when there is no CUDA) and measures, in one go:

1. overhead: the same tiny spec through the engine alone (``run_loop`` in this process, the
   work of ``python -m workers.engine.headless``) and through Celery on a warm worker
   (launch -> succeeded in the database), alternating, median of ``--repeat``;
   the headless command's own wall time (with interpreter and torch start-up) for reference;
2. launch -> first training step on a warm worker (median and worst);
3. faults: ``--fault-runs`` runs, each SIGKILLed mid-round ``--kills-per-run`` times (a new
   worker replaces the dead one, the sweep requeues the run); counts runs completed and
   rounds lost or duplicated, and whether every run's rows equal an undisturbed run's.

Prints a markdown section for docs/benchmarks.md and writes it with ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

SPEC = {
    "task": {"family": "arithmetic", "options": {"levels": [1, 2], "ops": ["add", "sub"]},
             "pool_size": 2000, "eval_size": 32},
    "student": {"preset": "tiny", "max_length": 16},
    "teacher": {"kind": "oracle"},
    "curriculum": {"strategy": "stat_sel", "params": {}},
    "train": {"steps_per_round": 60, "batch_size": 16, "lr": 0.003},
    "rounds": 3, "seed": 0, "device": "auto",
}


def setup_django() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("set DATABASE_URL=postgres://... (workers and this script share it)")
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        sys.exit("set CELERY_BROKER_URL=redis://...")
    call_command("migrate", verbosity=0)


class Workers:
    def __init__(self, artifacts: Path, logs: Path, threads: int):
        self.env = {**os.environ, "STUDIO_ARTIFACTS_DIR": str(artifacts),
                    "STUDIO_PRELOAD_ENGINE": "1", "CELERY_SKIP_CHECKS": "1",
                    "STUDIO_RUN_HEARTBEAT_S": "1", "OMP_NUM_THREADS": str(threads),
                    "PYTHONUNBUFFERED": "1"}
        self.logs = logs
        self.procs: dict[str, subprocess.Popen] = {}
        self.count = 0

    def start(self) -> str:
        self.count += 1
        node = f"bench{self.count}-{os.getpid()}"
        log = self.logs / f"{node}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [str(Path(sys.executable).with_name("celery")), "-A", "config", "worker",
                 "-Q", "gpu,default", "-c", "1", "--prefetch-multiplier", "1", "-n",
                 f"{node}@%h", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                 "--without-heartbeat"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if " ready." in text and "engine preloaded" in text:
                self.procs[node] = proc
                return node
            if proc.poll() is not None:
                sys.exit(f"worker {node} exited:\n{text[-3000:]}")
            time.sleep(0.2)
        sys.exit(f"worker {node} not ready:\n{log.read_text()[-3000:]}")

    def kill(self, node: str) -> None:
        proc = self.procs.pop(node)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop(self) -> None:
        for node in list(self.procs):
            self.kill(node)


def make_parts(tag: str) -> dict:
    from django.contrib.auth import get_user_model

    from apps.accounts.models import Membership, Team
    from apps.curricula.models import Curriculum
    from apps.projects.models import Project
    from apps.prompts.models import TeacherConfig
    from apps.runs.models import StudentSpec

    user, _ = get_user_model().objects.get_or_create(username=f"bench-{tag}")
    team = Team.objects.create(name=f"bench {tag} {time.time_ns()}")
    Membership.objects.create(user=user, team=team, role="editor")
    project = Project.objects.create(team=team, name="bench", task_family="arithmetic",
                                     task_options=SPEC["task"]["options"], require_review=False)
    return {
        "user": user, "project": project,
        "student": StudentSpec.objects.create(project=project, name="tiny", preset="tiny",
                                              max_length=SPEC["student"]["max_length"]),
        "teacher_config": TeacherConfig.objects.create(project=project, name="oracle"),
        "curriculum": Curriculum.objects.create(project=project, name="stat_sel",
                                                strategy=SPEC["curriculum"]["strategy"]),
    }


def launch(parts: dict, *, seed: int = 0):
    from apps.runs.services import run_launch

    return run_launch(**parts, rounds=SPEC["rounds"],
                      steps_per_round=SPEC["train"]["steps_per_round"],
                      batch_size=SPEC["train"]["batch_size"], lr=SPEC["train"]["lr"],
                      eval_size=SPEC["task"]["eval_size"], seed=seed, device="auto")


def wait_status(run_id: int, statuses: tuple[str, ...], timeout: float = 600) -> str:
    from apps.runs.models import Run

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = Run.objects.filter(pk=run_id).values_list("status", flat=True).first()
        if status in statuses:
            return status
        time.sleep(0.05)
    raise TimeoutError(f"run {run_id} not in {statuses} after {timeout} s")


def first_step_at(run_id: int):
    from apps.runs.models import RunEvent

    return RunEvent.objects.filter(run_id=run_id, kind="progress", message="train",
                                   step__gt=0).order_by("id").values_list(
        "created_at", flat=True).first()


def engine_alone(out: Path) -> float:
    from workers.engine.loop import run_loop
    from workers.engine.spec import RunSpec

    start = time.perf_counter()
    run_loop(RunSpec.from_dict(SPEC), artifacts_dir=out)
    return time.perf_counter() - start


def headless_command(out: Path, threads: int) -> float:
    spec = out / "spec.json"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(json.dumps(SPEC))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "workers.engine.headless", str(spec), "--out",
                    str(out / "run"), "--quiet", "--threads", str(threads)], cwd=ROOT,
                   check=True, capture_output=True)
    return time.perf_counter() - start


def overhead(workers: Workers, tmp: Path, repeat: int, threads: int) -> dict:
    from django.utils import timezone

    from apps.runs.models import Run

    parts = make_parts("overhead")
    # warm-up: the worker's first run pays for lazy initialisation, as does this process's
    wait_status(launch(parts).pk, ("succeeded",))
    engine_alone(tmp / "warm")
    engine, celery, first = [], [], []
    for i in range(repeat):
        engine.append(engine_alone(tmp / f"engine-{i}"))
        launched = timezone.now()
        start = time.perf_counter()
        run = launch(parts)
        status = wait_status(run.pk, ("succeeded", "failed", "cancelled"))
        celery.append(time.perf_counter() - start)
        if status != "succeeded":
            sys.exit(f"run {run.pk} {status}: {Run.objects.get(pk=run.pk).error}")
        first.append((first_step_at(run.pk) - launched).total_seconds())
    command = headless_command(tmp / "command", threads)
    return {"engine": engine, "celery": celery, "first_step": first, "command": command,
            "ratio": statistics.median(celery) / statistics.median(engine)}


def faults(workers: Workers, fault_runs: int, kills_per_run: int) -> dict:
    from apps.runs.models import Round, Run, RunEvent
    from apps.runs.selectors import run_result_rows
    from apps.runs.sweep import run_sweep_stale

    parts = make_parts("faults")
    reference = launch(parts, seed=1)
    wait_status(reference.pk, ("succeeded",))
    expected = run_result_rows(run=reference)
    kills = completed = lost = duplicated = identical = 0
    for n in range(fault_runs):
        run = launch(parts, seed=1)
        for k in range(kills_per_run):
            # kill in the middle of round k+1's training
            target = min(k + 1, SPEC["rounds"])
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                if RunEvent.objects.filter(run=run, message="train", round=target,
                                           step__gte=SPEC["train"]["steps_per_round"] // 3,
                                           ).exists():
                    break
                time.sleep(0.05)
            holder = Run.objects.get(pk=run.pk).worker.split("@")[0]
            if Run.objects.get(pk=run.pk).status != "running" or holder not in workers.procs:
                continue
            workers.kill(holder)
            kills += 1
            workers.start()
            while not run_sweep_stale(stale_after=timedelta(seconds=3)).requeued:
                time.sleep(0.5)
        status = wait_status(run.pk, ("succeeded", "failed", "cancelled"))
        indices = list(Round.objects.filter(run=run).values_list("index", flat=True))
        completed += status == "succeeded"
        lost += len(set(range(SPEC["rounds"] + 1)) - set(indices))
        duplicated += len(indices) - len(set(indices))
        identical += run_result_rows(run=run) == expected
        print(f"fault run {n + 1}: {status}, rounds {sorted(indices)}", flush=True)
    return {"kills": kills, "runs": fault_runs, "completed": completed, "lost": lost,
            "duplicated": duplicated, "identical": identical}


def report(o: dict, f: dict | None, threads: int) -> str:
    med = statistics.median
    lines = [
        "## Orchestration (Celery workers)",
        "",
        f"`benchmarks/orchestration.py` on {platform.machine()} with {os.cpu_count()} CPU "
        f"cores, CPU only, {threads} torch thread(s), PostgreSQL + Redis on the same machine. "
        f"Spec: tiny student, arithmetic add/sub levels 1-2, oracle teacher, stat_sel, "
        f"{SPEC['rounds']} rounds x {SPEC['train']['steps_per_round']} steps, batch "
        f"{SPEC['train']['batch_size']}, eval {SPEC['task']['eval_size']} items. "
        f"Median of {len(o['engine'])} alternating repeats.",
        "",
        "| measure | value | goal |",
        "| --- | --- | --- |",
        f"| engine alone (`run_loop`, warm process) | {med(o['engine']):.2f} s | |",
        f"| through Celery, launch -> succeeded (warm worker) | {med(o['celery']):.2f} s | |",
        f"| **Celery / engine wall-time ratio** | **{o['ratio']:.3f}** | <= 1.10 |",
        f"| headless command incl. interpreter and torch start-up | {o['command']:.2f} s | |",
        f"| launch -> first training step (warm worker), median / worst | "
        f"{med(o['first_step']):.2f} s / {max(o['first_step']):.2f} s | < 3 s |",
    ]
    if f is not None:
        lines += [
            f"| SIGKILLs injected mid-round | {f['kills']} over {f['runs']} runs | |",
            f"| runs completed | {f['completed']} / {f['runs']} | all |",
            f"| rounds lost / duplicated | {f['lost']} / {f['duplicated']} | 0 / 0 |",
            f"| runs whose rows equal an undisturbed run's | {f['identical']} / {f['runs']} | "
            "all |",
        ]
    lines += [
        "",
        "The Celery path adds the broker hop, the claim, a progress event every 2 s, a "
        "heartbeat every second and one transaction per round; everything else is the same "
        "engine work. The machine is shared, so single timings move by a few percent.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fault-runs", type=int, default=3)
    parser.add_argument("--kills-per-run", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, help="write the markdown section here")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    setup_django()
    import redis
    import torch
    from django.conf import settings

    torch.set_num_threads(args.threads)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("gpu", "default")
    tmp = Path(tempfile.mkdtemp(prefix="studio-orchestration-"))
    settings.STUDIO_ARTIFACTS_DIR = tmp / "artifacts"
    workers = Workers(tmp / "artifacts", tmp, args.threads)
    try:
        workers.start()
        o = overhead(workers, tmp, args.repeat, args.threads)
        f = faults(workers, args.fault_runs, args.kills_per_run) if args.fault_runs else None
    finally:
        workers.stop()
    text = report(o, f, args.threads)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
