"""Share links: server time and query count of the public pages beside the members' pages.

Builds the big project of ``benchmarks/page_speed.py`` in a scratch PostgreSQL database
(dropped and created again): 100 skills, 50 finished runs of 20 rounds, every round with
its Missing-Skill-Profile of 100 skills and 5 levels. Then requests, with Django's test
client, one run's page as a member and its share link's page without signing in, a
heatmap cell's failed items through the token, and a saved 50-run comparison as a member
and through its link; p50 / p95 server time and queries. The public pages' rate limit is
lifted for the measurement (every request comes from one address).

    .venv/bin/python benchmarks/share_load.py --repeats 30
    .venv/bin/python benchmarks/share_load.py --reuse   # the database of an earlier call
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.page_speed import big_project, measure, recreate_database, setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/studio_bench_share"


def pages(project, user) -> list[tuple[str, str, bool]]:
    """(label, url, signed in)."""
    from django.urls import reverse

    from apps.compare.models import Comparison
    from apps.sharing.models import ShareLink
    from apps.sharing.services import share_link_create

    run = project.runs.order_by("pk").last()
    ShareLink.objects.filter(team=project.team).delete()
    Comparison.objects.filter(project=project, name="share bench").delete()
    comparison = Comparison.objects.create(
        project=project, name="share bench", created_by=user,
        run_ids=list(project.runs.values_list("pk", flat=True)))
    _, run_token = share_link_create(user=user, obj=run)
    _, comparison_token = share_link_create(user=user, obj=comparison)
    skill = run.skill_stats.order_by("-failed").values_list("skill__name", flat=True).first()
    cell = f"?round={run.rounds}&skill={skill}"
    return [
        ("run page (member)", reverse("runs:run-detail", args=[run.pk]), True),
        ("run share link (no sign-in)", reverse("sharing:shared-view", args=[run_token]),
         False),
        ("a heatmap cell through the link",
         reverse("sharing:shared-failures", args=[run_token]) + cell, False),
        ("50-run comparison (member)",
         reverse("compare:comparison-detail", args=[comparison.pk]), True),
        ("50-run comparison share link (no sign-in)",
         reverse("sharing:shared-view", args=[comparison_token]), False),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
                        help="scratch PostgreSQL database (dropped and created again)")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--reuse", action="store_true",
                        help="measure the project an earlier call built (skip building)")
    args = parser.parse_args(argv)

    if not args.reuse:
        recreate_database(args.database)
    setup_django(args.database)
    from django.conf import settings
    from django.test import Client


    settings.STUDIO_RATE_LIMITS = {**getattr(settings, "STUDIO_RATE_LIMITS", {}),
                                   "share-view": (10**9, 60)}
    project, user = big_project(reuse=args.reuse)

    member, anonymous = Client(), Client()
    member.force_login(user)
    print("| page | p50 ms | p95 ms | web CPU p50 ms | queries | KiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, url, signed_in in pages(project, user):
        r = measure(member if signed_in else anonymous, url, {}, args.repeats, args.warmup)
        print(f"| {label} | {r['p50']:.1f} | {r['p95']:.1f} | {r['cpu_p50']:.1f} | "
              f"{r['queries']} | {r['bytes'] / 1024:.0f} |", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{os.cpu_count()} CPUs, load average {load:.2f}; {args.repeats} requests per "
          "page", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
