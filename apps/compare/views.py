"""Comparison pages: build one from the run list's checkboxes or a filter, save it by name,
list, open, delete and export saved ones. Reading: any team member (a stranger gets 404);
saving and deleting: editors and owners (a viewer gets 403)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.models import Role
from apps.accounts.permissions import has_role, require_role
from apps.compare import exports
from apps.compare.selection import (
    STATUSES,
    Selection,
    selection_from_comparison,
    selection_from_params,
)
from apps.compare.selectors import (
    comparison_get_for_user,
    comparison_list_for_user,
    selection_context,
)
from apps.compare.services import comparison_create as comparison_save
from apps.compare.services import comparison_delete as comparison_remove
from apps.curricula.selectors import curriculum_list_for_project
from apps.projects.selectors import project_get_for_user

FORMATS = ("csv", "html")


def _page_context(request: HttpRequest, project, selection: Selection, **extra) -> dict:
    context = {
        "project": project,
        "can_edit": has_role(request.user, project.team, Role.EDITOR),
        "plotly_bundle": exports.plotly_bundle_path().name,
        "selection": selection,
        **extra,
    }
    return context


def _new_context(request: HttpRequest, project, selection: Selection, **extra) -> dict:
    strategies = sorted({c.strategy for c in curriculum_list_for_project(project=project)})
    context = _page_context(request, project, selection, strategies=strategies,
                            statuses=STATUSES, **extra)
    if not selection.is_empty:
        context.update(selection_context(project=project, selection=selection))
        context["export_query"] = selection.query()
    return context


@login_required
@require_GET
def comparison_new(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    selection = selection_from_params(request.GET)
    return render(request, "compare/comparison_new.html",
                  _new_context(request, project, selection))


@login_required
@require_POST
def comparison_create(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    require_role(request.user, project.team, Role.EDITOR)
    selection = selection_from_params(request.POST)
    name = request.POST.get("name", "")
    try:
        comparison = comparison_save(user=request.user, project=project, name=name,
                                     selection=selection)
    except ValidationError as exc:
        context = _new_context(request, project, selection, save_errors=exc.messages,
                               save_name=name[:100])
        return render(request, "compare/comparison_new.html", context, status=400)
    messages.success(request, f"Comparison {comparison.name!r} saved.")
    return redirect("compare:comparison-detail", pk=comparison.pk)


@login_required
@require_GET
def comparison_list(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    return render(request, "compare/comparison_list.html", {
        "project": project,
        "comparisons": comparison_list_for_user(user=request.user, project=project),
        "can_edit": has_role(request.user, project.team, Role.EDITOR),
    })


@login_required
@require_GET
def comparison_detail(request: HttpRequest, pk: int) -> HttpResponse:
    comparison = comparison_get_for_user(user=request.user, pk=pk)
    project = comparison.project
    selection = selection_from_comparison(comparison, request.GET)
    context = _page_context(request, project, selection, comparison=comparison,
                            export_query=selection.query(run=[], strategy=[], status=[]))
    context.update(selection_context(project=project, selection=selection,
                                     comparison=comparison))
    return render(request, "compare/comparison_detail.html", context)


@login_required
@require_POST
def comparison_delete(request: HttpRequest, pk: int) -> HttpResponse:
    comparison = comparison_get_for_user(user=request.user, pk=pk)
    project_pk, name = comparison.project_id, comparison.name
    comparison_remove(user=request.user, comparison=comparison)
    messages.success(request, f"Comparison {name!r} deleted.")
    return redirect("compare:comparison-list", pk=project_pk)


def _export(project, selection: Selection, fmt: str, stem: str, comparison=None) -> HttpResponse:
    if fmt not in FORMATS:
        raise Http404("no such export")
    if fmt == "csv":
        response = HttpResponse(exports.comparison_csv(project=project, selection=selection),
                                content_type="text/csv; charset=utf-8")
    else:
        context = selection_context(project=project, selection=selection, shared=True,
                                    comparison=comparison)
        response = HttpResponse(exports.comparison_html(context=context),
                                content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


@login_required
@require_GET
def selection_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    selection = selection_from_params(request.GET)
    return _export(project, selection, fmt, f"comparison-project-{project.pk}")


@login_required
@require_GET
def comparison_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    comparison = comparison_get_for_user(user=request.user, pk=pk)
    selection = selection_from_comparison(comparison, request.GET)
    stem = f"comparison-{comparison.pk}-{slugify(comparison.name)[:40] or 'export'}"
    return _export(comparison.project, selection, fmt, stem, comparison=comparison)
