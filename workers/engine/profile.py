"""The Missing-Skill-Profile and per-level statistics, computed from per-item verdicts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """The outcome of one evaluated item."""

    item_id: str
    skills: tuple[str, ...]
    level: int
    correct: bool
    prediction: str
    missing_skills: tuple[str, ...] = ()  # filled by the teacher for failed items
    split: str = "eval"  # eval or held_out


@dataclass(frozen=True)
class SkillStat:
    """One row of the Missing-Skill-Profile for one round."""

    skill: str
    evaluated: int  # eval items that need the skill
    failed: int  # failures attributed to the skill
    miss_rate: float  # failed / evaluated
    miss_share: float  # failed / all attributed failures of the round
    accuracy: float  # correct items needing the skill / evaluated


@dataclass(frozen=True)
class LevelStat:
    level: int
    evaluated: int
    correct: int
    success_rate: float


def build_profile(verdicts: list[Verdict], skills: list[str]) -> list[SkillStat]:
    """Per-skill profile rows, one per skill in ``skills`` (in that order)."""
    evaluated: dict[str, int] = defaultdict(int)
    correct: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    for v in verdicts:
        for s in v.skills:
            evaluated[s] += 1
            correct[s] += int(v.correct)
        if not v.correct:
            # only the item's own skills: a failure is never blamed on a skill it does not
            # need, so a miss rate stays within 0..1 (teachers record such blame as errors)
            for s in dict.fromkeys(v.missing_skills):
                if s in v.skills:
                    failed[s] += 1
    total_failed = sum(failed.values())
    rows = []
    for s in skills:
        n = evaluated[s]
        rows.append(
            SkillStat(
                skill=s,
                evaluated=n,
                failed=failed[s],
                miss_rate=failed[s] / n if n else 0.0,
                miss_share=failed[s] / total_failed if total_failed else 0.0,
                accuracy=correct[s] / n if n else 0.0,
            )
        )
    return rows


def build_level_stats(verdicts: list[Verdict]) -> list[LevelStat]:
    """Success rate per difficulty level, ascending by level."""
    evaluated: dict[int, int] = defaultdict(int)
    correct: dict[int, int] = defaultdict(int)
    for v in verdicts:
        evaluated[v.level] += 1
        correct[v.level] += int(v.correct)
    return [
        LevelStat(level=lv, evaluated=evaluated[lv], correct=correct[lv],
                  success_rate=correct[lv] / evaluated[lv])
        for lv in sorted(evaluated)
    ]
