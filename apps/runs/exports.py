"""What a run gives back as files: its metrics (CSV, JSON), its per-round data plans, the
synthesized items it accepted (JSONL in any format) and its trained student (tar.gz).

The items drawn from the pool for each round's training are not stored (a round keeps its
data plan, ``Round.plan``: counts per skill, level and source with the reason), so the
"mixtures" export is the plan of every round, one JSON line each. The synthesized items are
stored, with their round, and export like a project's examples.

The student archive is the latest complete checkpoint directory (``docs/checkpoints.md``),
written as a gzip'd tar one file chunk at a time: nothing is held whole in memory. The
optimizer state (resume only) is left out, links are not followed, and ``state.json`` is
rewritten without any key that names a secret.
"""

from __future__ import annotations

import csv
import io
import json
import tarfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from apps.projects.exports import example_rows, jsonl_lines
from apps.projects.models import Example
from apps.runs.artifacts import artifact_abspath
from apps.runs.models import Round, Run
from workers.engine.api import checkpoint_is_complete

SKIPPED_FILES = {"optimizer.pt"}
SECRET_WORDS = ("key", "secret", "token", "password", "authorization")
_CHUNK = 1024 * 1024


def run_metrics_rows(*, run: Run) -> list[dict]:
    """One dict per finished round: ``round`` and its scalar metrics."""
    rows = []
    for rnd in Round.objects.filter(run=run).order_by("index"):
        metrics = rnd.metrics if isinstance(rnd.metrics, dict) else {}
        rows.append({"round": rnd.index, **{k: v for k, v in metrics.items()
                                            if isinstance(v, (int, float, str, bool))
                                            or v is None}})
    return rows


def run_metrics_csv(*, run: Run) -> str:
    rows = run_metrics_rows(run=run)
    columns = ["round", *sorted({k for row in rows for k in row} - {"round"})]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_safe(v) for k, v in row.items()})
    return out.getvalue()


def _csv_safe(value):
    """A text cell a spreadsheet would run as a formula gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def run_plan_lines(*, run: Run) -> Iterator[str]:
    for rnd in Round.objects.filter(run=run).order_by("index"):
        yield json.dumps({"round": rnd.index, "plan": rnd.plan or {}}) + "\n"


def run_synthesized_lines(*, run: Run, fmt: str) -> Iterator[str]:
    qs = Example.objects.filter(round__run=run, origin=Example.Origin.SYNTHESIZED,
                                review_status=Example.ReviewStatus.APPROVED)
    return jsonl_lines(example_rows(qs), fmt)


def run_student_dir(*, run: Run) -> Path | None:
    """The latest complete checkpoint of the run on this machine, or None."""
    for rnd in Round.objects.filter(run=run).exclude(checkpoint_path="").order_by("-index"):
        path = artifact_abspath(rnd.checkpoint_path)
        if path.is_dir() and checkpoint_is_complete(path):
            return path
    return None


def _without_secrets(value):
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items()
                if not any(word in str(k).lower() for word in SECRET_WORDS)}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def _block(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % tarfile.BLOCKSIZE)


def _header(name: str, size: int, mtime: float) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o644
    return info.tobuf(format=tarfile.PAX_FORMAT)


def _tar_blocks(folder: Path, prefix: str) -> Iterator[bytes]:
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.name in SKIPPED_FILES:
            continue
        name = f"{prefix}/{path.relative_to(folder).as_posix()}"
        if path.name == "state.json" and path.parent == folder:
            try:
                state = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            data = json.dumps(_without_secrets(state)).encode()
            yield _header(name, len(data), time.time())
            yield _block(data)
            continue
        stat = path.stat()
        yield _header(name, stat.st_size, stat.st_mtime)
        sent = 0
        with open(path, "rb") as fh:
            while sent < stat.st_size:
                chunk = fh.read(min(_CHUNK, stat.st_size - sent))
                if not chunk:  # the file shrank: pad what the header promised
                    chunk = b"\0" * (stat.st_size - sent)
                sent += len(chunk)
                yield chunk
        yield b"\0" * (-stat.st_size % tarfile.BLOCKSIZE)
    yield b"\0" * (2 * tarfile.BLOCKSIZE)


def tar_gz_stream(folder: Path, prefix: str) -> Iterator[bytes]:
    """``folder`` as a .tar.gz, chunk by chunk."""
    gz = zlib.compressobj(6, zlib.DEFLATED, 31)
    for block in _tar_blocks(folder, prefix):
        out = gz.compress(block)
        if out:
            yield out
    yield gz.flush()
