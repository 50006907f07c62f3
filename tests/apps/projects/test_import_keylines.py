"""The compact table of item ids an import checks against (apps/projects/keylines.py)."""

from __future__ import annotations

import random
import tracemalloc

from apps.projects.keylines import KeyLines


def test_it_answers_like_a_dict():
    rng = random.Random(0)
    keys = [f"k{rng.randrange(10**9)}" for _ in range(20_000)] + ["", "é", "a\x00b", "\udc80"]
    table, expected = KeyLines(), {}
    for line, key in enumerate(keys, start=1):
        assert table.get(key) == expected.get(key)
        table.add(key, line)
        expected.setdefault(key, line)
    assert len(table) == len(expected)
    assert all(table.get(k) == n for k, n in expected.items())
    assert table.get("missing") is None and "missing" not in table
    assert KeyLines(["a", "b"]).get("b") == 0


def test_it_stays_small():
    tracemalloc.start()
    table = KeyLines()
    for i in range(200_000):
        table.add(f"row-{i}", i)
    size, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert size < 200_000 * 64  # 16 bytes a slot, at least a quarter of the slots used;
    # a dict of the strings and their line numbers takes about 120 bytes a key
