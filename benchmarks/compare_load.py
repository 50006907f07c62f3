"""Comparison pages: server time and query count of a 50-run comparison.

Builds the big project of ``benchmarks/page_speed.py`` in a scratch PostgreSQL database
(dropped and created again): 100 skills, 50 finished runs of 20 rounds (21 stored rounds
with round 0), every round with its Missing-Skill-Profile of 100 skills and 5 levels, runs
spread over three strategies. Then requests, with Django's test client, the comparison of
all 50 runs: built from the run list's checkboxes, saved (by strategy, and by run: 50
columns), a saved filter, and the CSV and HTML exports; p50 / p95 server time and queries.
A run's rounds are cached once read (``comparison_rounds``), so the saved comparison is also
measured with the cache emptied before every request (its first view).

Measured twice: with the metrics as ``page_speed`` stores them (no weakest-skill accuracy
in ``Round.metrics``: the page computes it from the stored profiles, one aggregate over
105,000 rows), and after adding ``weakest_skill_accuracy`` and a held-out level (5) to
every round's metrics, as the engine records them.

    .venv/bin/python benchmarks/compare_load.py --repeats 30
    .venv/bin/python benchmarks/compare_load.py --reuse   # the database of an earlier call

``--check`` exits non-zero when a page's p95 is over the budget (200 ms by default; the
exports are reported, not checked).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.page_speed import (  # noqa: E402
    RUNS,
    big_project,
    measure,
    recreate_database,
    setup_django,
)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/studio_bench_compare"


def comparisons(project, user) -> dict:
    from apps.compare.models import Comparison

    run_ids = list(project.runs.order_by("pk").values_list("pk", flat=True))
    assert len(run_ids) == RUNS, len(run_ids)
    Comparison.objects.filter(project=project).delete()
    make = Comparison.objects.create
    return {
        "run_ids": run_ids,
        "strategy": make(project=project, name="by strategy", run_ids=run_ids,
                         created_by=user),
        "run": make(project=project, name="by run", run_ids=run_ids, group_by="run",
                    created_by=user),
        "filter": make(project=project, name="filter", created_by=user,
                       filter={"strategies": ["uniform", "stat_sel", "sec"],
                               "statuses": ["succeeded", "running"]}),
    }


def pages(project, saved: dict) -> list[tuple[str, str, bool]]:
    """(label, url, checked against the budget)."""
    from django.urls import reverse

    picked = "?" + "&".join(f"run={pk}" for pk in saved["run_ids"])
    return [
        ("50 runs from the run list, by strategy",
         reverse("compare:comparison-new", args=[project.pk]) + picked, True),
        ("saved, by strategy", reverse("compare:comparison-detail",
                                       args=[saved["strategy"].pk]), True),
        ("saved, by run (50 columns)", reverse("compare:comparison-detail",
                                               args=[saved["run"].pk]), True),
        ("saved filter (3 strategies, 2 statuses)",
         reverse("compare:comparison-detail", args=[saved["filter"].pk]), True),
        ("export CSV (group x round x skill)",
         reverse("compare:comparison-export", args=[saved["strategy"].pk, "csv"]), False),
        ("export HTML (Plotly inlined)",
         reverse("compare:comparison-export", args=[saved["strategy"].pk, "html"]), False),
    ]


def strip_engine_metrics() -> None:
    """Every round's metrics as ``page_speed`` builds them (no weakest-skill accuracy, no
    held-out numbers), also after an earlier call added them (``--reuse``)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            UPDATE runs_round SET metrics = metrics - 'weakest_skill_accuracy'
              - 'held_out_accuracy' - 'held_out_levels'
            WHERE metrics ? 'weakest_skill_accuracy'""")
        cursor.execute("VACUUM ANALYZE runs_round")


def measure_cold(client, url: str, repeats: int) -> dict:
    """Like ``page_speed.measure`` with the cache emptied before every request: the first
    view of a comparison, before its runs' rounds are cached."""
    import statistics

    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, cpu, queries = [], [], []
    for _ in range(repeats):
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries.append(len(ctx.captured_queries))
    times.sort()
    return {"p50": statistics.median(times),
            "p95": times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))],
            "cpu_p50": statistics.median(cpu), "queries": max(queries),
            "bytes": len(response.content)}


def add_engine_metrics() -> None:
    """Every round's ``weakest_skill_accuracy`` (its profile's lowest accuracy) and a
    held-out level 5, as ``workers/engine/records.py`` and the recorder store them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            UPDATE runs_round r SET metrics = r.metrics
              || jsonb_build_object('weakest_skill_accuracy', s.low,
                                    'held_out_accuracy', s.low,
                                    'held_out_levels', '[5]'::jsonb)
            FROM (SELECT round_id, MIN(accuracy) AS low FROM runs_skillstat
                  WHERE evaluated > 0 GROUP BY round_id) s
            WHERE s.round_id = r.id""")
        cursor.execute("VACUUM ANALYZE runs_round")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
                        help="scratch PostgreSQL database (dropped and created again)")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--budget-ms", type=float, default=200.0)
    parser.add_argument("--check", action="store_true", help="fail when a p95 is over budget")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the project an earlier call built (skip building)")
    args = parser.parse_args(argv)

    if not args.reuse:
        recreate_database(args.database)
    setup_django(args.database)


    project, user = big_project(reuse=args.reuse)

    from django.test import Client

    client = Client()
    client.force_login(user)
    saved = comparisons(project, user)
    over = []
    for phase in ("metrics without weakest-skill accuracy", "metrics as the engine records"):
        if phase.startswith("metrics as"):
            add_engine_metrics()
        else:
            strip_engine_metrics()
        # Recorded rounds never change, so the cached round numbers would not see the
        # edit above: start each phase with an empty cache.
        from django.core.cache import cache

        cache.clear()
        print(f"\n{phase}:")
        print("| page | p50 ms | p95 ms | web CPU p50 ms | queries | KiB |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        rows = [(label, url, checked, False) for label, url, checked in pages(project, saved)]
        rows.insert(2, (rows[1][0] + ", first view (cache emptied)", rows[1][1], True, True))
        for label, url, checked, cold in rows:
            repeats = args.repeats if checked else max(3, args.repeats // 5)
            r = measure_cold(client, url, repeats) if cold else \
                measure(client, url, {}, repeats, args.warmup if checked else 1)
            print(f"| {label} | {r['p50']:.1f} | {r['p95']:.1f} | {r['cpu_p50']:.1f} | "
                  f"{r['queries']} | {r['bytes'] / 1024:.0f} |", flush=True)
            if checked and r["p95"] > args.budget_ms:
                over.append(f"{label} ({phase})")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{os.cpu_count()} CPUs, load average {load:.2f}; {args.repeats} requests per "
          "page (exports: a fifth of that)", file=sys.stderr)
    if over:
        print(f"over the {args.budget_ms:.0f} ms p95 budget: {', '.join(over)}",
              file=sys.stderr)
    return 1 if over and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
