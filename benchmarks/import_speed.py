"""Import speed: rows per second into PostgreSQL, and peak memory while importing a large
file (streamed: the file is never held whole in memory).

Writes a JSONL file in our format (``prompt``, ``answer``, 1 to 2 of 20 skills, ``level``,
an ``id`` on every row, a tenth of the rows to eval), then runs the import page's two steps
as the worker does, in a scratch PostgreSQL database (dropped and created again): the check
(``import_check``: read, convert, report every bad row) and the import of the good rows
(``example_import``: read again, batches of ``BATCH`` rows inside one transaction). Each
measurement runs in a fresh process, so its peak RSS (``ru_maxrss``) is its own.

    .venv/bin/python benchmarks/import_speed.py                       # both measurements
    .venv/bin/python benchmarks/import_speed.py --rows 100000         # throughput only
    .venv/bin/python benchmarks/import_speed.py --big-mib 200         # memory only
    .venv/bin/python benchmarks/import_speed.py --big-mib 200 --prompt-bytes 40  # 2M rows
    .venv/bin/python benchmarks/import_speed.py --rows 100000 --without-link-fks

``--without-link-fks`` is a what-if, not a setting of the product: it drops the skill links'
two foreign keys in the scratch database before importing, to measure what they cost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.page_speed import recreate_database  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/studio_bench_import"
SKILLS = [f"skill_{i:02d}" for i in range(20)]


def write_file(path: Path, *, rows: int | None = None, mib: int | None = None,
               prompt_bytes: int = 20, seed: int = 0) -> int:
    """A JSONL file of ``rows`` rows, or of about ``mib`` MiB; returns its row count."""
    rng = random.Random(seed)
    limit = mib * 2**20 if mib else None
    written = n = 0
    with open(path, "w", encoding="utf-8") as fh:
        while (rows is None or n < rows) and (limit is None or written < limit):
            a, b = rng.randrange(1000), rng.randrange(1000)
            pad = " " * max(0, prompt_bytes - 12)
            row = {"id": f"r{n}", "prompt": f"{a} + {b} ={pad}", "answer": str(a + b),
                   "skills": rng.sample(SKILLS, rng.randint(1, 2)), "level": 1 + n % 5}
            if n % 10 == 0:
                row["split"] = "eval"
            line = json.dumps(row) + "\n"
            size = len(line.encode())
            if limit is not None and written + size > limit:
                break
            fh.write(line)
            written += size
            n += 1
    return n


def backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a local PostgreSQL backend process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drop_link_fks(connection) -> list[str]:
    """Drop the foreign keys of the Skill-Map (``projects_exampleskill``); their names."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE contype = 'f' AND "
                       "conrelid = 'projects_exampleskill'::regclass")
        names = [row[0] for row in cursor.fetchall()]
        for name in names:
            cursor.execute(f'ALTER TABLE projects_exampleskill DROP CONSTRAINT "{name}"')
    return names


def measure(url: str, path: Path, *, without_link_fks: bool = False) -> dict:
    """Check and import ``path`` into a new project (in this process)."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from apps.accounts.models import Membership, Role, Team
    from apps.projects import imports
    from apps.projects.models import Example, Project

    call_command("migrate", verbosity=0)
    dropped = drop_link_fks(connection) if without_link_fks else []
    settings.DATA_DIR = Path(tempfile.mkdtemp(prefix="import-bench-"))
    user = get_user_model().objects.create_user(f"bench-{os.getpid()}", password="x" * 16)
    team = Team.objects.create(name=f"Bench {os.getpid()}")
    Membership.objects.create(user=user, team=team, role=Role.OWNER)
    project = Project.objects.create(team=team, name="import", created_by=user)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    with open(path, "rb") as fh:
        token = imports.import_store(chunks=iter(lambda: fh.read(1 << 20), b""))
    start, cpu0, db0 = time.perf_counter(), time.process_time(), backend_cpu(backend)
    check = imports.import_check(project=project, token=token, fmt="ours")
    checked, cpu1, db1 = time.perf_counter(), time.process_time(), backend_cpu(backend)
    steps: dict[str, float] = {}  # when step 2 (the skill links) started

    def linking(done: int, total: int) -> None:
        steps.setdefault("links", time.perf_counter())

    result = imports.example_import(user=user, project=project, token=token, fmt="ours",
                                    linking=linking)
    done, cpu2, db2 = time.perf_counter(), time.process_time(), backend_cpu(backend)
    links_at = steps.get("links", done)
    imports.import_discard(token=token)
    assert result["imported"] == check.good == Example.objects.filter(project=project).count()
    n = check.good
    return {
        "link_fks_dropped": len(dropped),
        "rows": n, "bad": check.bad, "file_mib": round(path.stat().st_size / 2**20, 1),
        "check_s": round(checked - start, 2), "import_s": round(done - checked, 2),
        # the import's two steps as its progress shows them: rows, then skill links
        "rows_step_s": round(links_at - checked, 2), "links_step_s": round(done - links_at, 2),
        "check_rows_per_s": round(n / (checked - start)),
        "import_rows_per_s": round(n / (done - checked)),
        "end_to_end_rows_per_s": round(n / (done - start)),
        # CPU seconds of this process and of its PostgreSQL backend: what the import costs
        # whatever else the machine runs; rows / (web + database CPU) is the rate of one
        # import on an otherwise idle machine with a core each.
        "check_cpu_s": round(cpu1 - cpu0, 2), "check_db_cpu_s": round(db1 - db0, 2),
        "import_cpu_s": round(cpu2 - cpu1, 2), "import_db_cpu_s": round(db2 - db1, 2),
        "import_rows_per_cpu_s": round(n / (cpu2 - cpu1 + db2 - db1)),
        "end_to_end_rows_per_cpu_s": round(n / (cpu2 - cpu0 + db2 - db0)),
        "rss_after_setup_mib": round(rss_before, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def in_child(url: str, path: Path, *, without_link_fks: bool = False) -> dict:
    extra = ["--without-link-fks"] if without_link_fks else []
    out = subprocess.run([sys.executable, __file__, "--child", str(path), "--database", url,
                          *extra], check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--database", default=DEFAULT_DB)
    p.add_argument("--rows", type=int, default=None, help="throughput: rows of the file")
    p.add_argument("--big-mib", type=int, default=None, help="memory: size of the big file")
    p.add_argument("--prompt-bytes", type=int, default=2000,
                   help="memory: the length of each prompt of the big file")
    p.add_argument("--without-link-fks", action="store_true",
                   help="what-if: drop the skill links' foreign keys before importing")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(measure(args.database, args.child,
                                 without_link_fks=args.without_link_fks)))
        return
    if args.rows is None and args.big_mib is None:
        args.rows, args.big_mib = 100_000, 200
    recreate_database(args.database)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.rows:
            small = Path(tmp) / "rows.jsonl"
            write_file(small, rows=args.rows)
            results["throughput"] = in_child(args.database, small,
                                             without_link_fks=args.without_link_fks)
            print(json.dumps({"throughput": results["throughput"]}), flush=True)
            small.unlink()
        if args.big_mib:
            big = Path(tmp) / "big.jsonl"
            write_file(big, mib=args.big_mib, prompt_bytes=args.prompt_bytes)
            results["memory"] = in_child(args.database, big,
                                         without_link_fks=args.without_link_fks)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
