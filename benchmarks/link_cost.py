"""What a skill link (a row of the Skill-Map, ``projects_exampleskill``) costs PostgreSQL
during an import, by what the table carries: the import's largest share of database time.

In a scratch database (dropped and created again) it makes ``examples`` examples and 20
skills, then copies about 1.5 links an example (``COPY``, as the import writes them) into
a link table built four ways, each time in a transaction that is rolled back, best of
``--repeat``:

- ``now``: the table as it is (surrogate id, unique (example, skill), index (skill,
  example), a foreign key to the example and one to the skill);
- ``no_fks``: the same without the two foreign keys;
- ``skill_fk_only`` and ``example_fk_only``: the same with one of the two;
- ``pk_pair``: (example, skill) as the primary key, no surrogate id, the index and the
  foreign keys kept;
- ``pk_pair_no_fks``: that without the foreign keys.

    .venv/bin/python benchmarks/link_cost.py
    .venv/bin/python benchmarks/link_cost.py --examples 200000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.page_speed import recreate_database  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/studio_bench_links"
FKS = ("REFERENCES ex (id) DEFERRABLE INITIALLY DEFERRED",
       "REFERENCES sk (id) DEFERRABLE INITIALLY DEFERRED")

VARIANTS = {
    "now": f"""CREATE TABLE links (id bigserial PRIMARY KEY,
                   example_id bigint NOT NULL {FKS[0]}, skill_id bigint NOT NULL {FKS[1]},
                   UNIQUE (example_id, skill_id));
               CREATE INDEX ON links (skill_id, example_id);""",
    "no_fks": """CREATE TABLE links (id bigserial PRIMARY KEY,
                   example_id bigint NOT NULL, skill_id bigint NOT NULL,
                   UNIQUE (example_id, skill_id));
               CREATE INDEX ON links (skill_id, example_id);""",
    "skill_fk_only": f"""CREATE TABLE links (id bigserial PRIMARY KEY,
                   example_id bigint NOT NULL, skill_id bigint NOT NULL {FKS[1]},
                   UNIQUE (example_id, skill_id));
               CREATE INDEX ON links (skill_id, example_id);""",
    "example_fk_only": f"""CREATE TABLE links (id bigserial PRIMARY KEY,
                   example_id bigint NOT NULL {FKS[0]}, skill_id bigint NOT NULL,
                   UNIQUE (example_id, skill_id));
               CREATE INDEX ON links (skill_id, example_id);""",
    "pk_pair": f"""CREATE TABLE links (example_id bigint NOT NULL {FKS[0]},
                   skill_id bigint NOT NULL {FKS[1]}, PRIMARY KEY (example_id, skill_id));
               CREATE INDEX ON links (skill_id, example_id);""",
    "pk_pair_no_fks": """CREATE TABLE links (example_id bigint NOT NULL,
                   skill_id bigint NOT NULL, PRIMARY KEY (example_id, skill_id));
               CREATE INDEX ON links (skill_id, example_id);""",
}


def link_rows(examples: int, seed: int = 0) -> list[tuple[int, int]]:
    """One or two distinct skills an example, as the import benchmark's file has them."""
    rng = random.Random(seed)
    return [(e, s) for e in range(1, examples + 1)
            for s in rng.sample(range(1, 21), rng.randint(1, 2))]


def copy_links(conn, ddl: str, rows: list[tuple[int, int]]) -> float:
    """Seconds to copy ``rows`` into a fresh link table made by ``ddl`` and check its
    constraints (``SET CONSTRAINTS ALL IMMEDIATE``, as the import does); rolled back."""
    with conn.transaction(force_rollback=True), conn.cursor() as cur:
        cur.execute(ddl)
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        start = time.perf_counter()
        with cur.copy("COPY links (example_id, skill_id) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import psycopg

    recreate_database(args.database)
    rows = link_rows(args.examples)
    with psycopg.connect(args.database.replace("postgres://", "postgresql://", 1)) as conn:
        conn.execute("CREATE TABLE ex (id bigint PRIMARY KEY)")
        conn.execute("CREATE TABLE sk (id bigint PRIMARY KEY)")
        conn.execute("INSERT INTO ex SELECT generate_series(1, %s)", [args.examples])
        conn.execute("INSERT INTO sk SELECT generate_series(1, 20)")
        conn.commit()
        results = {}
        for name, ddl in VARIANTS.items():
            best = min(copy_links(conn, ddl, rows) for _ in range(args.repeat))
            results[name] = {"links": len(rows), "seconds": round(best, 3),
                             "us_per_link": round(best / len(rows) * 1e6, 1)}
            print(f"{name:15s} {len(rows):,} links  {best:6.2f} s  "
                  f"{results[name]['us_per_link']:5.1f} µs a link", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
