"""Where a run's files live in the artifacts store (``STUDIO_ARTIFACTS_DIR``).

The store is a local path or a shared filesystem path that every worker mounts. Rounds keep
their checkpoint path relative to the store, so machines that mount it at different places
still find it.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

RUNS = "runs"


def artifacts_root() -> Path:
    return Path(settings.STUDIO_ARTIFACTS_DIR)


def run_artifacts_relpath(run_id: int) -> Path:
    return Path(RUNS) / f"run-{run_id}"


def run_artifacts_dir(run_id: int) -> Path:
    """The folder of one run: ``checkpoints/round-NNN`` below it."""
    return artifacts_root() / run_artifacts_relpath(run_id)


def artifact_relpath(path: str | Path) -> str:
    """``path`` relative to the store when it lies inside it, else unchanged."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(artifacts_root().resolve()))
    except ValueError:
        return str(path)


def artifact_abspath(path: str | Path) -> Path:
    """A stored (relative) artifact path resolved against this machine's store."""
    path = Path(path)
    return path if path.is_absolute() else artifacts_root() / path
