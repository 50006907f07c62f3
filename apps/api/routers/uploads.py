"""Importing a file into a project in two steps, as on the import page: upload it
(multipart; it is stored and checked, every bad row named by line, field and reason,
nothing saved), then import the good rows or cancel. The services are the page's
(``apps/projects/imports.py``); a large file goes to the worker (202 with the job)."""

from __future__ import annotations

from typing import Literal

from ninja import File, Form, Path, Router, Schema, Status, UploadedFile
from pydantic import Field

from apps.api.routers.common import (
    WRITE_ERRORS,
    caller,
    project_for,
    refuse_unknown_form_fields,
)
from apps.api.schemas import Id
from apps.common.db import INT32_MAX
from apps.projects import imports
from apps.projects.import_jobs import import_job_progress

router = Router(tags=["data"])
UPLOAD_PATTERN = r"^[0-9a-f]{32}$"
Upload = Path(..., pattern=UPLOAD_PATTERN, description="the token of a checked upload")


class UploadIn(Schema):
    kind: Literal["auto", "jsonl", "csv"] = Field(
        "auto", description="auto: csv for a file name ending in .csv, else jsonl")
    format: Literal["auto", "ours", "openai", "trl", "trl_chat"] = "auto"
    default_skill: str = Field("general", min_length=1, max_length=100,
                               description="for rows without skills (OpenAI chat, TRL)")
    default_level: int = Field(1, ge=0, le=INT32_MAX, description="for rows without a level")


class RowProblemOut(Schema):
    line: int = Field(description="the line of the file (1 is the first; CSV: the header)")
    field: str = Field(description="the field at fault; empty for the whole line")
    reason: str


class UploadCheckOut(Schema):
    upload: str = Field(pattern=UPLOAD_PATTERN,
                        description="send it to .../import or DELETE it (cancel)")
    kind: str
    format: str = Field(description="the format read (detected when auto)")
    good: int
    bad: int
    errors: list[RowProblemOut] = Field(description=f"the first {imports.SHOWN_PROBLEMS} "
                                                    "bad rows")
    new_skills: list[str] = Field(description="skills the import would create")
    large: bool = Field(description="imported by the worker: the import answers 202 with "
                                    "the job to poll")


class ImportJobOut(Schema):
    id: int
    status: str
    step: int = Field(description="1 while the rows are written, 2 while their skill links "
                                  "are (about a third of a large import)")
    total_rows: int
    done_rows: int
    skipped_rows: int
    total_links: int = Field(description="skill links to write (0 until step 2)")
    done_links: int
    percent: int = Field(description="the current step's share done; 100 once succeeded")
    error: str


class UploadImportOut(Schema):
    imported: int = Field(description="rows saved (0 while a job runs)")
    skipped: int = Field(description="bad rows left out")
    job: ImportJobOut | None = Field(description="the worker's job for a large file; poll "
                                                 "GET /projects/{id}/imports/{job}")


def job_row(job) -> dict:
    progress = import_job_progress(job=job)
    return {"id": job.pk, "status": job.status, "step": progress.step,
            "total_rows": progress.total, "done_rows": progress.done,
            "skipped_rows": progress.skipped, "total_links": progress.links_total,
            "done_links": progress.links_done, "percent": progress.percent,
            "error": job.error}


@router.post("/projects/{project_id}/uploads",
             response={201: UploadCheckOut, **WRITE_ERRORS},
             summary="Upload a file (JSONL or CSV) and check it: every bad row is listed, "
                     "nothing is saved; then import the good rows or cancel")
def upload_check(request, project_id: Id, file: File[UploadedFile],
                 options: Form[UploadIn]):
    refuse_unknown_form_fields(request, UploadIn)
    project = project_for(request, project_id, write=True)
    token, check, used = imports.import_upload(
        user=caller(request), project=project, chunks=file.chunks(), filename=file.name or "",
        kind=options.kind, fmt=options.format, default_skill=options.default_skill,
        default_level=options.default_level)
    return Status(201, {"upload": token, "kind": used["kind"], "format": check.fmt,
                        "good": check.good, "bad": check.bad,
                        "errors": [vars(p) for p in check.problems],
                        "new_skills": check.new_skills, "large": check.large})


@router.post("/projects/{project_id}/uploads/{upload}/import",
             response={201: UploadImportOut, 202: UploadImportOut, **WRITE_ERRORS},
             summary="Import the good rows of a checked upload, all in one transaction "
                     "(201); a large file goes to the worker (202 with the job)")
def upload_import(request, project_id: Id, upload: str = Upload):
    project = project_for(request, project_id, write=True)
    options = imports.import_upload_options(project=project, token=upload)
    result, job = imports.import_good_rows(user=caller(request), project=project,
                                           token=upload, **options)
    if job is not None:
        return Status(202, {"imported": 0, "skipped": 0, "job": job_row(job)})
    return Status(201, {**result, "job": None})


@router.delete("/projects/{project_id}/uploads/{upload}",
               response={204: None, **WRITE_ERRORS},
               summary="Cancel: remove a checked upload; nothing is saved")
def upload_cancel(request, project_id: Id, upload: str = Upload):
    project = project_for(request, project_id, write=True)
    imports.import_upload_options(project=project, token=upload)
    imports.import_discard(token=upload)
    return Status(204, None)
