"""Reading an upload row by row, never whole: JSONL or CSV from a binary file object.

:func:`read_rows` yields ``(line, row, error)``: ``row`` our row (None when the line is bad),
``error`` a :class:`RowProblem` naming the line, the field and the reason (None when good).
Blank lines are skipped. A line longer than ``max_row_bytes`` is reported and skipped
without being held in memory. The format is given or detected from the first object.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from apps.projects.formats import FORMATS, FieldError, Row, RowDefaults, detect

MAX_ROW_BYTES = 1_000_000
KINDS = ("jsonl", "csv")
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str  # "" when the whole line is bad (JSON, encoding, size)
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.field}" if self.field else "")
        return f"{where}: {self.reason}"


class FormatUnknown(ValueError):
    """No row of the file looks like a known format."""


def kind_of(filename: str) -> str:
    return "csv" if filename.lower().endswith(".csv") else "jsonl"


def _physical_lines(fh: IO[bytes], max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """``(number, bytes)`` per line; bytes None for a line over ``max_bytes`` (skipped)."""
    number = 0
    while True:
        line = fh.readline(max_bytes + 1)
        if not line:
            return
        number += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while True:  # skip the rest of the long line, a chunk at a time
                rest = fh.readline(_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, None
            continue
        yield number, line


def _decode(raw: bytes, number: int) -> str | RowProblem:
    try:
        return raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        return RowProblem(number, "", f"not UTF-8 (byte 0x{raw[exc.start]:02x} at byte "
                                      f"{exc.start + 1} of the line)")


def _json_records(fh, max_bytes) -> Iterator[tuple[int, Any, RowProblem | None]]:
    for number, raw in _physical_lines(fh, max_bytes):
        if raw is None:
            yield number, None, RowProblem(number, "", f"longer than {max_bytes:,} bytes")
            continue
        line = _decode(raw, number)
        if isinstance(line, RowProblem):
            yield number, None, line
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, RowProblem(number, "", f"bad JSON: {exc.msg} (column "
                                                       f"{exc.colno})")
            continue
        except (RecursionError, ValueError):
            yield number, None, RowProblem(number, "", "bad JSON: nested too deeply or a "
                                                       "number too long")
            continue
        if not isinstance(record, dict):
            yield number, None, RowProblem(number, "", f"must be a JSON object, got "
                                                       f"{type(record).__name__}")
            continue
        yield number, record, None


def _csv_records(fh, max_bytes) -> Iterator[tuple[int, Any, RowProblem | None]]:
    pending: list[RowProblem] = []

    def lines() -> Iterator[str]:
        for number, raw in _physical_lines(fh, max_bytes):
            if raw is None:
                pending.append(RowProblem(number, "", f"longer than {max_bytes:,} bytes"))
                yield "\n"
                continue
            line = _decode(raw, number)
            if isinstance(line, RowProblem):
                pending.append(line)
                yield "\n"
                continue
            yield line

    reader = csv.reader(lines())
    header: list[str] | None = None
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            pending.append(RowProblem(reader.line_num, "", f"bad CSV: {exc}"))
            cells = None
        while pending:
            problem = pending.pop(0)
            yield problem.line, None, problem
        if not cells or not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip() for c in cells]
            continue
        if len(cells) > len(header):
            yield reader.line_num, None, RowProblem(reader.line_num, "", "more cells than the "
                                                                         "header has columns")
            continue
        record = {name: value for name, value in zip(header, cells, strict=False)
                  if name and value != ""}
        yield reader.line_num, record, None
    for problem in pending:
        yield problem.line, None, problem


def read_rows(
    fh: IO[bytes], *, kind: str = "jsonl", fmt: str = "auto",
    defaults: RowDefaults | None = None, max_row_bytes: int = MAX_ROW_BYTES,
) -> Iterator[tuple[int, Row | None, RowProblem | None]]:
    """Our rows of an upload, one at a time (module doc). ``fmt`` "auto" detects the format
    from the first JSON object that has one; a file where none does raises FormatUnknown
    once it is read through."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if fmt != "auto" and fmt not in FORMATS:
        raise ValueError(f"format must be auto or one of {', '.join(FORMATS)}")
    defaults = defaults or RowDefaults()
    records = (_csv_records if kind == "csv" else _json_records)(fh, max_row_bytes)
    chosen = None if fmt == "auto" else FORMATS[fmt]
    waiting: list[tuple[int, Any]] = []  # records before the format is known
    for number, record, problem in records:
        if problem is not None:
            yield number, None, problem
            continue
        if chosen is None:
            name = detect(record)
            if name is None:
                waiting.append((number, record))
                if len(waiting) > 100:
                    raise FormatUnknown("the first 100 rows look like no known format")
                continue
            chosen = FORMATS[name]
            for early, early_record in waiting:  # the earlier rows, read as the format
                try:
                    yield early, chosen.to_row(early_record, defaults), None
                except FieldError as exc:
                    yield early, None, RowProblem(early, exc.field, exc.reason)
            waiting = []
        try:
            yield number, chosen.to_row(record, defaults), None
        except FieldError as exc:
            yield number, None, RowProblem(number, exc.field, exc.reason)
    if chosen is None:
        raise FormatUnknown("no row has the fields of a known format")


def detected_format(fh: IO[bytes], *, kind: str, max_rows: int = 100) -> str | None:
    """The format of the first row that has one among the first ``max_rows``."""
    records = (_csv_records if kind == "csv" else _json_records)(fh, MAX_ROW_BYTES)
    for i, (_number, record, problem) in enumerate(records):
        if i >= max_rows:
            break
        if problem is None and (name := detect(record)):
            return name
    return None
