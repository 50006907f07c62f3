"""The round loop (DESIGN section 3): the seam the GPU worker and the headless command call.

Round 0 evaluates the initial student. Each later round plans from the previous evaluation's
Missing-Skill-Profile, synthesizes what the plan asks for, trains, evaluates, diagnoses the
failures and writes an atomic checkpoint before ``hooks.on_round`` hears of it.

All randomness of round ``r`` comes from ``(spec.seed, r)``, and everything carried from round
to round (weights, optimizer, curriculum state, synthesized items, the last verdicts) is in the
checkpoint, so ``resume_round=r`` continues exactly like a run that was never interrupted.

The parts live apart: records and hooks in ``records``, seeds in ``seeding``, building the
strategy and seed pool in ``assemble``, turning a plan into items in ``materialize``.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import torch

from workers.engine import checkpoint as ckpt
from workers.engine.assemble import (
    build_strategy,
    draw_eval,
    eval_subset,
    pool_family,
    seed_pool,
    train_levels,
)
from workers.engine.curriculum.base import ArmSignal, DataPlan, Observation, Strategy
from workers.engine.curriculum.observe import observe
from workers.engine.errors import EngineError, RunCancelled, SpecError, WaitForReview
from workers.engine.evaluate import EvalReport, eval_max_new_tokens, evaluate, evaluate_items
from workers.engine.materialize import Materializer
from workers.engine.profile import Verdict
from workers.engine.records import (
    ProgressEvent,
    RoundRecord,
    RoundStart,
    RunHooks,
    RunSummary,
    build_record,
)
from workers.engine.seeding import derive_seed, round_rng
from workers.engine.spec import RunSpec
from workers.engine.splits import SplitGuard
from workers.engine.student import (
    Student,
    build_student,
    check_items,
    data_chars,
    resolve_device,
    unfit_reason,
)
from workers.engine.tasks import build_family
from workers.engine.tasks.base import Item, TaskFamily
from workers.engine.trainer import TokenScore, Trainer, TrainProgress, answer_token_scores

__all__ = [  # records, seeds and assembly are re-exported for older importers
    "CHECKPOINTS", "ProgressEvent", "RoundRecord", "RunHooks", "RunSummary", "build_strategy",
    "derive_seed", "pool_family", "run_loop",
]

CHECKPOINTS = "checkpoints"
EVAL_ITEMS_FILE = "eval_items.jsonl"  # in every checkpoint: the eval split, one item a line


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
        self.train_levels = train_levels(spec, self.family)
        # The eval split first, then the pool from what remains (DESIGN section 7).
        if eval_items is None:  # rows the data sets aside (JSONL split), else a drawn split
            eval_items = self.family.eval_items()
        if eval_items is None:
            eval_items = draw_eval(spec, self.family)
        self.eval_items = eval_subset(spec, list(eval_items))
        # Eval and held-out problems: the pool is drawn around them (a pool handed in loses
        # any row that repeats one, counted in ``overlap_removed``), synthesis never repeats
        # them, and every round counts what still overlaps (``metrics["overlap"]``, 0).
        self.guard = SplitGuard(self.eval_items)
        pool = seed_pool(spec, self.family, self.train_levels, pool, guard=self.guard)
        self.overlap_removed = self.guard.dropped_protected
        self.by_id = {it.id: it for it in self.eval_items}
        from workers.engine.teachers import build_teacher

        self.teacher = build_teacher(spec.teacher, self.family)
        self.strategy = build_strategy(spec, skills=self.skills, levels=self.train_levels)
        self.data = Materializer(spec, self.teacher, skills=self.skills,
                                 train_levels=self.train_levels, pool=pool,
                                 config=self.strategy.config, guard=self.guard)
        self.synthesized: list[Item] = []
        self.records: list[RoundRecord] = []
        self.device = resolve_device(spec.device)
        self.student: Student | None = None
        self.trainer: Trainer | None = None
        self.last_verdicts: list[Verdict] = []

    @property
    def pool(self) -> list[Item]:
        return self.data.pool

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
        data = [*self.eval_items, *self.pool]
        self.student = build_student(spec.student, device=self.device, seed=spec.seed,
                                     from_checkpoint=from_checkpoint, chars=data_chars(data))
        # a character the tokenizer cannot encode, or an item longer than the context, is
        # refused here, before any round: nothing is turned into <unk> or cut
        check_items(self.student, data)
        self.trainer = Trainer(self.student, lr=spec.train.lr, batch_size=spec.train.batch_size,
                               weight_decay=spec.train.weight_decay,
                               warmup_steps=spec.train.warmup_steps)
        if from_checkpoint is not None:
            state = torch.load(Path(from_checkpoint) / "optimizer.pt", map_location=self.device,
                               weights_only=True)
            self.trainer.load_state_dict(state)

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
        return observe(round_, total_rounds=self.spec.rounds, verdicts=self.last_verdicts,
                       pool=self.pool, skills=self.skills)

    def materialize(self, round_: int, plan: DataPlan) -> tuple[list[Item], list[Item], list[str]]:
        """(training items, synthesized items, notes) for ``plan``."""
        return self.data.materialize(round_, plan, self.last_verdicts,
                                     solves=self.student_solves, fits=self.student_fits)

    def student_fits(self, items: list[Item]) -> list[str | None]:
        """Why each new item cannot be trained on by this student (a character its
        tokenizer cannot encode, longer than its context), or None: such synthesized items
        are dropped (``unfit``), never cut or turned into <unk>."""
        return [unfit_reason(self.student, it) for it in items]

    def student_solves(self, items: list[Item]) -> list[bool]:
        """Whether the current student answers each item correctly (greedy): new items it
        already solves are dropped before training (stat_syn's ``drop_solved``)."""
        verdicts = evaluate_items(self.student, self.family, items, split="train",
                                  should_stop=self.hooks.should_stop)
        return [v.correct for v in verdicts]

    def signals(self, round_: int, train: list[Item]) -> dict[Any, ArmSignal]:
        """The student's greedy success on up to the strategy's ``signal_samples`` drawn
        items per arm (sec, dump): per level, or per skill at a level. An item of two cells
        is answered once and counts in both."""
        k = self.strategy.config["signal_samples"]
        rng = round_rng(self.spec.seed, round_, "signals")
        by_arm: dict[Any, list[Item]] = defaultdict(list)
        for it in train:
            for arm in self.strategy.arms_of(it.level, it.skills):
                by_arm[arm].append(it)
        sampled: dict[Any, list[Item]] = {}
        for arm in sorted(by_arm, key=_arm_order):
            unique = list({it.id: it for it in by_arm[arm]}.values())
            sampled[arm] = rng.sample(unique, min(k, len(unique)))
        chosen = list({it.id: it for its in sampled.values() for it in its}.values())
        verdicts = evaluate_items(self.student, self.family, chosen, split="train",
                                  should_stop=self.hooks.should_stop)
        teacher_forced = self.strategy.config.get("signal_unit") in ("token", "gradient")
        scores = (answer_token_scores(self.student, chosen) if teacher_forced
                  else [TokenScore(0, 0, 0.0)] * len(chosen))
        read = {it.id: (v, sc) for it, v, sc in zip(chosen, verdicts, scores, strict=True)}
        out = {}
        for arm, items in sampled.items():
            rows = [read[it.id] for it in items]
            out[arm] = ArmSignal(
                level=items[0].level, skill=None if isinstance(arm, int) else arm[0],
                correct=sum(int(v.correct) for v, _ in rows), samples=len(rows),
                trained=len(by_arm[arm]), token_hits=sum(sc.hits for _, sc in rows),
                tokens=sum(sc.tokens for _, sc in rows),
                token_prob=sum(sc.prob for _, sc in rows))
        return out

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
            "spec": self.spec.to_dict(),  # no secrets: the teacher's API key is left out
            "curriculum": self.strategy.state(),
            "synthesized": [it.to_dict() for it in self.synthesized],
            "verdicts": [dataclasses.asdict(v) for v in self.last_verdicts],
            "teacher_usage": self.teacher.usage.to_dict(),
            "global_step": self.trainer.global_step,
            "materializer": self.data.state(),  # the ids drawn in recent rounds
            "record": record.to_dict(),
        }

        def write(tmp: Path) -> None:
            # with the eval's new-token limit, so the saved model answers as the eval did
            self.student.save(tmp, max_new_tokens=eval_max_new_tokens(self.student,
                                                                      self.eval_items))
            torch.save(self.trainer.state_dict(), tmp / "optimizer.pt")
            # the prompts state.json's verdicts answer, so the checkpoint alone reproduces them
            with open(tmp / EVAL_ITEMS_FILE, "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(it.to_dict(), ensure_ascii=False) + "\n"
                              for it in self.eval_items)

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
        start = RoundStart.take(self.teacher, usage=False)
        report = self.evaluate(0)
        self.last_verdicts = list(report.verdicts)
        record = build_record(0, report, start, skills=self.skills, teacher=self.teacher,
                              curriculum_state=self.strategy.state(), plan={"entries": []},
                              probabilities={}, scores={}, samples={}, train_result=None,
                              synthesized=[], notes=[], extra=self.split_metrics([], []),
                              items=self.by_id)
        self.finish_round(0, record)

    def split_metrics(self, train: list[Item], synthesized: list[Item]) -> dict:
        """``overlap``: training data (pool, this round's items, synthesized ones) that is an
        eval or held-out problem, which must be 0; ``overlap_removed``: rows of a given pool
        dropped at setup for repeating one; ``distinct_items`` and ``max_repeat``: distinct
        items of the round and the most times one was drawn."""
        data = {it.id: it for it in [*self.pool, *self.synthesized, *synthesized, *train]}
        drawn = Counter(it.id for it in train)
        out = {"overlap": self.guard.overlap(data.values()),
               "overlap_removed": self.overlap_removed,
               "distinct_items": len(drawn), "max_repeat": max(drawn.values(), default=0)}
        skipped = self.family.skipped_items()
        if skipped:  # generated items the family never used (e.g. no reference answer)
            out["items_skipped"] = skipped
        return out

    def apply_review(self, round_: int) -> tuple[list[str], dict | None]:
        """What people decided about the run's synthesized items, before round ``round_``
        plans (``hooks.review``): (notes, the counts for the round's metrics). Raises
        WaitForReview when the hooks say the round must wait for them."""
        if not self.synthesized:
            return [], None
        state = self.hooks.review(round_)
        if state is None:
            return [], None
        if state.wait and state.pending:
            raise WaitForReview(round_, state.pending)
        notes = self.data.apply_review(state, self.synthesized, fits=self.student_fits)
        counts = {"pending": state.pending, "approved": len(state.approved),
                  "edited": sum(it.meta.get("decision") == "edited" for it in state.approved),
                  "rejected": len(state.rejected)}
        return notes, counts

    def run_round(self, round_: int) -> None:
        self.check_stop("review")
        review_notes, review = self.apply_review(round_)
        start = RoundStart.take(self.teacher)
        self.event(round_, "plan")
        # The round's record shows the state the strategy planned with (its probabilities
        # and scores are the ones sampled from), not the state after this round's update.
        probabilities = self.strategy.level_probabilities()
        scores = self.strategy.level_scores()
        state_used = self.strategy.state()
        plan = self.strategy.plan(self.observation(round_))
        if any(e.source == "synth" for e in plan.entries):
            self.event(round_, "synthesize")
        train, synthesized, notes = self.materialize(round_, plan)
        notes = [*review_notes, *notes]
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
        record = build_record(round_, report, start, skills=self.skills, teacher=self.teacher,
                              curriculum_state=state_used, plan=plan.to_dict(),
                              probabilities=probabilities, scores=scores,
                              samples=dict(sorted(samples.items())), train_result=result,
                              synthesized=synthesized, notes=notes,
                              synthesis=self.data.synthesis,
                              extra={**self.split_metrics(train, synthesized),
                                     "synth_trained": self.data.synth_trained,
                                     "review": review},
                              items=self.by_id)
        self.finish_round(round_, record)

    def resume(self, round_: int) -> None:
        path = ckpt.checkpoint_path(self.ckpt_root, round_)
        state = ckpt.read_state(path)
        self.make_student(path)
        self.strategy.load_state(state["curriculum"])
        for key, value in state.get("teacher_usage", {}).items():
            if hasattr(self.teacher.usage, key):
                setattr(self.teacher.usage, key, value)
        self.synthesized = [Item.from_dict(d) for d in state["synthesized"]]
        self.data.guard.record(self.synthesized)  # never synthesized again, pending or not
        self.data.load_state(state.get("materializer", {}))
        self.data.adopt(self.synthesized)
        self.last_verdicts = [Verdict(**{**v, "skills": tuple(v["skills"]),
                                         "missing_skills": tuple(v["missing_skills"])})
                              for v in state["verdicts"]]
        for r in ckpt.complete_rounds(self.ckpt_root):
            if r <= round_:
                done = ckpt.read_state(self.ckpt_root / ckpt.round_dir_name(r))
                if "record" in done:
                    self.records.append(RoundRecord.from_dict(done["record"]))


def _arm_order(arm: Any) -> tuple[int, str]:
    """Levels in order; a level's cells by skill name."""
    return (arm, "") if isinstance(arm, int) else (arm[1], arm[0])


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
