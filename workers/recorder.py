"""The worker's side of a running run: the engine's hooks write to the database.

``RunRecorder`` stores progress events (throttled), each finished round (one transaction,
idempotent, only while this worker holds the run), and keeps a heartbeat thread that also
reads pause/cancel requests, so ``should_stop`` answers at every step without a query.

Imports the engine loop (and so torch): the GPU task imports this module lazily.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

from apps.runs.artifacts import artifact_relpath
from apps.runs.models import Run, RunEvent
from apps.runs.recording import (
    RunOwnershipLost,
    run_event_log,
    run_heartbeat_stop_request,
    run_record_round,
)
from workers.engine.loop import ProgressEvent, RoundRecord, RunHooks

log = logging.getLogger(__name__)

DB_ERRORS = (OperationalError, InterfaceError)
T = TypeVar("T")

LOST = "lost"  # stop reason when the worker no longer holds the run


def db_retry(fn: Callable[[], T], *, attempts: int = 6, first_delay_s: float = 0.5,
             what: str = "database write") -> T:
    """``fn()``, retried on a dropped or refused database connection.

    Each retry closes the broken connection first (Django opens a new one on the next
    query); the delay doubles (0.5 s, 1 s, ... about 15 s in all). ``fn`` must be a whole
    transaction (or a single statement) so that running it again is safe.
    """
    delay = first_delay_s
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except DB_ERRORS as exc:
            if attempt == attempts or connection.in_atomic_block:
                raise
            log.warning("%s failed (%s); retry %d of %d in %.1f s", what,
                        str(exc).strip().splitlines()[0] if str(exc).strip() else exc,
                        attempt, attempts - 1, delay)
            connection.close()
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


class RunRecorder(RunHooks):
    """Hooks of one execution of a run by ``worker``; use as a context manager."""

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
                                str(exc).strip().splitlines()[0] if str(exc).strip() else exc)
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
