"""Where a model directory may be: the one rule for a student's ``model_dir`` and a local
teacher's (``hf_local``) ``model_dir``.

A model directory is a path on the worker machines, typed by a person in the browser.
Unchecked, one team could train from another team's checkpoint, and the difference between
"does not exist" and any other answer lets anyone map the workers' filesystem. So a model
directory must be, after symlinks and ``..`` are resolved (``Path.resolve``):

- an existing directory under one of ``settings.STUDIO_MODEL_ROOTS``, or
- an existing directory inside the artifacts folder of a run of the **same team**
  (``STUDIO_ARTIFACTS_DIR/runs/run-<id>/...``, e.g. a round checkpoint).

Anything else -- missing, not a directory, outside the roots, another team's run, a deleted
run -- gets one and the same answer, :data:`MODEL_DIR_REFUSED`.

The web checks it when a student or a teacher is saved and when a run is launched; the
workers check it again right before loading (:func:`apps.runs.selectors.run_spec_for_worker`
for runs, :func:`apps.prompts.teacher_calls.extract_skill_proposals` for skill extraction)
and hand the engine the resolved path, so a setting changed meanwhile or a symlink moved
after launch does not let a run load what the web would refuse.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from apps.runs.artifacts import RUNS, artifacts_root
from apps.runs.models import Run
from workers.engine.api import ModelLoadError

REFUSED_REASON = ("not found or not allowed: choose a folder under the model roots or a "
                  "checkpoint of this team's runs")
MODEL_DIR_REFUSED = f"model directory {REFUSED_REASON}"
_RUN_DIR = re.compile(r"^run-(\d{1,18})$")


def _real(path: str | Path) -> Path | None:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError, ValueError):  # too long, a symlink loop, a NUL byte
        return None


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def model_dir_resolve(path: str, *, team_id: int) -> Path | None:
    """The real directory ``path`` names if team ``team_id`` may load a model from it; None
    otherwise, whatever the reason (callers show :data:`MODEL_DIR_REFUSED`)."""
    if not isinstance(path, str) or not path.strip() or not Path(path).is_absolute():
        return None
    real = _real(path)
    if real is None:
        return None
    try:
        if not real.is_dir():
            return None
    except (OSError, ValueError):
        return None
    for root in getattr(settings, "STUDIO_MODEL_ROOTS", ()):
        real_root = _real(root)
        if real_root is not None and _within(real, real_root):
            return real
    runs = _real(artifacts_root() / RUNS)
    if runs is None or runs not in real.parents:
        return None
    match = _RUN_DIR.match(real.relative_to(runs).parts[0])
    if match is None:
        return None
    if Run.objects.filter(pk=int(match.group(1)), project__team_id=team_id).exists():
        return real
    return None


def model_dir_allowed(path: str, *, team_id: int) -> bool:
    return model_dir_resolve(path, team_id=team_id) is not None


def model_dir_for_worker(path: str, *, team_id: int) -> str:
    """The resolved ``path`` for the engine to load, checked right before loading;
    :class:`ModelLoadError` (the engine's error, so the run fails with the reason)
    otherwise."""
    real = model_dir_resolve(path, team_id=team_id)
    if real is None:
        raise ModelLoadError(path, REFUSED_REASON)
    return str(real)
