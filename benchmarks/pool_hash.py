"""A run's pool recorded at launch: what counting and hashing the project's dataset costs.

Builds, in a scratch PostgreSQL database (dropped and created again), one project with
``--examples`` train examples (100,000 by default) in its dataset, each with one or two of
30 skills, plus ``--synthesized`` (20,000) synthesized items of a run that are not in it.
Then measures, ``--repeats`` times each (p50 / max):

- ``pool_summary``: the launch side, three queries and a sha256 over the sorted
  (prompt, answer, level, skills) of every pool item, and its query count;
- the worker side: ``run_items`` (the pool as engine items) and ``pool_check`` (the hash
  again over those items), apart.

    .venv/bin/python benchmarks/pool_hash.py
    .venv/bin/python benchmarks/pool_hash.py --examples 10000 --repeats 3
    .venv/bin/python benchmarks/pool_hash.py --reuse   # the database of an earlier call
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.page_speed import recreate_database, setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/studio_bench_pool"
SKILLS = 30


def build(*, examples: int, synthesized: int, seed: int = 0):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from apps.accounts.models import Membership, Role, Team
    from apps.curricula.models import Curriculum
    from apps.projects.models import Example, ExampleSkill, Project, Skill
    from apps.prompts.models import TeacherConfig
    from apps.runs.models import Round, Run, StudentSpec

    rng = random.Random(seed)
    now = timezone.now()
    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    team = Team.objects.create(name="Bench team")
    Membership.objects.create(user=user, team=team, role=Role.OWNER)
    project = Project.objects.create(team=team, name="Big pool", created_by=user)
    skills = Skill.objects.bulk_create([Skill(project=project, name=f"skill_{i:02d}")
                                        for i in range(SKILLS)])
    run = Run.objects.create(
        project=project, name="synth", created_by=user,
        student=StudentSpec.objects.create(project=project, name="tiny", preset="tiny"),
        teacher_config=TeacherConfig.objects.create(project=project, name="o", kind="oracle"),
        curriculum=Curriculum.objects.create(project=project, name="u", strategy="uniform"))
    rnd = Round.objects.create(run=run, index=1)
    rows = [Example(project=project, prompt=f"{rng.randrange(10**6)}+{i}=", answer=str(i),
                    level=1 + i % 5, added_at=now) for i in range(examples)]
    rows += [Example(project=project, prompt=f"synth {i}", answer="0", level=1, round=rnd,
                     origin=Example.Origin.SYNTHESIZED, review_status="pending",
                     key=f"run{run.pk}-synth-{i}") for i in range(synthesized)]
    made = Example.objects.bulk_create(rows, batch_size=5000)
    ExampleSkill.objects.bulk_create(
        [ExampleSkill(example=e, skill=s) for e in made
         for s in rng.sample(skills, 1 + (e.pk % 2))], batch_size=10000)
    Run.objects.filter(pk=run.pk).update(created_at=timezone.now())
    run.refresh_from_db()
    return project, run


def timed(fn, repeats: int) -> tuple[list[float], object]:
    out, value = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        value = fn()
        out.append(time.perf_counter() - started)
    return out, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--synthesized", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="measure an earlier call's data")
    args = parser.parse_args()
    if not args.reuse:
        recreate_database(args.db)
    setup_django(args.db)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.runs.models import Run
    from apps.runs.pool import pool_check, pool_summary, run_pool_record
    from apps.runs.selectors import run_items

    started = time.perf_counter()
    if args.reuse:
        run = Run.objects.select_related("project").get(name="synth")
        project = run.project
    else:
        project, run = build(examples=args.examples, synthesized=args.synthesized)
        print(f"built {args.examples:,} dataset examples + {args.synthesized:,} synthesized "
              f"in {time.perf_counter() - started:.1f} s")
    run_pool_record(run=run)
    assert run.pool_count == project.examples.filter(added_at__isnull=False).count()
    with CaptureQueriesContext(connection) as queries:
        pool_summary(project_id=project.pk, at=run.created_at)
    launch, _ = timed(lambda: pool_summary(project_id=project.pk, at=run.created_at),
                      args.repeats)
    load, pools = timed(lambda: run_items(run=run)[0], args.repeats)
    check, _ = timed(lambda: pool_check(run=run, items=pools), args.repeats)

    def line(name: str, values: list[float]) -> str:
        return (f"| {name} | {statistics.median(values) * 1000:,.0f} | "
                f"{max(values) * 1000:,.0f} |")

    print(f"\npool of {run.pool_count:,} items, hash {run.pool_hash[:12]}; "
          f"pool_summary: {len(queries)} queries\n")
    print("| step | p50 ms | max ms |\n| --- | ---: | ---: |")
    print(line("launch: pool_summary (count + hash)", launch))
    print(line("worker: run_items (pool as items)", load))
    print(line("worker: pool_check (hash again)", check))


if __name__ == "__main__":
    main()
