"""What workers report about a run, written to the database: one module for recording.

A GPU worker's ``RunRecorder`` implements the engine's hooks: it stores progress events
(throttled), each finished round (one transaction, idempotent, only while this worker holds
the run) with its Missing-Skill-Profile, level stats and synthesized items, and keeps a
heartbeat thread that also reads pause/cancel requests, so ``should_stop`` answers at every
step without a query. The worker hands the run on with :func:`run_worker_release`.

No role checks here: workers call these. People's actions on runs (launch, pause, cancel,
resume, retry, delete) are in ``apps.runs.services``; the beat's sweep of stale runs is in
``apps.runs.sweep``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from apps.common.db import DB_ERRORS, db_retry, first_line
from apps.projects.models import Example, Skill
from apps.runs.artifacts import artifact_relpath
from apps.runs.dispatch import enqueue_run_on_commit
from apps.runs.models import (
    EvalFailure,
    LevelStat,
    Round,
    Run,
    RunEvent,
    RunStatus,
    SkillStat,
)
from apps.runs.states import run_heartbeat, run_release, transition
from workers.engine.api import LevelStat as EngineLevelStat
from workers.engine.api import ProgressEvent, ReviewState, RoundRecord, RunHooks
from workers.engine.api import SkillStat as EngineSkillStat

log = logging.getLogger(__name__)

LOST = "lost"  # stop reason when the worker no longer holds the run


@transaction.atomic
def round_record(
    *, run: Run, index: int, metrics: Mapping, plan: Mapping | None = None,
    curriculum_state: Mapping | None = None, checkpoint_path: str = "",
    profile: Sequence = (), levels: Sequence = (),
    level_probabilities: Mapping[int, float] | None = None,
    level_scores: Mapping[int, float] | None = None,
    level_samples: Mapping[int, int] | None = None, started_at: datetime | None = None,
) -> Round:
    """Write one finished round with its profile and level stats, all or nothing.

    ``profile`` holds engine ``SkillStat`` rows (``workers.engine.profile``), ``levels``
    engine ``LevelStat`` rows; probabilities, scores and samples come from the strategy.
    Recording the same index twice is refused (the round is already there).
    """
    if Round.objects.filter(run=run, index=index).exists():
        raise ValidationError({"index": f"run {run.pk} already has round {index}"})
    skills = {s.name: s for s in Skill.objects.filter(project=run.project_id)}
    unknown = [row.skill for row in profile if row.skill not in skills]
    if unknown:
        raise ValidationError({"profile": f"unknown skills: {', '.join(sorted(unknown))}"})
    rnd = Round.objects.create(
        run=run, index=index, metrics=dict(metrics), plan=dict(plan or {}),
        curriculum_state=dict(curriculum_state or {}), checkpoint_path=checkpoint_path,
        started_at=started_at, finished_at=timezone.now(),
    )
    SkillStat.objects.bulk_create([
        SkillStat(
            run=run, round=rnd, skill=skills[row.skill], evaluated=row.evaluated,
            failed=row.failed, miss_rate=row.miss_rate, miss_share=row.miss_share,
            accuracy=row.accuracy,
        )
        for row in profile
    ])
    probabilities = dict(level_probabilities or {})
    scores = dict(level_scores or {})
    samples = dict(level_samples or {})
    by_level = {row.level: row for row in levels}
    all_levels = sorted(set(by_level) | set(probabilities) | set(samples))
    LevelStat.objects.bulk_create([
        LevelStat(
            run=run, round=rnd, level=lv,
            sampling_probability=probabilities.get(lv, 0.0),
            success_rate=by_level[lv].success_rate if lv in by_level else 0.0,
            evaluated=by_level[lv].evaluated if lv in by_level else 0,
            strategy_score=scores.get(lv), samples=samples.get(lv, 0),
        )
        for lv in all_levels
    ])
    Run.objects.filter(pk=run.pk, current_round__lt=index).update(current_round=index)
    run.refresh_from_db()
    return rnd


def run_event_log(
    *, run: Run | int, kind: str = RunEvent.Kind.LOG, message: str = "",
    round: int | None = None, step: int | None = None, total_steps: int | None = None,
    loss: float | None = None, tokens_per_s: float | None = None, eta_s: float | None = None,
) -> RunEvent:
    if kind not in RunEvent.Kind.values:
        raise ValueError(f"unknown event kind {kind!r} (known: {', '.join(RunEvent.Kind.values)})")
    run_id = run if isinstance(run, int) else run.pk
    return RunEvent.objects.create(
        run_id=run_id, kind=kind, message=message, round=round, step=step,
        total_steps=total_steps, loss=loss, tokens_per_s=tokens_per_s, eta_s=eta_s,
    )


@transaction.atomic
def run_fail(*, run: Run, error: str) -> Run:
    """Record a failure: the run goes to failed and the error is kept in an event too."""
    run_event_log(run=run, kind=RunEvent.Kind.ERROR, message=error)
    return transition(run, RunStatus.FAILED, error=error)


class RunOwnershipLost(Exception):
    """The worker no longer holds the run (requeued by the sweep, claimed elsewhere,
    cancelled or deleted): it must stop without writing anything more."""


def run_skills_ensure(*, run: Run, skills: Sequence[Mapping[str, Any]]) -> list[Skill]:
    """The task family's built-in skills as Skill rows of the run's project (missing ones
    are created with origin ``builtin``), so every profile row has its skill."""
    names = [str(s["name"]) for s in skills]
    existing = {s.name: s for s in Skill.objects.filter(project_id=run.project_id, name__in=names)}
    created = []
    with transaction.atomic():
        for info in skills:
            if info["name"] in existing:
                continue
            skill, _ = Skill.objects.get_or_create(
                project_id=run.project_id, name=info["name"],
                defaults={"description": info.get("description", ""),
                          "origin": Skill.Origin.BUILTIN},
            )
            existing[skill.name] = skill
            created.append(skill)
        for info in skills:
            parent = info.get("parent")
            child = existing[info["name"]]
            if parent and parent in existing and child in created:
                Skill.objects.filter(pk=child.pk).update(parent=existing[parent])
    return [existing[n] for n in names]


def run_resume_round(*, run: Run) -> int | None:
    """The last round stored for the run (where a worker resumes), or None."""
    return Round.objects.filter(run_id=run.pk).aggregate(last=Max("index"))["last"]


def _profile_rows(record: Mapping[str, Any]) -> list[EngineSkillStat]:
    return [EngineSkillStat(**row) for row in record.get("profile", [])]


def _level_rows(record: Mapping[str, Any]) -> list[EngineLevelStat]:
    return [EngineLevelStat(**row) for row in [*record.get("levels", []),
                                               *record.get("held_out", [])]]


def _int_keys(data: Mapping | None) -> dict[int, Any]:
    return {int(k): v for k, v in (data or {}).items()}


@transaction.atomic
def run_record_round(
    *, run: Run, record: Mapping[str, Any], worker: str = "", checkpoint_path: str = "",
) -> Round:
    """Store one finished round of the engine (``RoundRecord.to_dict()``), all or nothing:
    the Round with its metrics, data plan and curriculum state, the Missing-Skill-Profile,
    the difficulty progress, and the round's synthesized items as examples.

    Idempotent: a round already stored is returned unchanged, so a redelivered or repeated
    execution never duplicates one. With ``worker`` the write happens only while that worker
    holds the run (RunOwnershipLost otherwise).
    """
    locked = Run.objects.select_for_update().filter(pk=run.pk).first()
    if locked is None:
        raise RunOwnershipLost(f"run {run.pk} was deleted")
    if worker and (locked.status != RunStatus.RUNNING or locked.worker != worker):
        raise RunOwnershipLost(
            f"run {run.pk} is {locked.status} for worker {locked.worker or 'none'!r}, "
            f"not running for {worker!r}"
        )
    index = int(record["round"])
    existing = Round.objects.filter(run=locked, index=index).first()
    if existing is not None:
        return existing
    metrics = dict(record.get("metrics", {}))
    metrics["held_out_levels"] = [row["level"] for row in record.get("held_out", [])]
    metrics["teacher_failures"] = list(record.get("teacher_failures", []))
    seconds = float(metrics.get("seconds") or 0.0)
    rnd = round_record(
        run=locked, index=index, metrics=metrics, plan=record.get("plan") or {},
        curriculum_state=record.get("curriculum_state") or {},
        checkpoint_path=checkpoint_path or record.get("checkpoint_dir") or "",
        profile=_profile_rows(record), levels=_level_rows(record),
        level_probabilities=_int_keys(record.get("level_probabilities")),
        level_scores=_int_keys(record.get("level_scores")),
        level_samples=_int_keys(record.get("level_samples")),
        started_at=timezone.now() - timedelta(seconds=seconds),
    )
    _store_synthesized(locked, rnd, record.get("synthesized", []))
    _store_failures(locked, rnd, record.get("failures", []))
    Run.objects.filter(pk=locked.pk).update(heartbeat_at=timezone.now())
    run.refresh_from_db()
    return rnd


def _store_failures(run: Run, rnd: Round, rows: Sequence[Mapping[str, Any]]) -> None:
    """The round's failed eval items (the engine caps them: ``records.failure_rows``) as
    EvalFailure rows, which the dashboard lists for a cell of its skills × rounds heatmap."""
    EvalFailure.objects.bulk_create([
        EvalFailure(
            run=run, round=rnd, item_id=str(row.get("item_id", ""))[:200],
            prompt=str(row.get("prompt", "")), answer=str(row.get("answer", "")),
            prediction=str(row.get("prediction", "")), level=int(row.get("level", 0)),
            skills=[str(s) for s in row.get("skills", [])],
            blamed=[str(s) for s in row.get("blamed", [])],
            held_out=bool(row.get("held_out", False)),
        )
        for row in rows
    ])


def _store_synthesized(run: Run, rnd: Round, items: Sequence[Mapping[str, Any]]) -> None:
    """The round's teacher-made items become examples, pending review, with their
    lineage: round, teacher, triggering eval item."""
    if not items:
        return
    from apps.projects.services import example_bulk_create

    skills = {s.name: s for s in Skill.objects.filter(project_id=run.project_id)}
    triggers = {str(it.get("meta", {}).get("trigger_item") or "") for it in items} - {""}
    by_key = {e.key: e for e in Example.objects.filter(project_id=run.project_id,
                                                       key__in=triggers)}
    # Pending whatever the run's setting: without review required the run trains on them
    # at once, and people can still review them. Not in the project's dataset (added_at
    # None): they belong to this run until a person adds them.
    review = Example.ReviewStatus.PENDING
    rows = []
    for it in items:
        meta = dict(it.get("meta") or {})
        rows.append({
            "key": f"run{run.pk}-{it['id']}"[:200], "prompt": it["prompt"],
            "answer": it["answer"], "skills": [skills[s] for s in it["skills"] if s in skills],
            "level": int(it["level"]), "split": Example.Split.TRAIN,
            "origin": Example.Origin.SYNTHESIZED, "review_status": review, "meta": meta,
            "teacher_kind": str(meta.get("teacher", ""))[:20], "round": rnd, "added_at": None,
            "triggering_example": by_key.get(str(meta.get("trigger_item") or "")),
        })
    example_bulk_create(project=run.project, rows=rows)


def run_heartbeat_stop_request(*, run_id: int, worker: str) -> str | None:
    """Refresh the heartbeat of a run held by ``worker`` and return its stop request
    ("" when none); None when the worker no longer holds the run."""
    if not run_heartbeat(run_id, worker):
        return None
    return Run.objects.filter(pk=run_id).values_list("stop_request", flat=True).first() or ""


def run_worker_release(
    *, run_id: int, worker: str, status: str, message: str = "", error: str = "",
) -> bool:
    """The worker that holds a run hands it on: succeeded, paused, cancelled, failed (with
    ``error``) or queued (to continue on another worker, sent after commit). Logs
    ``message`` as an event. False, and nothing written, when it no longer holds the run.
    """
    with transaction.atomic():
        if not run_release(run_id, worker, status, error=error):
            return False
        if status == RunStatus.FAILED:
            run_event_log(run=run_id, kind=RunEvent.Kind.ERROR, message=error or message)
        elif message:
            run_event_log(run=run_id, message=message)
        if status == RunStatus.QUEUED:
            Run.objects.filter(pk=run_id).update(heartbeat_at=timezone.now())
            enqueue_run_on_commit(run_id)
    return True


class RunRecorder(RunHooks):
    """The engine's hooks for one execution of a run by ``worker``; a context manager."""

    def __init__(self, *, run: Run, worker: str, heartbeat_s: float = 2.0,
                 progress_interval_s: float = 2.0):
        self.run = run
        self.worker = worker
        self.heartbeat_s = heartbeat_s
        self.progress_interval_s = progress_interval_s
        self.reason: str | None = None  # pause, cancel or lost once the run must stop
        self.first_train_step_at: float | None = None  # time.time(), for benchmarks
        self._last_progress = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True,
                                        name=f"run-{run.pk}-heartbeat")

    # -- lifetime ----------------------------------------------------------------------
    def __enter__(self) -> RunRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        self._thread.join(timeout=10 * self.heartbeat_s)

    def _watch(self) -> None:
        """Heartbeat and read stop requests every ``heartbeat_s`` until closed.

        A database error is logged and tried again at the next beat: the sweep only gives
        the run away after minutes of silence.
        """
        try:
            while not self._done.wait(self.heartbeat_s):
                try:
                    request = run_heartbeat_stop_request(run_id=self.run.pk, worker=self.worker)
                except DB_ERRORS as exc:
                    log.warning("run %s: heartbeat failed (%s); trying again", self.run.pk,
                                first_line(exc))
                    connection.close()
                    continue
                if request is None:
                    self._stop(LOST)
                elif request:
                    self._stop(request)
        finally:
            connection.close()

    def _stop(self, reason: str) -> None:
        if self.reason is None:
            log.info("run %s: stopping (%s)", self.run.pk, reason)
            self.reason = reason

    # -- engine hooks ------------------------------------------------------------------
    def should_stop(self) -> bool:
        return self.reason is not None

    def on_progress(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        if event.phase == "train" and event.step:
            if self.first_train_step_at is None:
                self.first_train_step_at = time.time()
            elif (now - self._last_progress < self.progress_interval_s
                  and event.step != event.total_steps):
                return
        self._last_progress = now
        message = event.phase if not event.message else f"{event.phase}: {event.message}"
        db_retry(lambda: run_event_log(
            run=self.run.pk, kind=RunEvent.Kind.PROGRESS, message=message, round=event.round,
            step=event.step, total_steps=event.total_steps, loss=event.loss,
            tokens_per_s=event.tokens_per_s, eta_s=event.eta_s,
        ), what=f"run {self.run.pk} progress event")

    def review(self, round: int) -> ReviewState:
        """What people decided about the run's synthesized items (``review_wait``)."""
        from apps.runs.review_wait import run_review_state

        return db_retry(lambda: run_review_state(run=self.run),
                        what=f"run {self.run.pk} review before round {round}")

    def on_round(self, record: RoundRecord) -> None:
        data = record.to_dict()
        path = artifact_relpath(record.checkpoint_dir) if record.checkpoint_dir else ""
        try:
            db_retry(lambda: run_record_round(run=self.run, record=data, worker=self.worker,
                                              checkpoint_path=path),
                     what=f"run {self.run.pk} round {record.round}")
        except RunOwnershipLost:
            self._stop(LOST)
            raise
