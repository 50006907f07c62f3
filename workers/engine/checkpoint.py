"""Atomic round checkpoints: a standard model directory plus ``state.json`` (and optimizer).

A round's checkpoint is written to ``round-003.tmp-<random>`` and renamed to ``round-003`` with
``os.replace`` only once every file is on disk, so a run that dies mid-write never leaves a
directory that looks complete. ``latest_complete`` ignores temporary directories.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from workers.engine.errors import EngineError

STATE_FILE = "state.json"
COMPLETE_RE = re.compile(r"^round-(\d{3,})$")
TMP_MARK = ".tmp-"


def round_dir_name(round_: int) -> str:
    return f"round-{round_:03d}"


def write_checkpoint(root: Path, round_: int, state: dict,
                     write_files: Callable[[Path], None]) -> Path:
    """Write round ``round_``'s checkpoint under ``root`` atomically and return its path.

    ``write_files(tmp_dir)`` writes the model, tokenizer and any extra files; ``state`` goes to
    ``state.json`` last. An existing complete checkpoint of the same round is replaced.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / round_dir_name(round_)
    tmp = root / f"{final.name}{TMP_MARK}{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        write_files(tmp)
        state_path = tmp / STATE_FILE
        with open(state_path, "w") as fh:
            json.dump({**state, "round": round_, "complete": True}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        if final.exists():
            # Rename the old one out of the way first: os.replace cannot overwrite a directory.
            stale = root / f"{final.name}{TMP_MARK}old-{secrets.token_hex(4)}"
            os.replace(final, stale)
            os.replace(tmp, final)
            shutil.rmtree(stale, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def is_complete(path: Path) -> bool:
    path = Path(path)
    if not COMPLETE_RE.match(path.name) or not (path / STATE_FILE).is_file():
        return False
    try:
        return bool(json.loads((path / STATE_FILE).read_text()).get("complete"))
    except (OSError, ValueError):
        return False


def complete_rounds(root: Path) -> list[int]:
    """Rounds with a complete checkpoint under ``root``, ascending."""
    root = Path(root)
    if not root.is_dir():
        return []
    rounds = []
    for child in root.iterdir():
        match = COMPLETE_RE.match(child.name)
        if match and is_complete(child):
            rounds.append(int(match.group(1)))
    return sorted(rounds)


def latest_complete(root: Path) -> tuple[int, Path] | None:
    """(round, path) of the newest complete checkpoint, or None; tmp dirs never count."""
    rounds = complete_rounds(root)
    if not rounds:
        return None
    return rounds[-1], Path(root) / round_dir_name(rounds[-1])


def checkpoint_path(root: Path, round_: int) -> Path:
    """The complete checkpoint of ``round_``; EngineError naming the path when missing."""
    path = Path(root) / round_dir_name(round_)
    if not is_complete(path):
        raise EngineError(f"no complete checkpoint at {str(path)!r} (round {round_})")
    return path


def read_state(path: Path) -> dict:
    return json.loads((Path(path) / STATE_FILE).read_text())


def remove_stale_tmp(root: Path) -> list[Path]:
    """Delete temporary directories left by a run that died mid-write."""
    root = Path(root)
    removed = []
    if root.is_dir():
        for child in root.iterdir():
            if child.is_dir() and TMP_MARK in child.name:
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child)
    return removed
