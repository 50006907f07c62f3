"""Importing examples into a project from a file in any format (``apps.projects.formats``).

Two steps, as on the page and over the API: :func:`import_check` reads the stored upload
row by row and reports every bad row (line, field, reason) without saving anything; the
person then imports the good rows (:func:`example_import`) or cancels
(:func:`import_discard`). The import reads the file again, streaming, and inserts the good
rows in batches inside one transaction: all of them or, if anything fails, none. A file of
more than ``ASYNC_ROWS`` rows or ``ASYNC_BYTES`` bytes is imported by the default queue's
worker (:func:`import_job_start`, task ``examples.import``; the worker's side and the
progress are in ``apps.projects.import_jobs``).

Rows of a format without skills or a level (OpenAI chat, TRL) take the import's default
skill and level; rows without a split go to train; skills the project lacks are created.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from apps.accounts.models import Role
from apps.accounts.permissions import require_role
from apps.common.db import INT32_MAX
from apps.common.safejson import json_problem
from apps.common.tasks import enqueue
from apps.projects import copy_insert
from apps.projects.formats import FORMATS, Row, RowDefaults
from apps.projects.formats.reader import KINDS, FormatUnknown, RowProblem, kind_of, read_rows
from apps.projects.keylines import KeyLines
from apps.projects.models import Example, ImportJob, Project, Skill
from apps.projects.uploads import IMPORT_UPLOADS
from workers.queues import TaskName

ASYNC_ROWS = 5_000
ASYNC_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
BATCH = 1_000
SHOWN_PROBLEMS = 200
FORMAT_CHOICES = ("auto", *FORMATS)


@dataclass
class ImportCheck:
    """What a check found: the good rows' count, every bad row's count and the first
    ``SHOWN_PROBLEMS`` of them, the format read, the skills the import would create and
    the first few good rows (for the preview)."""

    fmt: str = ""
    good: int = 0
    bad: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    new_skills: list[str] = field(default_factory=list)
    sample: list[Row] = field(default_factory=list)
    size: int = 0

    @property
    def large(self) -> bool:
        return self.good + self.bad > ASYNC_ROWS or self.size > ASYNC_BYTES


# --- the stored upload ----------------------------------------------------------------------

def import_store(*, chunks) -> str:
    """Write an upload to disk chunk by chunk (never whole in memory); returns its token."""
    return IMPORT_UPLOADS.store(chunks, max_bytes=MAX_UPLOAD_BYTES)


def import_path(token) -> Path:
    return IMPORT_UPLOADS.path(token)


def import_discard(*, token) -> None:
    """Remove an upload (after the import, or when the person cancels); other values are
    ignored."""
    IMPORT_UPLOADS.discard(token)


# --- checking -------------------------------------------------------------------------------

def _options(kind: str, fmt: str, default_skill: str, default_level: int) -> RowDefaults:
    errors = {}
    if kind not in KINDS:
        errors["kind"] = f"must be one of {', '.join(KINDS)}"
    if fmt not in FORMAT_CHOICES:
        errors["format"] = f"must be one of {', '.join(FORMAT_CHOICES)}"
    name_length = Skill._meta.get_field("name").max_length
    if (not isinstance(default_skill, str) or not default_skill.strip()
            or len(default_skill) > name_length or "\x00" in default_skill):
        errors["default_skill"] = f"must be a name of 1 to {name_length} characters"
    if isinstance(default_level, bool) or not isinstance(default_level, int) \
            or not 0 <= default_level <= INT32_MAX:
        errors["default_level"] = f"must be a whole number from 0 to {INT32_MAX}"
    if errors:
        raise ValidationError(errors)
    return RowDefaults(skill=default_skill.strip(), level=default_level)


def _storage_problem(row: Row) -> tuple[str, str] | None:
    """``(field, reason)`` when a well-formed row cannot be stored."""
    key_length = Example._meta.get_field("key").max_length
    name_length = Skill._meta.get_field("name").max_length
    if len(row["key"]) > key_length:
        return "id", f"longer than {key_length} characters"
    if any(len(name) > name_length for name in row["skills"]):
        return "skills", f"a name is longer than {name_length} characters"
    for name in ("prompt", "answer", "key"):
        if "\x00" in row[name]:
            return ("id" if name == "key" else name), "holds a NUL character (\\u0000)"
    if any("\x00" in s for s in row["skills"]):
        return "skills", "holds a NUL character (\\u0000)"
    if row["level"] > INT32_MAX:
        return "level", f"must be at most {INT32_MAX}"
    problem = json_problem(row["meta"])
    if problem:
        return "meta", problem
    return None


def _taken_keys(project: Project) -> KeyLines:
    """The keys the project's examples already have."""
    return KeyLines(Example.objects.filter(project=project).exclude(key="")
                    .values_list("key", flat=True).iterator(chunk_size=10_000))


def _checked_rows(taken: KeyLines, path: Path, kind: str, fmt: str,
                  defaults: RowDefaults) -> Iterator[tuple[int, Row | None, RowProblem | None]]:
    """The file's rows with storage problems and key conflicts (a key of ``taken``, the
    project's, or one repeated in the file) reported as bad rows. Reads no database: the
    import copies rows while it reads them."""
    seen = KeyLines()
    with open(path, "rb") as fh:
        try:
            for line, row, problem in read_rows(fh, kind=kind, fmt=fmt, defaults=defaults):
                if row is not None:
                    storage = _storage_problem(row)
                    if storage:
                        problem, row = RowProblem(line, *storage), None
                    elif row["key"] in taken:
                        problem, row = RowProblem(line, "id", f"{row['key']!r} is already "
                                                              "an example of this project"), None
                    elif row["key"] and (first := seen.get(row["key"])) is not None:
                        problem, row = RowProblem(line, "id", f"{row['key']!r} repeats line "
                                                              f"{first}"), None
                    elif row["key"]:
                        seen.add(row["key"], line)
                yield line, row, problem
        except FormatUnknown as exc:
            raise ValidationError({"format": f"{exc}; choose the format"}) from None


def import_check(*, project: Project, token: str, kind: str = "jsonl", fmt: str = "auto",
                 default_skill: str = "general", default_level: int = 1,
                 sample_size: int = 5) -> ImportCheck:
    """Read the stored upload through and report (module doc); saves nothing."""
    defaults = _options(kind, fmt, default_skill, default_level)
    path = import_path(token)
    check = ImportCheck(size=path.stat().st_size)
    existing = set(Skill.objects.filter(project=project).values_list("name", flat=True))
    new: dict[str, None] = {}
    for _line, row, problem in _checked_rows(_taken_keys(project), path, kind, fmt, defaults):
        if problem is not None:
            check.bad += 1
            if len(check.problems) < SHOWN_PROBLEMS:
                check.problems.append(problem)
            continue
        check.good += 1
        if len(check.sample) < sample_size:
            check.sample.append(row)
        for name in row["skills"]:
            if name not in existing and len(new) < 1000:
                new[name] = None
    check.new_skills = list(new)
    if fmt == "auto":
        with open(path, "rb") as fh:
            from apps.projects.formats.reader import detected_format

            check.fmt = detected_format(fh, kind=kind) or ""
    else:
        check.fmt = fmt
    return check


# --- a checked upload kept until "import the good rows" or "cancel" ------------------------

def problem_errors(problems: list[RowProblem], prefix: str) -> dict[str, list[str]]:
    """Bad rows as field errors: ``{"<prefix>.line.<n>.<field>": [reason]}``."""
    errors: dict[str, list[str]] = {}
    for p in problems:
        errors.setdefault(f"{prefix}.line.{p.line}" + (f".{p.field}" if p.field else ""),
                          []).append(p.reason)
    return errors


def import_upload(*, user, project: Project, chunks, filename: str = "", kind: str = "auto",
                  fmt: str = "auto", default_skill: str = "general",
                  default_level: int = 1) -> tuple[str, ImportCheck, dict]:
    """Store and check an upload (``kind`` auto: from the file name) and keep it, with its
    options and project, until :func:`import_good_rows` or :func:`import_discard`; returns
    ``(token, check, options)``. A file with no good row is removed and refused, each bad
    row named (``file.line.<n>.<field>``)."""
    require_role(user, project.team, Role.EDITOR)
    options = {"kind": kind_of(filename) if kind == "auto" else kind, "fmt": fmt,
               "default_skill": default_skill, "default_level": default_level}
    _options(**options)
    token = import_store(chunks=chunks)
    try:
        check = import_check(project=project, token=token, **options)
        if not check.good:
            raise ValidationError(problem_errors(check.problems, "file")
                                  or {"file": "the file holds no rows"})
        IMPORT_UPLOADS.notes_write(token, {"project": project.pk, **options})
    except BaseException:
        import_discard(token=token)
        raise
    return token, check, options


def import_upload_options(*, project: Project, token) -> dict:
    """The options a kept upload of ``project`` was checked with; Http404 when there is no
    such upload (never checked, imported, cancelled, expired, or of another project)."""
    notes = IMPORT_UPLOADS.notes_read(token)
    if not notes or notes.pop("project", None) != project.pk:
        raise Http404("no such upload")
    return notes


def import_good_rows(*, user, project: Project, token: str, kind: str = "jsonl",
                     fmt: str = "auto", default_skill: str = "general",
                     default_level: int = 1) -> tuple[dict | None, ImportJob | None]:
    """"Import the good rows" of a checked upload: here, returning ``(counts, None)``, or
    for a large file on the worker, returning ``(None, job)`` (the worker removes the
    upload). Any other outcome removes the upload too, so nothing is left half-done."""
    require_role(user, project.team, Role.EDITOR)
    options = {"kind": kind, "fmt": fmt, "default_skill": default_skill,
               "default_level": default_level}
    try:
        check = import_check(project=project, token=token, **options)
        if check.large:
            job = import_job_start(user=user, project=project, token=token,
                                   total=check.good, **options)
            IMPORT_UPLOADS.notes_remove(token)  # the job's now: no longer to cancel
            return None, job
        result = example_import(user=user, project=project, token=token, **options)
    except BaseException:
        import_discard(token=token)
        raise
    import_discard(token=token)
    return result, None


# --- importing ------------------------------------------------------------------------------

def _skill_resolver(project: Project) -> Callable[[list[str]], dict[str, int]]:
    """Names -> ids of the project's skills, creating those it lacks."""
    skills = dict(Skill.objects.filter(project=project).values_list("name", "pk"))

    def resolve(names: list[str]) -> dict[str, int]:
        missing = sorted({n for n in names if n not in skills})
        if missing:
            Skill.objects.bulk_create([Skill(project=project, name=n) for n in missing])
            skills.update(Skill.objects.filter(project=project, name__in=missing)
                          .values_list("name", "pk"))
        return {n: skills[n] for n in names}

    return resolve


def examples_insert(*, writer: copy_insert.ExampleWriter, batch: list[Row]) -> None:
    """One batch of good rows (rows without a split go to train)."""
    writer.write([{**row, "split": row["split"] or Example.Split.TRAIN} for row in batch])


@transaction.atomic
def example_import(*, user, project: Project, token: str, kind: str = "jsonl",
                   fmt: str = "auto", default_skill: str = "general", default_level: int = 1,
                   progress: Callable[[int, int], None] | None = None,
                   linking: Callable[[int, int], None] | None = None) -> dict:
    """Import the good rows of the stored upload, all in one transaction (module doc);
    returns ``{"imported": n, "skipped": bad rows}``. ``progress(done, skipped)`` is called
    after each batch of rows, then ``linking(done, total)`` as their skill links are
    written (on PostgreSQL, after the rows)."""
    require_role(user, project.team, Role.EDITOR)
    defaults = _options(kind, fmt, default_skill, default_level)
    path = import_path(token)
    imported = skipped = 0
    batch: list[Row] = []
    # imported items join the project's dataset
    template = Example(project=project, origin=Example.Origin.IMPORTED,
                       review_status=Example.ReviewStatus.APPROVED, added_at=timezone.now(),
                       prompt="", answer="", level=0)
    rows = _checked_rows(_taken_keys(project), path, kind, fmt, defaults)
    with copy_insert.ExampleWriter(template, _skill_resolver(project),
                                   on_links=linking) as writer:
        for _line, row, problem in rows:
            if problem is not None:
                skipped += 1
                continue
            batch.append(row)
            imported += 1
            if len(batch) >= BATCH:
                examples_insert(writer=writer, batch=batch)
                batch.clear()
                if progress:
                    progress(imported, skipped)
        if batch:
            examples_insert(writer=writer, batch=batch)
        if progress:  # every row is in: the skill links follow as the writer closes
            progress(imported, skipped)
    if not imported:
        raise ValidationError({"file": "the file holds no good rows"})
    return {"imported": imported, "skipped": skipped}


@transaction.atomic
def import_job_start(*, user, project: Project, token: str, kind: str = "jsonl",
                     fmt: str = "auto", default_skill: str = "general",
                     default_level: int = 1, total: int = 0) -> ImportJob:
    """An import for the default queue's worker: the job row, and the task sent once the
    transaction commits."""
    require_role(user, project.team, Role.EDITOR)
    _options(kind, fmt, default_skill, default_level)
    import_path(token)
    job = ImportJob.objects.create(
        project=project, created_by=user, token=token, kind=kind, format=fmt,
        default_skill=default_skill, default_level=default_level, total_rows=total)
    transaction.on_commit(lambda: enqueue(TaskName.EXAMPLES_IMPORT, job.pk))
    return job
