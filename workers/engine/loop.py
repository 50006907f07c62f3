"""The round loop (DESIGN section 3): the seam the GPU worker and the headless command call.

Round 0 evaluates the initial student. Each later round plans from the previous evaluation's
Missing-Skill-Profile, synthesizes what the plan asks for, trains, evaluates, diagnoses the
failures and writes an atomic checkpoint before ``hooks.on_round`` hears of it.

All randomness of round ``r`` comes from ``(spec.seed, r)``, and everything carried from round
to round (weights, optimizer, curriculum state, synthesized items, the last verdicts) is in the
checkpoint, so ``resume_round=r`` continues exactly like a run that was never interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import torch

from workers.engine import checkpoint as ckpt
from workers.engine.curriculum.base import ArmSignal, DataPlan, Observation, ParamError, Strategy
from workers.engine.errors import EngineError, RunCancelled, SkillError, SpecError
from workers.engine.evaluate import EvalReport, evaluate, evaluate_items
from workers.engine.profile import LevelStat, SkillStat, Verdict
from workers.engine.spec import RunSpec
from workers.engine.student import Student, build_student, resolve_device
from workers.engine.tasks import build_family
from workers.engine.tasks.base import Item, TaskFamily
from workers.engine.trainer import Trainer, TrainProgress

SIGNAL_SAMPLES = 8  # training items per level the student answers before training (sec, dump)
REFERENCES = 3  # pool items shown to the teacher per synthesis request
CHECKPOINTS = "checkpoints"


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
    metrics: dict  # accuracy, held_out_accuracy, train_loss, tokens_per_s, seconds, teacher
    synthesized: tuple[Item, ...]
    teacher_failures: tuple[dict, ...]
    checkpoint_dir: str | None

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


class RunHooks:
    """Callbacks of a run; the worker subclasses this. Defaults do nothing."""

    def on_progress(self, event: ProgressEvent) -> None:
        """A phase started, or training advanced."""

    def on_round(self, record: RoundRecord) -> None:
        """A round finished; its checkpoint is already complete on disk."""

    def should_stop(self) -> bool:
        """True to cancel or pause; checked at every step boundary."""
        return False


def derive_seed(seed: int, round_: int, purpose: str) -> int:
    digest = hashlib.sha256(f"{seed}:{round_}:{purpose}".encode()).hexdigest()
    return int(digest[:8], 16)


def _rng(seed: int, round_: int, purpose: str) -> random.Random:
    return random.Random(derive_seed(seed, round_, purpose))


def build_strategy(spec: RunSpec, *, skills: list[str], levels: list[int]) -> Strategy:
    from workers.engine.curriculum import get_strategy

    name = spec.curriculum.strategy
    cls = get_strategy(name)  # SpecError naming spec.curriculum.strategy when unknown
    try:
        return cls(params=spec.curriculum.params, skills=skills, levels=levels,
                   budget=spec.train.steps_per_round * spec.train.batch_size, seed=spec.seed)
    except ParamError as exc:
        bad = next(iter(exc.errors))
        raise SpecError(f"spec.curriculum.params.{bad}", exc.errors[bad]) from exc


@contextlib.contextmanager
def _pool_options_errors(spec: RunSpec):
    """Errors from ``spec.task.pool_options`` name that field, not ``spec.task.options``."""
    try:
        yield
    except SpecError as exc:
        base = "spec.task.options"
        if not spec.task.pool_options or not exc.field.startswith(base):
            raise
        message = str(exc)[len(exc.field) + 2:]
        raise SpecError("spec.task.pool_options" + exc.field[len(base):], message) from exc


def pool_family(spec: RunSpec, family: TaskFamily) -> TaskFamily:
    """The family that draws the seed pool: ``task.options`` with ``task.pool_options`` over.

    Without pool options it is ``family`` itself. The eval split is always drawn from
    ``family``, so a skill made rare in the pool is still measured fairly.
    """
    task = spec.task
    if not task.pool_options:
        return family
    with _pool_options_errors(spec):
        out = build_family(task.family, {**task.options, **task.pool_options})
    if [s.name for s in out.skills()] != [s.name for s in family.skills()] or \
            out.levels() != family.levels():
        raise SpecError("spec.task.pool_options",
                        "must not change the task's skills or levels (keep levels out of "
                        "training with spec.task.held_out_levels)")
    return out


class _Run:
    """State of one run_loop call; methods are the phases of a round."""

    def __init__(self, spec: RunSpec, artifacts_dir: Path, hooks: RunHooks,
                 pool: list[Item] | None, eval_items: list[Item] | None):
        self.spec = spec
        self.hooks = hooks
        self.root = Path(artifacts_dir)
        self.ckpt_root = self.root / CHECKPOINTS
        self.family: TaskFamily = build_family(spec.task.family, spec.task.options)
        self.skills = [s.name for s in self.family.skills()]
        held = set(spec.task.held_out_levels)
        unknown = held - set(self.family.levels())
        if unknown:
            raise SpecError("spec.task.held_out_levels",
                            f"levels {sorted(unknown)} are not levels of the task "
                            f"{self.family.levels()}")
        self.train_levels = [lv for lv in self.family.levels() if lv not in held]
        if not self.train_levels:
            raise SpecError("spec.task.held_out_levels", "every level is held out; "
                                                         "nothing is left to train on")
        drawer = pool_family(spec, self.family)  # checks pool_options even when pool is given
        if pool is None:
            with _pool_options_errors(spec):
                pool = drawer.sample(n=spec.task.pool_size, rng=_rng(spec.seed, 0, "pool"),
                                     levels=self.train_levels)
        self.pool = [it for it in pool if it.level not in held]
        self.pool_ids = {it.id for it in self.pool}
        if eval_items is None:
            eval_items = self.family.sample(n=spec.task.eval_size,
                                            rng=_rng(spec.seed, 0, "eval"))
        self.eval_items = list(eval_items)
        self.by_id = {it.id: it for it in self.eval_items}
        from workers.engine.teachers import build_teacher

        self.teacher = build_teacher(spec.teacher, self.family)
        self.strategy = build_strategy(spec, skills=self.skills, levels=self.train_levels)
        self.synthesized: list[Item] = []
        self.records: list[RoundRecord] = []
        self.device = resolve_device(spec.device)
        self.student: Student | None = None
        self.trainer: Trainer | None = None
        self.last_verdicts: list[Verdict] = []

    # -- plumbing ----------------------------------------------------------------------
    def event(self, round_: int, phase: str, message: str = "", step: int = 0,
              total: int = 0) -> None:
        self.check_stop(phase)
        self.hooks.on_progress(ProgressEvent(round=round_, phase=phase, step=step,
                                             total_steps=total, loss=None, tokens_per_s=None,
                                             eta_s=None, message=message))

    def check_stop(self, where: str) -> None:
        if self.hooks.should_stop():
            raise RunCancelled(f"stopped before {where}")

    def make_student(self, from_checkpoint: Path | None) -> None:
        spec = self.spec
        self.student = build_student(spec.student, device=self.device, seed=spec.seed,
                                     from_checkpoint=from_checkpoint)
        self.trainer = Trainer(self.student, lr=spec.train.lr, batch_size=spec.train.batch_size,
                               weight_decay=spec.train.weight_decay,
                               warmup_steps=spec.train.warmup_steps)
        if from_checkpoint is not None:
            state = torch.load(Path(from_checkpoint) / "optimizer.pt", map_location=self.device,
                               weights_only=True)
            self.trainer.load_state_dict(state)

    def add_to_pool(self, items: list[Item]) -> None:
        for it in items:
            if it.id not in self.pool_ids:
                self.pool.append(it)
                self.pool_ids.add(it.id)

    # -- phases ------------------------------------------------------------------------
    def evaluate(self, round_: int) -> EvalReport:
        self.event(round_, "evaluate", f"{len(self.eval_items)} items")
        report = evaluate(self.student, self.family, self.eval_items,
                          held_out_levels=self.spec.task.held_out_levels,
                          should_stop=self.hooks.should_stop)
        self.event(round_, "diagnose")
        failed = [v for v in report.verdicts if not v.correct]
        pairs = [(self.by_id[v.item_id], v.prediction) for v in failed]
        missing = self.teacher.diagnose_many(pairs, self.skills) if pairs else []
        by_id = {v.item_id: m for v, m in zip(failed, missing, strict=True)}
        verdicts = tuple(
            dataclasses.replace(v, missing_skills=tuple(by_id[v.item_id]))
            if v.item_id in by_id else v for v in report.verdicts
        )
        return dataclasses.replace(report, verdicts=verdicts)

    def observation(self, round_: int) -> Observation:
        verdicts = self.last_verdicts
        cells: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
        for v in verdicts:
            for s in v.skills:
                cells[(s, v.level)][0] += int(v.correct)
                cells[(s, v.level)][1] += 1
        pool_counts: Counter = Counter()
        for it in self.pool:
            for s in it.skills:
                pool_counts[(s, it.level)] += 1
        from workers.engine.profile import build_level_stats, build_profile

        return Observation(
            round=round_, total_rounds=self.spec.rounds,
            profile=tuple(build_profile(verdicts, self.skills)),
            levels=tuple(build_level_stats(verdicts)),
            failures=tuple(v for v in verdicts if not v.correct),
            skill_level={k: (c, n) for k, (c, n) in cells.items()},
            pool_counts=dict(pool_counts),
        )

    def materialize(self, round_: int, plan: DataPlan) -> tuple[list[Item], list[Item], list[str]]:
        """(training items, synthesized items, notes) for ``plan``."""
        draw_rng = _rng(self.spec.seed, round_, "draw")
        synth_rng = _rng(self.spec.seed, round_, "synth")
        review = self.spec.synth_requires_review
        train: list[Item] = []
        synthesized: list[Item] = []
        notes: list[str] = []
        for entry in plan.entries:
            if entry.count <= 0:
                continue
            if entry.source == "synth":
                new = self.synthesize(round_, entry, synth_rng)
                synthesized.extend(new)
                usable = [] if review else new
                train.extend(usable)
                short = entry.count - len(usable)
                if short > 0:
                    # Pending review or rejected by verification: keep the budget with pool items.
                    cands = self.candidates(entry.skill, entry.level) or \
                        self.candidates(entry.skill, None)
                    if cands:
                        train.extend(_draw(cands, short, draw_rng))
                    notes.append(f"{short} of {entry.count} synthesized items for "
                                 f"({entry.skill}, {entry.level}) "
                                 f"{'await review' if review else 'were not produced'}")
                continue
            cands = self.candidates(entry.skill, entry.level)
            if not cands:
                where = f"at level {entry.level}" if entry.level is not None else "at any level"
                raise SkillError(entry.skill or "*",
                                 f"the plan asks for {entry.count} pool items {where} but the "
                                 "pool has none")
            train.extend(_draw(cands, entry.count, draw_rng))
        if not review:
            self.add_to_pool(synthesized)
        return train, synthesized, notes

    def candidates(self, skill: str | None, level: int | None) -> list[Item]:
        return [it for it in self.pool
                if (skill is None or skill in it.skills) and (level is None or it.level == level)]

    def synthesize(self, round_: int, entry, rng: random.Random) -> list[Item]:
        skill = entry.skill or rng.choice(self.skills)
        level = entry.level if entry.level is not None else rng.choice(self.train_levels)
        refs = self.candidates(skill, level) or self.candidates(skill, None)
        n_refs = int(self.strategy.config.get("n_references", REFERENCES))
        refs = rng.sample(refs, min(n_refs, len(refs)))
        items = self.teacher.synthesize(skill=skill, level=level, references=refs,
                                        n=entry.count, rng=rng)
        # The failed eval items that asked for this cell: each new item names one of them.
        triggers = [v.item_id for v in self.last_verdicts
                    if not v.correct and skill in v.missing_skills and v.level == level] or \
                   [v.item_id for v in self.last_verdicts
                    if not v.correct and skill in v.missing_skills]
        out = []
        for i, it in enumerate(items):
            meta = dict(it.meta)
            meta.update({"source": "synth", "teacher": self.teacher.kind, "round": round_,
                         "trigger_item": triggers[i % len(triggers)] if triggers else None,
                         "references": [r.id for r in refs], "plan_reason": entry.reason,
                         "review": "pending" if self.spec.synth_requires_review else "approved"})
            out.append(dataclasses.replace(it, meta=meta))
        return out

    def signals(self, round_: int, train: list[Item]) -> dict[int, ArmSignal]:
        """The student's greedy success on up to SIGNAL_SAMPLES drawn items per level."""
        rng = _rng(self.spec.seed, round_, "signals")
        by_level: dict[int, list[Item]] = defaultdict(list)
        for it in train:
            by_level[it.level].append(it)
        chosen: list[Item] = []
        for level in sorted(by_level):
            unique = list({it.id: it for it in by_level[level]}.values())
            chosen.extend(rng.sample(unique, min(SIGNAL_SAMPLES, len(unique))))
        verdicts = evaluate_items(self.student, self.family, chosen, split="train",
                                  should_stop=self.hooks.should_stop)
        out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for v in verdicts:
            out[v.level][0] += int(v.correct)
            out[v.level][1] += 1
        return {lv: ArmSignal(level=lv, correct=c, samples=n) for lv, (c, n) in out.items()}

    def train(self, round_: int, train: list[Item]):
        spec = self.spec

        def progress(p: TrainProgress) -> None:
            self.hooks.on_progress(ProgressEvent(
                round=round_, phase="train", step=p.step, total_steps=p.total_steps, loss=p.loss,
                tokens_per_s=p.tokens_per_s, eta_s=p.eta_s))

        self.event(round_, "train", f"{len(train)} items", 0, spec.train.steps_per_round)
        return self.trainer.train(train, steps=spec.train.steps_per_round,
                                  seed=derive_seed(spec.seed, round_, "train"),
                                  on_progress=progress, should_stop=self.hooks.should_stop)

    def save(self, round_: int, record: RoundRecord) -> Path:
        self.event(round_, "checkpoint")
        state = {
            "spec": self.spec.to_dict(),
            "curriculum": self.strategy.state(),
            "synthesized": [it.to_dict() for it in self.synthesized],
            "verdicts": [dataclasses.asdict(v) for v in self.last_verdicts],
            "teacher_usage": self.teacher.usage.to_dict(),
            "global_step": self.trainer.global_step,
            "record": record.to_dict(),
        }

        def write(tmp: Path) -> None:
            self.student.save(tmp)
            torch.save(self.trainer.state_dict(), tmp / "optimizer.pt")

        return ckpt.write_checkpoint(self.ckpt_root, round_, state, write)

    def finish_round(self, round_: int, record: RoundRecord) -> RoundRecord:
        """Checkpoint (with the record's own path in it), then tell the hooks."""
        path = self.ckpt_root / ckpt.round_dir_name(round_)
        record = dataclasses.replace(record, checkpoint_dir=str(path))
        self.save(round_, record)
        self.records.append(record)
        self.hooks.on_round(record)
        return record

    # -- rounds ------------------------------------------------------------------------
    def round_zero(self) -> None:
        start = time.perf_counter()
        failures_before = len(self.teacher.failures)
        self._rejected_before = len(getattr(self.teacher, "rejected", []))
        report = self.evaluate(0)
        self.last_verdicts = list(report.verdicts)
        record = self.record(0, report, plan={"entries": []}, probabilities={}, scores={},
                             samples={}, train_result=None, synthesized=[], notes=[],
                             failures_before=failures_before, start=start, usage_before={})
        self.finish_round(0, record)

    def run_round(self, round_: int) -> None:
        start = time.perf_counter()
        failures_before = len(self.teacher.failures)
        self._rejected_before = len(getattr(self.teacher, "rejected", []))
        usage_before = self.teacher.usage.to_dict()
        self.event(round_, "plan")
        probabilities = self.strategy.level_probabilities()
        scores = self.strategy.level_scores()
        plan = self.strategy.plan(self.observation(round_))
        if any(e.source == "synth" for e in plan.entries):
            self.event(round_, "synthesize")
        train, synthesized, notes = self.materialize(round_, plan)
        self.synthesized.extend(synthesized)
        if not train:
            raise EngineError(f"round {round_}: the plan yields no training items")
        if type(self.strategy).update is not Strategy.update:
            self.event(round_, "signals")
            self.strategy.update(round=round_, signals=self.signals(round_, train))
        result = self.train(round_, train)
        report = self.evaluate(round_)
        self.last_verdicts = list(report.verdicts)
        samples = Counter(it.level for it in train)
        record = self.record(round_, report, plan=plan.to_dict(), probabilities=probabilities,
                             scores=scores, samples=dict(sorted(samples.items())),
                             train_result=result, synthesized=synthesized, notes=notes,
                             failures_before=failures_before, start=start,
                             usage_before=usage_before)
        self.finish_round(round_, record)

    def record(self, round_: int, report: EvalReport, *, plan: dict, probabilities, scores,
               samples, train_result, synthesized, notes, failures_before, start,
               usage_before) -> RoundRecord:
        profile = report.profile(self.skills)
        rejected_before = self._rejected_before
        evaluated = [s for s in profile if s.evaluated]
        usage = self.teacher.usage.to_dict()
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
            "seconds": time.perf_counter() - start,
            "synthesized": len(synthesized),
            "teacher": {k: usage[k] - usage_before.get(k, 0) for k in usage},
            "teacher_total": usage,
            "teacher_rejected": len(getattr(self.teacher, "rejected", [])) - rejected_before,
            "notes": notes,
        }
        return RoundRecord(
            round=round_, profile=profile, levels=report.levels,
            held_out=report.held_out_levels,
            level_probabilities={int(k): float(v) for k, v in probabilities.items()},
            level_scores={int(k): float(v) for k, v in scores.items()},
            level_samples={int(k): int(v) for k, v in samples.items()},
            plan=plan, curriculum_state=self.strategy.state(), metrics=metrics,
            synthesized=tuple(synthesized),
            teacher_failures=tuple(f.to_dict() for f in self.teacher.failures[failures_before:]),
            checkpoint_dir=None,
        )

    def resume(self, round_: int) -> None:
        path = ckpt.checkpoint_path(self.ckpt_root, round_)
        state = ckpt.read_state(path)
        self.make_student(path)
        self.strategy.load_state(state["curriculum"])
        for key, value in state.get("teacher_usage", {}).items():
            if hasattr(self.teacher.usage, key):
                setattr(self.teacher.usage, key, value)
        self.synthesized = [Item.from_dict(d) for d in state["synthesized"]]
        if not self.spec.synth_requires_review:
            self.add_to_pool(self.synthesized)
        self.last_verdicts = [Verdict(**{**v, "skills": tuple(v["skills"]),
                                         "missing_skills": tuple(v["missing_skills"])})
                              for v in state["verdicts"]]
        for r in ckpt.complete_rounds(self.ckpt_root):
            if r <= round_:
                done = ckpt.read_state(self.ckpt_root / ckpt.round_dir_name(r))
                if "record" in done:
                    self.records.append(RoundRecord.from_dict(done["record"]))


def _draw(candidates: list[Item], count: int, rng: random.Random) -> list[Item]:
    """``count`` items: without repeats while the candidates last, then whole reshuffles."""
    out: list[Item] = []
    while count - len(out) >= len(candidates):
        out.extend(rng.sample(candidates, len(candidates)))
    out.extend(rng.sample(candidates, count - len(out)))
    return out


def run_loop(spec: RunSpec, *, artifacts_dir: Path, hooks: RunHooks | None = None,
             resume_round: int | None = None, pool: list[Item] | None = None,
             eval_items: list[Item] | None = None) -> RunSummary:
    """Run (or resume after round ``resume_round``) the whole loop of ``spec``.

    Raises RunCancelled when ``hooks.should_stop()`` turns true (no partial round is left),
    SpecError/SkillError/ModelLoadError on bad input, TeacherError when a teacher fails
    for good.
    """
    hooks = hooks or RunHooks()
    run = _Run(spec, Path(artifacts_dir), hooks, pool, eval_items)
    ckpt.remove_stale_tmp(run.ckpt_root)
    if resume_round is None:
        run.make_student(None)
        run.round_zero()
        first = 1
    else:
        if not 0 <= resume_round <= spec.rounds:
            raise SpecError("resume_round", f"must be within 0..{spec.rounds}")
        run.resume(resume_round)
        first = resume_round + 1
    for r in range(first, spec.rounds + 1):
        run.run_round(r)
    return RunSummary(rounds=tuple(run.records), artifacts_dir=str(run.root),
                      device=str(run.device), parameters=run.student.num_parameters(),
                      resumed_from=resume_round)
