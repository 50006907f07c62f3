"""Uploaded files kept on disk between "check" and "confirm": one store for every upload
page (a new project from JSONL, an import into a project).

A file is written chunk by chunk (never whole in memory) under ``STUDIO_DATA_DIR/<folder>``
and named by a random token; a token that is not one of ours is refused before any path is
built from it; files older than ``UPLOAD_MAX_AGE_S`` are removed whenever a new one comes in.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

UPLOAD_MAX_AGE_S = 24 * 3600
_TOKEN = re.compile(r"[0-9a-f]{32}")
NOTES = ".json"  # the suffix added to an upload's name for its notes


@dataclass(frozen=True)
class UploadStore:
    folder: str  # below STUDIO_DATA_DIR
    suffix: str  # of every stored file

    def _dir(self) -> Path:
        return Path(settings.DATA_DIR) / self.folder

    def store(self, chunks: Iterable[bytes], *, max_bytes: int | None = None) -> str:
        """Keep an upload until it is confirmed or cancelled; returns its token."""
        folder = self._dir()
        folder.mkdir(parents=True, exist_ok=True)
        self._remove_stale(folder)
        token = secrets.token_hex(16)
        path = folder / f"{token}{self.suffix}"
        written = 0
        with open(path, "wb") as fh:
            for chunk in chunks:
                written += len(chunk)
                if max_bytes is not None and written > max_bytes:
                    fh.close()
                    path.unlink(missing_ok=True)
                    raise ValidationError({"file": f"larger than {max_bytes:,} bytes"})
                fh.write(chunk)
        return token

    def path(self, token) -> Path:
        """The stored file of ``token``; ValidationError when the token is not one of ours
        or its file is gone."""
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            raise ValidationError({"token": "not an upload token; upload the file again"})
        path = self._dir() / f"{token}{self.suffix}"
        if not path.is_file():
            raise ValidationError(
                {"token": "the uploaded file is no longer here; upload it again"})
        return path

    def discard(self, token) -> None:
        """Remove the upload ``token`` names and its notes, if any (any other value is
        ignored)."""
        if isinstance(token, str) and _TOKEN.fullmatch(token):
            (self._dir() / f"{token}{self.suffix}").unlink(missing_ok=True)
            (self._dir() / f"{token}{self.suffix}{NOTES}").unlink(missing_ok=True)

    def notes_write(self, token, notes: dict) -> None:
        """Keep a small JSON object with an upload (what it was checked with, for whom)."""
        path = self.path(token)
        path.with_name(path.name + NOTES).write_text(json.dumps(notes), encoding="utf-8")

    def notes_remove(self, token) -> None:
        if isinstance(token, str) and _TOKEN.fullmatch(token):
            (self._dir() / f"{token}{self.suffix}{NOTES}").unlink(missing_ok=True)

    def notes_read(self, token) -> dict | None:
        """The notes kept with the upload ``token``; None when it or they are gone (or the
        token is not one of ours)."""
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            return None
        try:
            path = self.path(token)
            return json.loads(path.with_name(path.name + NOTES).read_text(encoding="utf-8"))
        except (ValidationError, OSError, ValueError):
            return None

    def _remove_stale(self, folder: Path) -> None:
        cutoff = time.time() - UPLOAD_MAX_AGE_S
        for old in [*folder.glob(f"*{self.suffix}"), *folder.glob(f"*{self.suffix}{NOTES}")]:
            try:
                if old.stat().st_mtime < cutoff:
                    old.unlink(missing_ok=True)
            except OSError:
                continue


# New projects from a JSONL file, and imports into an existing project.
PROJECT_UPLOADS = UploadStore("uploads", ".jsonl")
IMPORT_UPLOADS = UploadStore("imports", ".upload")
