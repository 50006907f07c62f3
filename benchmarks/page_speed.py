"""Page speed: server time and query count of every page on a big project.

Builds, in a scratch PostgreSQL database (dropped and created again), a project with 100
skills, 10,000 examples and 50 finished runs of 20 rounds each (every round with its
Missing-Skill-Profile of 100 skills, 5 difficulty levels, a curriculum state and log
events), then requests every page with Django's test client and reports p50 / p95 server
time and the number of queries per page. Server time is the wall time of the request in
the web process (database included); "web CPU" is the web process's own CPU time, which
tells a slow page from a busy machine.

    .venv/bin/python benchmarks/page_speed.py --repeats 30
    .venv/bin/python benchmarks/page_speed.py --database postgres://postgres@127.0.0.1:5432/studio_bench_pages

``--check`` exits non-zero when a page's p95 is over the budget (100 ms by default).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/studio_bench_pages"
SKILLS = 100
EXAMPLES = 10_000
RUNS = 50
ROUNDS = 20
LEVELS = 5
EVENTS_PER_RUN = 80


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing database name {name!r}: letters, digits and _ only")
    admin = urlunsplit((parts.scheme.replace("postgres", "postgresql", 1)
                        if parts.scheme == "postgres" else parts.scheme,
                        parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # The test client's host, without setup_test_environment(): that one instruments every
    # template render (a signal and a copy of the context per template, form widgets
    # included), which production does not pay and which would be measured as page time.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)


def big_project(*, reuse: bool) -> tuple:
    """(project, user) of the big project: the one already in the database with ``reuse``,
    else built now (the build time goes to stderr)."""
    from django.contrib.auth import get_user_model

    from apps.projects.models import Project

    if reuse:
        return (Project.objects.get(name="Big arithmetic"),
                get_user_model().objects.get(username="bench"))
    started = time.perf_counter()
    objs = build()
    print(f"built the project in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return objs["project"], objs["user"]


def build(seed: int = 0) -> dict:
    """The big project; returns the objects whose pages are measured."""
    from django.contrib.auth import get_user_model

    from apps.accounts.models import Membership, Role, Team
    from apps.curricula.models import Curriculum
    from apps.projects.models import Example, ExampleSkill, Project, Skill
    from apps.prompts.models import TeacherConfig
    from apps.prompts.services import prompt_defaults_install
    from apps.runs.models import (
        LevelStat,
        Round,
        Run,
        RunEvent,
        RunStatus,
        SkillStat,
        StudentSpec,
    )

    rng = random.Random(seed)
    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    team = Team.objects.create(name="Bench team")
    Membership.objects.create(user=user, team=team, role=Role.OWNER)
    project = Project.objects.create(team=team, name="Big arithmetic", task_family="arithmetic",
                                     require_review=False, created_by=user)
    roots = Skill.objects.bulk_create([
        Skill(project=project, name=f"area_{i:02d}", description=f"skill area {i}",
              origin=Skill.Origin.BUILTIN) for i in range(10)
    ])
    children = Skill.objects.bulk_create([
        Skill(project=project, name=f"skill_{i:03d}", description=f"skill {i}",
              parent=roots[i % 10], origin=Skill.Origin.MANUAL) for i in range(SKILLS - 10)
    ])
    skills = roots + children
    splits = [Example.Split.TRAIN] * 8 + [Example.Split.EVAL] * 2
    examples = Example.objects.bulk_create([
        Example(project=project, key=f"item-{i}", prompt=f"{i} + {i * 7 % 1000} =",
                answer=str(i + i * 7 % 1000), level=1 + i % LEVELS, split=splits[i % 10],
                origin=Example.Origin.SEED)
        for i in range(EXAMPLES)
    ], batch_size=2000)
    ExampleSkill.objects.bulk_create([
        ExampleSkill(example=e, skill=s)
        for e in examples for s in rng.sample(skills, rng.randint(1, 3))
    ], batch_size=5000)

    teacher = TeacherConfig.objects.create(project=project, name="oracle", kind="oracle")
    prompt_defaults_install(user=user, project=project)
    curricula = [
        Curriculum.objects.create(project=project, name=name, strategy=strategy, params=params)
        for name, strategy, params in (
            ("uniform", "uniform", {}), ("targeted", "stat_sel", {"k": 5, "uniform_floor": 0.1}),
            ("bandit", "sec", {"tau": 1.0, "alpha": 0.5, "sampling": "multinomial"}),
        )
    ]
    student = StudentSpec.objects.create(project=project, name="tiny", preset="tiny")

    runs = Run.objects.bulk_create([
        Run(project=project, name=f"run {i:02d}", student=student, teacher_config=teacher,
            curriculum=curricula[i % 3], rounds=ROUNDS, steps_per_round=100, eval_size=200,
            seed=i, status=RunStatus.SUCCEEDED, current_round=ROUNDS, created_by=user,
            spec={"rounds": ROUNDS, "seed": i})
        for i in range(RUNS)
    ])
    levels = list(range(1, LEVELS + 1))
    rounds = []
    for run in runs:
        strategy = curricula[runs.index(run) % 3].strategy
        for index in range(ROUNDS + 1):
            accuracy = min(1.0, 0.1 + index * 0.04 + rng.random() * 0.05)
            if strategy == "sec":
                state = {"q": {str(lv): rng.random() for lv in levels},
                         "last_rewards": {str(lv): rng.random() for lv in levels},
                         "probabilities": {str(lv): 1 / LEVELS for lv in levels},
                         "updates": index}
            elif strategy == "stat_sel":
                state = {"round": index,
                         "pairs": [[s.name, rng.choice(levels), rng.randint(1, 9)]
                                   for s in rng.sample(skills, 30)],
                         "unplaced_pairs": 0,
                         "skill_weights": {s.name: rng.random() / SKILLS for s in skills},
                         "level_shares": {str(lv): 1 / LEVELS for lv in levels}}
            else:
                state = {}
            rounds.append(Round(
                run=run, index=index, curriculum_state=state,
                plan={"entries": [{"skill": None, "level": None, "count": 3200,
                                   "source": "pool", "reason": "uniform"}]},
                metrics={"accuracy": accuracy, "seconds": 30.0, "train_loss": 1.0 / (index + 1),
                         "skill_accuracy": {s.name: rng.random() for s in skills}},
            ))
    rounds = Round.objects.bulk_create(rounds, batch_size=500)
    stats, level_stats = [], []
    for rnd in rounds:
        misses = {s.pk: rng.randint(0, 20) for s in skills}
        total = sum(misses.values()) or 1
        for s in skills:
            stats.append(SkillStat(
                run_id=rnd.run_id, round=rnd, skill=s, evaluated=20, failed=misses[s.pk],
                miss_rate=misses[s.pk] / 20, miss_share=misses[s.pk] / total,
                accuracy=1 - misses[s.pk] / 20))
        for lv in levels:
            level_stats.append(LevelStat(
                run_id=rnd.run_id, round=rnd, level=lv, sampling_probability=1 / LEVELS,
                success_rate=rng.random(), strategy_score=rng.random(), samples=640,
                evaluated=40))
    SkillStat.objects.bulk_create(stats, batch_size=5000)
    LevelStat.objects.bulk_create(level_stats, batch_size=5000)
    RunEvent.objects.bulk_create([
        RunEvent(run=run, kind=RunEvent.Kind.PROGRESS if i % 2 else RunEvent.Kind.LOG,
                 round=i * ROUNDS // EVENTS_PER_RUN, step=i, total_steps=EVENTS_PER_RUN,
                 loss=1.0, message="train" if i % 2 else f"event {i}")
        for run in runs for i in range(EVENTS_PER_RUN)
    ], batch_size=5000)
    # The newest run is still running: its page polls, with the controls of a live run.
    Run.objects.filter(pk=runs[-1].pk).update(status=RunStatus.RUNNING)
    # Planner statistics and visibility map, as autovacuum would have them on a database
    # that has held this data for a while (bulk-loaded tables have none yet).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {
        "user": user, "project": project, "skill": children[0], "teacher": teacher,
        "prompt": project.prompts.order_by("pk").first(), "curriculum": curricula[1],
        "run": runs[-1],
    }


def existing() -> dict:
    """The objects of a project built by an earlier call (``--reuse``)."""
    from django.contrib.auth import get_user_model

    from apps.projects.models import Project

    project = Project.objects.get(name="Big arithmetic")
    return {
        "user": get_user_model().objects.get(username="bench"), "project": project,
        "skill": project.skills.get(name="skill_000"), "teacher": project.teachers.get(),
        "prompt": project.prompts.order_by("pk").first(),
        "curriculum": project.curricula.get(name="targeted"),
        "run": project.runs.get(status="running"),
    }


def pages(objs: dict) -> list[tuple[str, str, dict]]:
    """(label, url, extra headers) of every page; pages whose URL is not there are left out."""
    from django.urls import NoReverseMatch, reverse

    p, run = objs["project"].pk, objs["run"].pk
    wanted = [
        ("home", "core:home", [], {}),
        ("project list", "projects:project-list", [], {}),
        ("project detail", "core:project-detail", [p], {}),
        ("skills", "projects:skill-list", [p], {}),
        ("skill detail", "projects:skill-detail", [p, objs["skill"].pk], {}),
        ("teachers", "prompts:teacher-list", [p], {}),
        ("teacher", "prompts:teacher-edit", [p, objs["teacher"].pk], {}),
        ("teacher prompts", "prompts:prompt-list", [p], {}),
        ("teacher prompt", "prompts:prompt-detail", [p, objs["prompt"].pk], {}),
        ("curricula", "curricula:curriculum-list", [p], {}),
        ("curriculum new", "curricula:curriculum-new", [p], {}),
        ("curriculum edit", "curricula:curriculum-detail", [objs["curriculum"].pk], {}),
        ("curriculum params (htmx)", "curricula:curriculum-params", [p],
         {"query": "?strategy=stat_syn"}),
        ("runs", "runs:run-list", [p], {}),
        ("runs table (htmx)", "runs:run-list", [p], {"headers": {"HTTP_HX_REQUEST": "true"}}),
        ("run launch form", "runs:run-new", [p], {}),
        ("run page", "runs:run-detail", [run], {}),
        ("run page sorted by change", "runs:run-detail", [run], {"query": "?sort=-delta"}),
        ("run live (htmx)", "runs:run-live", [run], {"headers": {"HTTP_HX_REQUEST": "true"}}),
    ]
    out = []
    for label, name, args, extra in wanted:
        try:
            url = reverse(name, args=args) + extra.get("query", "")
        except NoReverseMatch:
            print(f"  (no URL named {name!r}: {label} left out)", file=sys.stderr)
            continue
        out.append((label, url, extra.get("headers", {})))
    return out


def measure(client, url: str, headers: dict, repeats: int, warmup: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        response = client.get(url, **headers)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    times, cpu, queries = [], [], []
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as ctx:
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(url, **headers)
            elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        assert response.status_code == 200, (url, response.status_code)
        times.append(elapsed * 1000)
        cpu.append(elapsed_cpu * 1000)
        queries.append(len(ctx.captured_queries))
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))],
        "cpu_p50": statistics.median(cpu),
        "queries": max(queries),
        "bytes": len(response.content),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
                        help="scratch PostgreSQL database (dropped and created again)")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--budget-ms", type=float, default=100.0)
    parser.add_argument("--check", action="store_true", help="fail when a p95 is over budget")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the project an earlier call built (skip building)")
    parser.add_argument("--only", default="", help="measure only pages whose label has this")
    args = parser.parse_args(argv)

    if args.reuse:
        setup_django(args.database)
        objs = existing()
    else:
        recreate_database(args.database)
        setup_django(args.database)
        started = time.perf_counter()
        objs = build()
        print(f"built the project in {time.perf_counter() - started:.1f} s "
              f"({SKILLS} skills, {EXAMPLES} examples, {RUNS} runs x {ROUNDS} rounds)",
              file=sys.stderr)

    from django.test import Client

    client = Client()
    client.force_login(objs["user"])
    rows = []
    for label, url, headers in pages(objs):
        if args.only and args.only not in label:
            continue
        result = measure(client, url, headers, args.repeats, args.warmup)
        rows.append((label, url, result))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.2f} while measuring; "
          f"{args.repeats} requests per page", file=sys.stderr)
    print("| page | URL | p50 ms | p95 ms | web CPU p50 ms | queries | KiB |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for label, url, r in rows:
        print(f"| {label} | `{url}` | {r['p50']:.1f} | {r['p95']:.1f} | {r['cpu_p50']:.1f} | "
              f"{r['queries']} | {r['bytes'] / 1024:.0f} |")
    over = [label for label, _, r in rows if r["p95"] > args.budget_ms]
    if over:
        print(f"\nover the {args.budget_ms:.0f} ms p95 budget: {', '.join(over)}", file=sys.stderr)
    return 1 if over and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
