"""A torch profiler trace of a few training steps (the headless runner's ``--profile``).

    with torch_trace.tracing(out / "profile", steps=5):
        run_one(spec, out)

Inside the block the trainer calls :meth:`StepTrace.step` before every step: the first
``skip`` steps run untraced (allocator and kernel warm-up, compilation), the next ``steps``
are recorded, then the trace is written once and the rest of the run goes on untraced. Two
files land in the directory: ``train_trace.json`` (Chrome trace format: open it in Perfetto or
``chrome://tracing``) and ``train_ops.txt`` (operators by total self time, CPU and CUDA).
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from pathlib import Path

import torch

TRACE_FILE = "train_trace.json"
OPS_FILE = "train_ops.txt"

_current: ContextVar[StepTrace | None] = ContextVar("torch_trace", default=None)


class StepTrace:
    """Records training steps ``skip`` .. ``skip + steps - 1`` of the process, once."""

    def __init__(self, out_dir: Path, *, steps: int = 5, skip: int = 2):
        self.out_dir = Path(out_dir)
        self.steps = steps
        self.skip = skip
        self.seen = 0  # steps announced so far
        self.recorded = 0
        self.done = False
        self._prof: torch.profiler.profile | None = None
        self._cuda = False

    def step(self, device: torch.device) -> None:
        """Called before each training step."""
        if self.done:
            return
        if self._prof is not None:
            if self.recorded >= self.steps:
                self.finish()
                return
            self.recorded += 1
        elif self.seen >= self.skip:
            self._cuda = device.type == "cuda"
            activities = [torch.profiler.ProfilerActivity.CPU]
            if self._cuda:
                activities.append(torch.profiler.ProfilerActivity.CUDA)
            self._prof = torch.profiler.profile(activities=activities, record_shapes=True)
            self._prof.start()
            self.recorded = 1
        self.seen += 1

    def finish(self) -> None:
        """Stop and write the files (called at the end of a training call too, so a round
        shorter than the asked steps still leaves a trace of what ran)."""
        if self._prof is None or self.done:
            return
        if self._cuda:
            torch.cuda.synchronize()
        self._prof.stop()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._prof.export_chrome_trace(str(self.out_dir / TRACE_FILE))
        sort = "self_cuda_time_total" if self._cuda else "self_cpu_time_total"
        table = self._prof.key_averages().table(sort_by=sort, row_limit=40)
        (self.out_dir / OPS_FILE).write_text(
            f"{self.recorded} training step(s) after {self.skip} untraced\n\n{table}\n")
        self._prof = None
        self.done = True


def current() -> StepTrace | None:
    """The trace of the enclosing :func:`tracing` block, or None."""
    trace = _current.get()
    return None if trace is None or trace.done else trace


@contextlib.contextmanager
def tracing(out_dir: Path, *, steps: int = 5, skip: int = 2, report=None):
    """Trace ``steps`` training steps (after ``skip``) of whatever runs inside the block;
    ``report`` (e.g. ``print``) is given one line saying where the trace went."""
    trace = StepTrace(out_dir, steps=steps, skip=skip)
    token = _current.set(trace)
    try:
        yield trace
    finally:
        trace.finish()
        _current.reset(token)
        if report is not None:
            report(f"profile: {trace.recorded} training steps traced in "
                   f"{trace.out_dir / TRACE_FILE}" if trace.done else
                   "profile: no training step ran after the untraced ones; no trace written")
