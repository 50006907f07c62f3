"""Review load: the review queue, its decisions and bulk decisions on a big project.

Builds, in a scratch database (PostgreSQL: dropped and created again; SQLite: a new file in
a temporary folder), one project with ``--examples`` examples (100,000 by default) of which
``--pending`` (20,000) are teacher-made items waiting for review, spread over 10 runs of 10
rounds, with their lineage (teacher solutions, agreement, triggering item, references),
20,000 reviewed teacher items (accepted, edited, rejected) with their decisions, and 30
skills. Then, with Django's test client (server time: the wall time of the request in the
web process, database included), it measures p50 / p95 of:

- the queue page: the first page, a page deep in the queue (keyset cursor), filtered by
  skill and level, a text search, and every status;
- each decision: accept, reject, edit, undo (one request each, on different items);
- a bulk accept of the half of the pending items (10,000 by default) that match a filter
  (2 agreeing teacher solutions), and its undo, with their query counts;
- the plan of the text search (PostgreSQL: the trigram indexes).

    .venv/bin/python benchmarks/review_load.py
    .venv/bin/python benchmarks/review_load.py --sqlite --repeats 10
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.page_speed import recreate_database, setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/studio_bench_review"
SKILLS = 30
LEVELS = 5
RUNS = 10
ROUNDS = 10
WORDS = ("carry", "borrow", "digit", "column", "sum", "difference", "apples", "trains",
         "marbles", "coins", "pages", "minutes", "tiles", "boxes", "steps", "rows")


def build(*, examples: int, pending: int, seed: int = 0) -> dict:
    """The big project; returns what the measurements need."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from apps.accounts.models import Membership, Role, Team
    from apps.curricula.models import Curriculum
    from apps.projects.models import Example, ExampleSkill, Project, Skill
    from apps.prompts.models import TeacherConfig
    from apps.review.models import ReviewDecision
    from apps.runs.models import EvalFailure, Round, Run, RunStatus, StudentSpec

    rng = random.Random(seed)
    now = timezone.now()
    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    team = Team.objects.create(name="Bench team")
    Membership.objects.create(user=user, team=team, role=Role.OWNER)
    project = Project.objects.create(team=team, name="Big review", created_by=user)
    skills = Skill.objects.bulk_create([Skill(project=project, name=f"skill_{i:02d}")
                                        for i in range(SKILLS)])
    teacher = TeacherConfig.objects.create(project=project, name="oracle", kind="oracle")
    curriculum = Curriculum.objects.create(project=project, name="stat", strategy="uniform")
    student = StudentSpec.objects.create(project=project, name="tiny", preset="tiny")
    runs = Run.objects.bulk_create([
        Run(project=project, name=f"synth run {i}", student=student, teacher_config=teacher,
            curriculum=curriculum, rounds=ROUNDS, status=RunStatus.SUCCEEDED, seed=i,
            synth_requires_review=True, created_by=user) for i in range(RUNS)])
    rounds = Round.objects.bulk_create([
        Round(run=run, index=i, plan={"entries": [
            {"skill": s.name, "level": 1 + (i % LEVELS), "count": 50, "source": "synth",
             "reason": "weak"} for s in skills[:5]]})
        for run in runs for i in range(1, ROUNDS + 1)])
    teacher_made = 2 * pending  # as many reviewed teacher items as pending ones
    plain = examples - teacher_made
    if plain < 0:
        raise SystemExit("--examples must be at least twice --pending")

    def text(i: int) -> str:
        a, b = rng.randint(10, 99_999), rng.randint(10, 99_999)
        return f"{rng.choice(WORDS)} {rng.choice(WORDS)} item{i}: what is {a} + {b}?"

    rows = []
    for i in range(plain):
        rows.append(Example(project=project, key=f"seed-{i}", prompt=text(i),
                            answer=str(rng.randint(0, 10**6)), level=1 + i % LEVELS,
                            origin=Example.Origin.SEED if i % 5 else Example.Origin.IMPORTED,
                            review_status=Example.ReviewStatus.APPROVED, added_at=now))
    # Pending items: the first ``pending`` teacher-made ones, spread evenly over the runs, so
    # the first half of the runs holds half of them (the bulk filter).
    for j in range(teacher_made):
        i = plain + j
        rnd = rounds[(j % pending if j < pending else j) * len(rounds) // max(pending, 1)
                     % len(rounds)]
        agree = 2 + j % 2  # every other pending item: 2 of 3 solutions agree
        answer = str(rng.randint(0, 10**6))
        solutions = [answer] * agree + ["7"] * (3 - agree)
        if j < pending:
            status, by, at, suggestion = Example.ReviewStatus.PENDING, None, None, {}
        else:
            k = j % 5
            status = Example.ReviewStatus.REJECTED if k == 0 else Example.ReviewStatus.APPROVED
            by, at = user, now
            suggestion = {"prompt": "teacher's", "answer": "1", "level": 1,
                          "skills": ["skill_00"]} if k == 1 else {}
        rows.append(Example(
            project=project, key=f"syn-{j}", prompt=text(i), answer=answer,
            level=1 + j % LEVELS, origin=Example.Origin.SYNTHESIZED, review_status=status,
            round=rnd, teacher_kind="oracle", reviewed_by=by, reviewed_at=at,
            suggestion=suggestion,
            meta={"teacher": "oracle", "solutions": solutions, "agreement": agree,
                  "n_solutions": 3, "trigger_item": f"seed-{j % max(plain, 1)}",
                  "references": [f"seed-{(j + 1) % max(plain, 1)}"],
                  "prompt_version": "synthesize v1"}))
    made = Example.objects.bulk_create(rows, batch_size=5000)
    ExampleSkill.objects.bulk_create([
        ExampleSkill(example=e, skill=s) for e in made
        for s in rng.sample(skills, rng.randint(1, 2))], batch_size=10_000)
    reviewed = made[plain + pending:]
    ReviewDecision.objects.bulk_create([
        ReviewDecision(project=project, example=e, user=user,
                       action="reject" if e.review_status == "rejected"
                       else ("edit" if e.suggestion else "accept"),
                       prev_status="pending", version_before=1, version_after=2,
                       created_at=now) for e in reviewed], batch_size=5000)
    EvalFailure.objects.bulk_create([
        EvalFailure(run=rnd.run, round=rnd, item_id=f"seed-{n}", prompt="x", answer="1",
                    prediction="2", level=1, skills=["skill_00"], blamed=["skill_00"])
        for n, rnd in enumerate(rounds) for _ in range(5)])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return {"user": user, "project": project, "runs": runs, "skills": skills}


CPU: list[float] = []  # the web process's own CPU time of each timed call


def existing() -> dict:
    """What ``build`` returned, read back from the database (``--reuse``)."""
    from django.contrib.auth import get_user_model

    from apps.projects.models import Project, Skill
    from apps.runs.models import Run

    project = Project.objects.get(name="Big review")
    return {"user": get_user_model().objects.get(username="bench"), "project": project,
            "runs": list(Run.objects.filter(project=project).order_by("pk")),
            "skills": list(Skill.objects.filter(project=project).order_by("pk"))}


def timed(fn, repeats: int) -> list[float]:
    out = []
    CPU.clear()
    for i in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
        CPU.append((time.process_time() - cpu) * 1000)
    return out


def row(name: str, ms: list[float], extra: str = "") -> None:
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[18] if len(ms) >= 2 else ms[0]
    cpu = statistics.median(CPU) if CPU else 0
    print(f"| {name} | {statistics.median(ms):.0f} | {p95:.0f} | {max(ms):.0f} | {cpu:.0f} "
          f"| {extra} |", flush=True)


class Queries:
    """Counts the queries and their time on the connection (a wrapper, so it holds across
    the connection's reopening between requests)."""

    def __init__(self):
        self.n, self.ms = 0, 0.0
        self.slowest = (0.0, "")

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            ms = (time.perf_counter() - start) * 1000
            self.n += 1
            self.ms += ms
            self.slowest = max(self.slowest, (ms, sql[:60]))


def CaptureQueriesContext(connection):  # noqa: N802 (reads like Django's)
    import contextlib

    @contextlib.contextmanager
    def capture():
        counter = Queries()
        with connection.execute_wrapper(counter):
            yield counter
    return capture()


def measure(world: dict, *, repeats: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from apps.projects.models import Example
    from apps.review.bulk import bulk_targets
    from apps.review.filters import ReviewFilter

    project, user = world["project"], world["user"]
    client = Client()
    client.force_login(user)
    queue = reverse("review:queue", args=[project.pk])
    deep = (Example.objects.filter(project=project, review_status="pending")
            .order_by("id").values_list("id", flat=True)[15_000 - 1:15_000].first())
    skill = world["skills"][3].pk

    def get(params, url=queue):
        headers = {"HX-Request": "true"} if params.pop("htmx", False) else {}

        def fn(_):
            response = client.get(url, params, headers=headers)
            assert response.status_code == 200, response.status_code
        return fn

    print("| request | p50 ms | p95 ms | max ms | web CPU p50 ms | notes |\n"
          "|---|---|---|---|---|---|")
    facets = reverse("review:facets", args=[project.pk])
    cases = [
        ("queue, first page (pending), whole page", {}),
        ("queue as htmx swaps it in after a decision", {"htmx": True}),
        ("  + its filter counts (loaded next)", {"url": facets}),
        ("queue, page after 15,000 items (keyset)", {"after": f"0.{deep}"}),
        ("queue, skill + level filter", {"skill": skill, "level": 2}),
        ("queue, text search 'item4242'", {"q": "item4242"}),
        ("queue, text search 'marbles coins'", {"q": "marbles coins"}),
        ("queue, every status (pending first)", {"status": "any"}),
        ("example browser, every status", None),
        ("reference: the project list (21 ms p50 on a quiet machine, page speed above)",
         {"url": reverse("projects:project-list")}),
    ]
    for name, params in cases:
        if params is not None and "url" in params:
            fn = get({}, url=params["url"])
        elif params is None:
            url = reverse("review:example-list", args=[project.pk])

            def fn(_, url=url):
                assert client.get(url).status_code == 200
        else:
            fn = get(params)
        with CaptureQueriesContext(connection) as ctx:
            fn(0)
        row(name, timed(fn, repeats), f"{ctx.n} queries, {ctx.ms:.0f} ms in the database")

    ids = list(Example.objects.filter(project=project, review_status="pending")
               .order_by("-id").values_list("id", flat=True)[:4 * repeats])

    def decide(action, extra):
        def fn(i):
            pk = ids.pop()
            url = reverse("review:decide", args=[project.pk, pk])
            response = client.post(url, {"action": action, "version": 1, **extra})
            assert response.status_code == 302, response.content[:300]
        return fn

    for action, extra in (("accept", {"add_to_dataset": "1"}),
                          ("reject", {"reason": "duplicate"}),
                          ("edit", {"prompt": "edited question", "answer": "12",
                                    "skills": "skill_01", "level": "2"})):
        row(f"decision: {action}", timed(decide(action, extra), repeats))
    undo = reverse("review:undo", args=[project.pk])
    row("decision: undo", timed(lambda i: client.post(undo), repeats))

    # Bulk: the pending items with 2 agreeing solutions (every other one: ``bulk``).
    bulk_url = reverse("review:bulk", args=[project.pk])
    params = {"status": "pending", "agreement": "2", "action": "accept"}
    count = bulk_targets(project=project, f=ReviewFilter(status="pending", agreement=2),
                         action="accept", add_to_dataset=True).count()
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        response = client.post(bulk_url, {**params, "add_to_dataset": "on", "expected": count})
        ms = (time.perf_counter() - start) * 1000
    assert response.status_code == 302
    accepted = Example.objects.filter(project=project, review_status="approved",
                                      reviewed_by=user, meta__agreement=2).count()
    print(f"\nbulk accept (POST, agreement=2 among pending): {count} items, {ms:.0f} ms, "
          f"{ctx.n} queries; {accepted} accepted after; slowest query {ctx.slowest[0]:.0f} ms: "
          f"{ctx.slowest[1]}")
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        response = client.post(undo)
        ms = (time.perf_counter() - start) * 1000
    left = Example.objects.filter(project=project, review_status="pending").count()
    print(f"bulk undo (POST): {ms:.0f} ms, {ctx.n} queries; {left} pending after; slowest "
          f"query {ctx.slowest[0]:.0f} ms: {ctx.slowest[1]}")
    explain(project)


def explain(project) -> None:
    from django.db import connection

    from apps.review.filters import ReviewFilter, filtered_examples

    qs = filtered_examples(project, ReviewFilter(status="pending", q="item4242")).order_by("id")
    plan = qs[:51].explain() if connection.vendor != "postgresql" \
        else qs[:51].explain(analyze=True)
    print("\nplan of the text search 'item4242' (pending, first page):")
    for line in plan.splitlines():
        print("    " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--sqlite", action="store_true",
                        help="measure on SQLite (a new file in a temporary folder)")
    parser.add_argument("--sqlite-url", default="",
                        help="with --sqlite: this file (sqlite:////folder/name.sqlite3)")
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--pending", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--reuse", action="store_true",
                        help="measure the project an earlier run built, without building")
    args = parser.parse_args()
    if args.reuse:
        setup_django(args.sqlite_url if args.sqlite else args.database)
        measure(existing(), repeats=args.repeats)
        return
    if args.sqlite:
        url = args.sqlite_url or f"sqlite:///{tempfile.mkdtemp(prefix='review-load-')}/b.sqlite3"
    else:
        url = args.database
        recreate_database(url)
    os.environ.setdefault("STUDIO_DATA_DIR", tempfile.mkdtemp(prefix="review-load-data-"))
    setup_django(url)
    start = time.perf_counter()
    world = build(examples=args.examples, pending=args.pending)
    from django.db import connection

    print(f"{connection.vendor}: built {args.examples:,} examples ({args.pending:,} pending) "
          f"in {time.perf_counter() - start:.0f} s\n")
    measure(world, repeats=args.repeats)


if __name__ == "__main__":
    main()
