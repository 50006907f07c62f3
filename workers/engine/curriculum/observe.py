"""The :class:`Observation` a strategy plans from: the last verdicts and the pool's cells."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from workers.engine.curriculum.base import Observation
from workers.engine.profile import Verdict, build_level_stats, build_profile
from workers.engine.tasks.base import Item


def observe(round_: int, *, total_rounds: int, verdicts: list[Verdict], pool: Iterable[Item],
            skills: list[str]) -> Observation:
    """What the strategy sees when it plans round ``round_`` (verdicts with missing skills)."""
    cells: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for v in verdicts:
        for s in v.skills:
            cells[(s, v.level)][0] += int(v.correct)
            cells[(s, v.level)][1] += 1
    pool_counts: Counter = Counter()
    for it in pool:
        for s in it.skills:
            pool_counts[(s, it.level)] += 1
    return Observation(
        round=round_, total_rounds=total_rounds,
        profile=tuple(build_profile(verdicts, skills)),
        levels=tuple(build_level_stats(verdicts)),
        failures=tuple(v for v in verdicts if not v.correct),
        skill_level={k: (c, n) for k, (c, n) in cells.items()},
        pool_counts=dict(pool_counts),
    )
