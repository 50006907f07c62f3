"""Data in and out: importing a file into a project (the same service as the import page),
exporting a project's dataset and a run's files (the same streams as the download links)."""

from __future__ import annotations

import json
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from apps.api.routers.common import READ_ERRORS, WRITE_ERRORS, caller, project_for
from apps.api.routers.uploads import ImportJobOut, RowProblemOut, job_row
from apps.api.schemas import Id, In
from apps.projects import exports, imports
from apps.projects.models import ImportJob
from apps.runs import exports as run_exports
from apps.runs.selectors import run_get_for_user

router = Router(tags=["data"])
FormatName = Literal["ours", "openai", "trl", "trl_chat"]
MAX_TEXT = 50 * 1024 * 1024


class ImportIn(In):
    content: str = Field(max_length=MAX_TEXT, description="the file's text (JSONL or CSV)")
    kind: Literal["jsonl", "csv"] = "jsonl"
    format: Literal["auto", "ours", "openai", "trl", "trl_chat"] = "auto"
    default_skill: str = Field("general", min_length=1, max_length=100)
    default_level: int = Field(1, ge=0, le=2_147_483_647)
    dry_run: bool = Field(False, description="check only: report the rows, save nothing")
    skip_bad_rows: bool = Field(False, description="import the good rows of a file with bad "
                                                   "ones (else any bad row refuses the file)")


class ImportOut(Schema):
    format: str
    good: int
    bad: int
    errors: list[RowProblemOut]
    imported: int = 0
    job: int | None = None


class ExportQuery(Schema):
    format: FormatName = "ours"


def _jsonl(lines, name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="application/jsonl; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.post("/projects/{project_id}/import",
             response={200: ImportOut, 201: ImportOut, 202: ImportOut, **WRITE_ERRORS},
             summary="Import a file of examples (ours, OpenAI chat, TRL); check, all or the "
                     "good rows; a large file goes to the worker (202 with the job)")
def example_import(request, project_id: Id, payload: ImportIn):
    project = project_for(request, project_id, write=True)
    if "\x00" in payload.content:
        raise ValidationError({"content": "holds a NUL character"})
    token = imports.import_store(chunks=[payload.content.encode("utf-8")])
    options = {"kind": payload.kind, "fmt": payload.format,
               "default_skill": payload.default_skill, "default_level": payload.default_level}
    keep = False
    try:
        check = imports.import_check(project=project, token=token, **options)
        out = {"format": check.fmt, "good": check.good, "bad": check.bad,
               "errors": [vars(p) for p in check.problems]}
        if payload.dry_run:
            return Status(200, out)
        if check.bad and not payload.skip_bad_rows:
            raise ValidationError(imports.problem_errors(check.problems, "content"))
        if not check.good:
            raise ValidationError({"content": "the file holds no good rows"})
        if check.large:
            job = imports.import_job_start(user=caller(request), project=project, token=token,
                                           total=check.good, **options)
            keep = True
            return Status(202, {**out, "job": job.pk})
        result = imports.example_import(user=caller(request), project=project, token=token,
                                        **options)
        return Status(201, {**out, "imported": result["imported"]})
    finally:
        if not keep:
            imports.import_discard(token=token)


@router.get("/projects/{project_id}/imports/{job_id}", response={200: ImportJobOut,
                                                                  **READ_ERRORS},
            summary="A large import's status and progress (step 1: rows saved so far; "
                    "step 2: their skill links; counted in batches)")
def import_job_detail(request, project_id: Id, job_id: Id):
    project = project_for(request, project_id)
    job = ImportJob.objects.filter(project=project, pk=job_id).first()
    if job is None:
        raise Http404("no such import")
    return job_row(job)


@router.get("/projects/{project_id}/export", response={200: None, **READ_ERRORS},
            summary="The approved examples as JSONL in a format (streamed)")
def project_export(request, project_id: Id, query: Query[ExportQuery]):
    project = project_for(request, project_id)
    return _jsonl(exports.project_export_lines(project=project, fmt=query.format),
                  f"project-{project.pk}-{query.format}.jsonl")


@router.get("/runs/{run_id}/metrics", response={200: None, **READ_ERRORS},
            summary="Each round's metrics, as JSON or CSV (?as=csv)")
def run_metrics_export(request, run_id: Id, as_: Literal["json", "csv"] = Query(
        "json", alias="as")):
    run = run_get_for_user(user=caller(request), pk=run_id)
    if as_ == "csv":
        return HttpResponse(run_exports.run_metrics_csv(run=run), content_type="text/csv")
    return HttpResponse(json.dumps(run_exports.run_metrics_rows(run=run)),
                        content_type="application/json")


@router.get("/runs/{run_id}/plans", response={200: None, **READ_ERRORS},
            summary="Each round's data plan (the training mixture), one JSON line a round")
def run_plans_export(request, run_id: Id):
    run = run_get_for_user(user=caller(request), pk=run_id)
    return _jsonl(run_exports.run_plan_lines(run=run), f"run-{run.pk}-plans.jsonl")


@router.get("/runs/{run_id}/synthesized", response={200: None, **READ_ERRORS},
            summary="The run's accepted synthesized items as JSONL in a format")
def run_synthesized_export(request, run_id: Id, query: Query[ExportQuery]):
    run = run_get_for_user(user=caller(request), pk=run_id)
    return _jsonl(run_exports.run_synthesized_lines(run=run, fmt=query.format),
                  f"run-{run.pk}-synthesized-{query.format}.jsonl")


@router.get("/runs/{run_id}/student", response={200: None, **READ_ERRORS},
            summary="The trained student (the latest complete checkpoint) as .tar.gz")
def run_student_export(request, run_id: Id):
    run = run_get_for_user(user=caller(request), pk=run_id)
    folder = run_exports.run_student_dir(run=run)
    if folder is None:
        raise Http404("this run has no complete checkpoint")
    name = f"run-{run.pk}-{folder.name}"
    response = StreamingHttpResponse(run_exports.tar_gz_stream(folder, name),
                                     content_type="application/gzip")
    response["Content-Disposition"] = f'attachment; filename="{name}.tar.gz"'
    return response
