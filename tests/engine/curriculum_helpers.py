"""Hand-made observations for the curriculum tests."""

from workers.engine.curriculum import Observation
from workers.engine.profile import LevelStat, SkillStat, Verdict

SKILLS = ["add", "carry", "sub", "borrow"]
LEVELS = [1, 2, 3]


def full_pool(**overrides: int) -> dict[tuple[str, int], int]:
    """Every (skill, level) cell has 10 items, except borrow at level 1 (impossible)."""
    counts = {(s, lv): 10 for s in SKILLS for lv in LEVELS}
    counts[("borrow", 1)] = 0
    for key, n in overrides.items():
        skill, lv = key.rsplit("_", 1)
        counts[(skill, int(lv))] = n
    return counts


def failure(level: int, *missing: str, item_id: str = "x") -> Verdict:
    return Verdict(item_id=item_id, skills=tuple(missing), level=level, correct=False,
                   prediction="?", missing_skills=tuple(missing))


def profile(**miss_share: float) -> tuple[SkillStat, ...]:
    return tuple(SkillStat(skill=s, evaluated=10, failed=0, miss_rate=0.0,
                           miss_share=miss_share.get(s, 0.0), accuracy=1.0) for s in SKILLS)


def obs(round_: int = 1, total: int = 5, *, failures=(), pool=None, skill_level=None,
        prof=None) -> Observation:
    return Observation(
        round=round_, total_rounds=total, profile=prof or profile(),
        levels=tuple(LevelStat(level=lv, evaluated=10, correct=5, success_rate=0.5)
                     for lv in LEVELS),
        failures=tuple(failures), skill_level=skill_level or {},
        pool_counts=full_pool() if pool is None else pool,
    )
