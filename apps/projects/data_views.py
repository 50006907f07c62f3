"""Importing examples into a project from a file, and exporting its dataset.

Import is two steps: the upload is stored and checked (every bad row shown with its line,
field and reason; nothing saved), then the person imports the good rows or cancels. A large
file goes to the default queue's worker; its page polls the job's progress.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.models import Role
from apps.accounts.permissions import require_role
from apps.common.forms import add_service_errors
from apps.projects import exports, import_jobs, imports
from apps.projects.formats import FORMATS
from apps.projects.formats.reader import kind_of
from apps.projects.forms import ExampleImportConfirmForm, ExampleImportForm
from apps.projects.models import ImportJob
from apps.projects.selectors import project_get_for_user


def _editable_project(request: HttpRequest, pk: int):
    project = project_get_for_user(user=request.user, pk=pk)
    require_role(request.user, project.team, Role.EDITOR)
    return project


def _import_page(request, project, form, *, status=200, **context):
    return render(request, "projects/example_import.html",
                  {"project": project, "form": form, **context}, status=status)


@login_required
def example_import(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the upload form. POST: store and check the file; show the bad rows and the
    choice to import the good ones or cancel (400 when no row is good)."""
    project = _editable_project(request, pk)
    if request.method != "POST":
        return _import_page(request, project, ExampleImportForm())
    form = ExampleImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _import_page(request, project, form, status=400)
    data = form.cleaned_data
    kind = kind_of(data["file"].name or "")
    token = None
    try:
        token = imports.import_store(chunks=data["file"].chunks())
        check = imports.import_check(
            project=project, token=token, kind=kind, fmt=data["format"],
            default_skill=data["default_skill"], default_level=data["default_level"])
    except ValidationError as exc:
        imports.import_discard(token=token)
        add_service_errors(form, exc)
        return _import_page(request, project, form, status=400)
    confirm = None
    if check.good:
        confirm = ExampleImportConfirmForm(initial={
            "token": token, "kind": kind, "format": data["format"],
            "default_skill": data["default_skill"], "default_level": data["default_level"]})
    else:
        imports.import_discard(token=token)
    return _import_page(request, project, form, check=check, confirm=confirm, token=token,
                        file_name=data["file"].name, status=200 if confirm else 400)


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{field}: {m}" for field, ms in exc.message_dict.items() for m in ms]
    return list(exc.messages)


@login_required
@require_POST
def example_import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Import the good rows: here, or on the worker for a large file."""
    project = _editable_project(request, pk)
    form = ExampleImportConfirmForm(request.POST)
    if not form.is_valid():
        imports.import_discard(token=request.POST.get("token"))
        return _import_page(request, project, ExampleImportForm(), status=400,
                            confirm_errors=[f"{k}: {m}" for k, ms in form.errors.items()
                                            for m in ms])
    data = form.cleaned_data
    options = {"kind": data["kind"], "fmt": data["format"],
               "default_skill": data["default_skill"], "default_level": data["default_level"]}
    try:
        result, job = imports.import_good_rows(user=request.user, project=project,
                                               token=data["token"], **options)
    except ValidationError as exc:
        return _import_page(request, project, ExampleImportForm(), status=400,
                            confirm_errors=_messages(exc))
    if job is not None:
        return redirect("projects:import-job", pk=project.pk, job_pk=job.pk)
    messages.success(request, f"Imported {result['imported']} examples"
                              f" ({result['skipped']} bad rows left out).")
    return redirect("core:project-detail", pk=project.pk)


@login_required
@require_POST
def example_import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    project = _editable_project(request, pk)
    imports.import_discard(token=request.POST.get("token"))
    messages.info(request, "Cancelled: the uploaded file was removed and nothing was saved.")
    return redirect("core:project-detail", pk=project.pk)


@login_required
@require_GET
def import_job(request: HttpRequest, pk: int, job_pk: int) -> HttpResponse:
    """A large import's progress; htmx polls the partial while it runs."""
    project = project_get_for_user(user=request.user, pk=pk)
    job = ImportJob.objects.filter(project=project, pk=job_pk).first()
    if job is None:
        raise Http404("no such import")
    context = {"project": project, "job": job,
               "progress": import_jobs.import_job_progress(job=job),
               "running": job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)}
    template = "projects/import_job.html#progress" if request.htmx else \
        "projects/import_job.html"
    return render(request, template, context)


@login_required
@require_GET
def project_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The approved examples as JSONL in ``?format=`` (ours, openai, trl, trl_chat)."""
    project = project_get_for_user(user=request.user, pk=pk)
    fmt = request.GET.get("format", "ours")
    if fmt not in FORMATS:
        return HttpResponse(f"format must be one of {', '.join(FORMATS)}", status=400,
                            content_type="text/plain")
    response = StreamingHttpResponse(exports.project_export_lines(project=project, fmt=fmt),
                                     content_type="application/jsonl; charset=utf-8")
    response["Content-Disposition"] = (f'attachment; filename="project-{project.pk}-{fmt}'
                                       '.jsonl"')
    return response
