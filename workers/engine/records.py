"""What a run reports: progress events, round records, the run summary and the hooks.

Never imports torch (directly or through ``evaluate``/``trainer``): the web reads records and
subclasses the hooks. :func:`build_record` turns a round's evaluation, plan and training result
into its :class:`RoundRecord`; the report and training result are read by duck typing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from workers.engine.profile import LevelStat, SkillStat
from workers.engine.tasks.base import Item

if TYPE_CHECKING:
    from workers.engine.teachers.base import Teacher


@dataclass(frozen=True)
class ProgressEvent:
    round: int
    phase: str  # evaluate | diagnose | plan | synthesize | signals | train | checkpoint
    step: int
    total_steps: int
    loss: float | None
    tokens_per_s: float | None
    eta_s: float | None
    message: str = ""


@dataclass(frozen=True)
class RoundRecord:
    """Everything one round persists; JSON-friendly via :meth:`to_dict`."""

    round: int
    profile: tuple[SkillStat, ...]
    levels: tuple[LevelStat, ...]
    held_out: tuple[LevelStat, ...]
    level_probabilities: dict[int, float]  # used to plan this round
    level_scores: dict[int, float]  # the strategy's scores when it planned this round
    level_samples: dict[int, int]  # training items drawn per level
    plan: dict
    curriculum_state: dict  # after this round's update: what resuming restores
    # accuracy, held_out_accuracy, train_loss, tokens_per_s, seconds, teacher; attribution
    # (how failures were blamed on skills), teacher_errors, synthesis (see build_record)
    metrics: dict
    synthesized: tuple[Item, ...]
    teacher_failures: tuple[dict, ...]
    checkpoint_dir: str | None
    # the round's failed eval and held-out items (see failure_rows), capped
    failures: tuple[dict, ...] = ()

    def to_dict(self) -> dict:
        return {
            "round": self.round,
            "profile": [dataclasses.asdict(s) for s in self.profile],
            "levels": [dataclasses.asdict(s) for s in self.levels],
            "held_out": [dataclasses.asdict(s) for s in self.held_out],
            "level_probabilities": {str(k): v for k, v in self.level_probabilities.items()},
            "level_scores": {str(k): v for k, v in self.level_scores.items()},
            "level_samples": {str(k): v for k, v in self.level_samples.items()},
            "plan": self.plan,
            "curriculum_state": self.curriculum_state,
            "metrics": self.metrics,
            "synthesized": [it.to_dict() for it in self.synthesized],
            "teacher_failures": list(self.teacher_failures),
            "checkpoint_dir": self.checkpoint_dir,
            "failures": list(self.failures),
        }

    @classmethod
    def from_dict(cls, data: dict) -> RoundRecord:
        return cls(
            round=int(data["round"]),
            profile=tuple(SkillStat(**s) for s in data["profile"]),
            levels=tuple(LevelStat(**s) for s in data["levels"]),
            held_out=tuple(LevelStat(**s) for s in data["held_out"]),
            level_probabilities={int(k): v for k, v in data["level_probabilities"].items()},
            level_scores={int(k): v for k, v in data["level_scores"].items()},
            level_samples={int(k): v for k, v in data["level_samples"].items()},
            plan=data["plan"], curriculum_state=data["curriculum_state"],
            metrics=data["metrics"],
            synthesized=tuple(Item.from_dict(d) for d in data["synthesized"]),
            teacher_failures=tuple(data["teacher_failures"]),
            checkpoint_dir=data["checkpoint_dir"],
            failures=tuple(data.get("failures", ())),  # absent from older checkpoints
        )


@dataclass(frozen=True)
class RunSummary:
    rounds: tuple[RoundRecord, ...]  # every finished round, 0..R (earlier ones read on resume)
    artifacts_dir: str
    device: str
    parameters: int
    resumed_from: int | None = None

    @property
    def final(self) -> RoundRecord:
        return self.rounds[-1]

    def to_dict(self) -> dict:
        return {"rounds": [r.to_dict() for r in self.rounds], "artifacts_dir": self.artifacts_dir,
                "device": self.device, "parameters": self.parameters,
                "resumed_from": self.resumed_from}


@dataclass(frozen=True)
class ReviewState:
    """What people decided about a run's synthesized items, as the hooks report it before
    a round (:meth:`RunHooks.review`).

    ``approved`` are the approved items as people left them (their edits are what gets
    trained), each with ``meta["decision"]`` "approved" or "edited"; ``rejected`` the ids
    of the rejected ones; ``pending`` how many wait for a decision. ``wait``: stop before
    the round until they are decided (the loop raises ``WaitForReview``).
    """

    approved: tuple[Item, ...] = ()
    rejected: frozenset[str] = frozenset()
    pending: int = 0
    wait: bool = False


class RunHooks:
    """Callbacks of a run; the worker subclasses this. Defaults do nothing."""

    def on_progress(self, event: ProgressEvent) -> None:
        """A phase started, or training advanced."""

    def on_round(self, record: RoundRecord) -> None:
        """A round finished; its checkpoint is already complete on disk."""

    def should_stop(self) -> bool:
        """True to cancel or pause; checked at every step boundary."""
        return False

    def review(self, round: int) -> ReviewState | None:
        """Before round ``round`` plans, when the run has synthesized items: what people
        decided about them. With review required only the approved ones (as edited) are
        trained on; without, the rejected ones are dropped and edits replace the teacher's
        version. None (the default): nothing is known, the items stay as they are."""
        return None


class EvalResult(Protocol):
    """What a record reads of an evaluation (``evaluate.EvalReport``, which needs torch)."""

    @property
    def levels(self) -> tuple[LevelStat, ...]: ...

    @property
    def held_out_levels(self) -> tuple[LevelStat, ...]: ...

    @property
    def accuracy(self) -> float: ...

    @property
    def held_out_accuracy(self) -> float | None: ...

    def profile(self, skills: list[str]) -> tuple[SkillStat, ...]: ...


@dataclass(frozen=True)
class RoundStart:
    """The clock and the teacher's counters when a round began; its record reports the change."""

    time: float
    failures: int
    rejected: int
    usage: dict

    @classmethod
    def take(cls, teacher: Teacher, *, usage: bool = True) -> RoundStart:
        """Now; ``usage=False`` counts all teacher usage so far as the round's (round 0)."""
        return cls(time=time.perf_counter(), failures=len(teacher.failures),
                   rejected=len(getattr(teacher, "rejected", [])),
                   usage=teacher.usage.to_dict() if usage else {})


# A round keeps at most this many failed items per skill and in all, each text cut to
# FAILURE_TEXT characters: enough to read what went wrong, bounded whatever the eval size.
FAILURES_PER_SKILL = 20
FAILURES_PER_ROUND = 500
FAILURE_TEXT = 1000


def failure_rows(report, items: Mapping[str, Item], *, per_skill: int = FAILURES_PER_SKILL,
                 limit: int = FAILURES_PER_ROUND) -> tuple[dict, ...]:
    """The report's failed items (eval split first, then held-out levels) as plain rows:
    ``item_id, prompt, answer, prediction, level, skills, blamed, held_out``. ``blamed`` is
    the verdict's ``missing_skills`` (held-out failures are not diagnosed: empty). A failure
    is kept while one of its blamed skills (its own skills when none is blamed) has fewer
    than ``per_skill`` kept, and at most ``limit`` in all."""
    kept: dict[str, int] = {}
    rows: list[dict] = []
    failed = [*(v for v in getattr(report, "verdicts", ()) if not v.correct),
              *(v for v in getattr(report, "held_out", ()) if not v.correct)]
    for v in failed:
        if len(rows) >= limit:
            break
        keys = list(dict.fromkeys(v.missing_skills or v.skills)) or [""]
        if all(kept.get(k, 0) >= per_skill for k in keys):
            continue
        for k in keys:
            kept[k] = kept.get(k, 0) + 1
        item = items.get(v.item_id)
        rows.append({
            "item_id": v.item_id,
            "prompt": (item.prompt if item else "")[:FAILURE_TEXT],
            "answer": (item.answer if item else "")[:FAILURE_TEXT],
            "prediction": (v.prediction or "")[:FAILURE_TEXT],
            "level": int(v.level), "skills": list(v.skills),
            "blamed": list(dict.fromkeys(v.missing_skills)),
            "held_out": v.split == "held_out",
        })
    return tuple(rows)


def build_record(round_: int, report: EvalResult, start: RoundStart, *, skills: list[str],
                 teacher: Teacher, curriculum_state: dict, plan: dict, probabilities, scores,
                 samples, train_result, synthesized, notes, synthesis=None,
                 extra: dict | None = None,
                 items: Mapping[str, Item] | None = None) -> RoundRecord:
    """The record of round ``round_``; ``train_result`` is None for round 0.

    ``metrics["attribution"]`` names how failures were blamed on skills ("teacher grade",
    "oracle error analysis" or "all skills of failed items"); ``metrics["teacher_errors"]``
    counts the round's teacher failures (their raw text is in ``teacher_failures``);
    ``metrics["synthesis"]`` is None, or the round's synthesis accounting (a
    ``teachers.base.Synthesis``): requested, proposed, kept and rejected by reason.
    ``extra`` adds the loop's own metrics (``overlap``, ``overlap_removed``,
    ``distinct_items``, ``max_repeat``: see ``loop._Run.split_metrics``). ``items`` (eval
    items by id) gives the failed items' prompts and answers (:func:`failure_rows`).
    """
    profile = report.profile(skills)
    evaluated = [s for s in profile if s.evaluated]
    usage = teacher.usage.to_dict()
    failures = teacher.failures[start.failures:]
    errors_by_role: dict[str, int] = {}
    for f in failures:
        errors_by_role[f.role] = errors_by_role.get(f.role, 0) + 1
    metrics = {
        "accuracy": report.accuracy,
        "held_out_accuracy": report.held_out_accuracy,
        "weakest_skill": min(evaluated, key=lambda s: s.accuracy).skill if evaluated else None,
        "weakest_skill_accuracy": min((s.accuracy for s in evaluated), default=None),
        "skill_accuracy": {s.skill: s.accuracy for s in evaluated},
        "train_loss": train_result.loss if train_result else None,
        "train_first_loss": train_result.first_loss if train_result else None,
        "tokens_per_s": train_result.tokens_per_s if train_result else None,
        "train_seconds": train_result.seconds if train_result else 0.0,
        "train_items": sum(samples.values()),
        "steps": train_result.steps if train_result else 0,
        "seconds": time.perf_counter() - start.time,
        "synthesized": len(synthesized),
        "teacher": {k: usage[k] - start.usage.get(k, 0) for k in usage},
        "teacher_total": usage,
        "teacher_rejected": len(getattr(teacher, "rejected", [])) - start.rejected,
        "teacher_errors": len(failures),
        "teacher_errors_by_role": dict(sorted(errors_by_role.items())),
        "attribution": getattr(teacher, "attribution", ""),
        "synthesis": synthesis.to_dict() if synthesis is not None else None,
        "notes": notes,
        **(extra or {}),
    }
    return RoundRecord(
        round=round_, profile=profile, levels=report.levels,
        held_out=report.held_out_levels,
        level_probabilities={int(k): float(v) for k, v in probabilities.items()},
        level_scores={int(k): float(v) for k, v in scores.items()},
        level_samples={int(k): int(v) for k, v in samples.items()},
        plan=plan, curriculum_state=curriculum_state, metrics=metrics,
        synthesized=tuple(synthesized),
        teacher_failures=tuple(f.to_dict() for f in failures),
        checkpoint_dir=None,
        failures=failure_rows(report, items or {}),
    )
