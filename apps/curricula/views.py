from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from apps.accounts.models import Role
from apps.accounts.permissions import has_role
from apps.curricula.forms import CurriculumForm, StrategyParamsForm, add_service_errors
from apps.curricula.models import Curriculum
from apps.curricula.selectors import (
    curriculum_get_for_user,
    curriculum_list_for_project,
    strategy_choices,
    strategy_schema,
)
from apps.curricula.services import curriculum_create, curriculum_update
from apps.projects.models import Project
from apps.projects.selectors import project_get_for_user

DEFAULT_STRATEGY = "uniform"


def _strategy_or_default(name: str | None, strategies: list[tuple[str, str]]) -> str:
    known = [s for s, _ in strategies]
    if name in known:
        return name
    return DEFAULT_STRATEGY if DEFAULT_STRATEGY in known else known[0]


def _params_form(strategy: str, *, data=None, initial=None) -> StrategyParamsForm:
    return StrategyParamsForm(data, schema=strategy_schema(strategy=strategy), initial=initial)


def _render_form(request, project: Project, form: CurriculumForm, params_form, *,
                 curriculum: Curriculum | None = None, status: int = 200) -> HttpResponse:
    strategy = form["strategy"].value()
    context = {
        "project": project,
        "curriculum": curriculum,
        "form": form,
        "params_form": params_form,
        "strategy_description": form.descriptions.get(strategy, ""),
        "can_edit": has_role(request.user, project.team, Role.EDITOR),
    }
    return render(request, "curricula/curriculum_form.html", context, status=status)


@login_required
@require_GET
def curriculum_list(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    descriptions = dict(strategy_choices())
    rows = [
        {"curriculum": c, "strategy_description": descriptions.get(c.strategy, "")}
        for c in curriculum_list_for_project(project=project)
    ]
    context = {
        "project": project,
        "rows": rows,
        "can_edit": has_role(request.user, project.team, Role.EDITOR),
    }
    return render(request, "curricula/curriculum_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def curriculum_new(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    strategies = strategy_choices()
    if request.method == "GET":
        strategy = _strategy_or_default(request.GET.get("strategy"), strategies)
        form = CurriculumForm(initial={"strategy": strategy}, strategies=strategies)
        return _render_form(request, project, form, _params_form(strategy))

    form = CurriculumForm(request.POST, strategies=strategies)
    strategy = _strategy_or_default(request.POST.get("strategy"), strategies)
    params_form = _params_form(strategy, data=request.POST)
    if form.is_valid() and params_form.is_valid():
        try:
            curriculum = curriculum_create(
                user=request.user, project=project, name=form.cleaned_data["name"],
                strategy=form.cleaned_data["strategy"], params=params_form.params(),
                description=form.cleaned_data["description"],
            )
        except ValidationError as exc:
            add_service_errors(form, params_form, exc)
        else:
            return redirect("curricula:curriculum-detail", pk=curriculum.pk)
    return _render_form(request, project, form, params_form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def curriculum_detail(request: HttpRequest, pk: int) -> HttpResponse:
    curriculum = curriculum_get_for_user(user=request.user, pk=pk)
    project = curriculum.project
    strategies = strategy_choices()
    if request.method == "GET":
        form = CurriculumForm(
            initial={"name": curriculum.name, "strategy": curriculum.strategy,
                     "description": curriculum.description},
            strategies=strategies,
        )
        params_form = _params_form(curriculum.strategy, initial=curriculum.params)
        return _render_form(request, project, form, params_form, curriculum=curriculum)

    form = CurriculumForm(request.POST, strategies=strategies)
    strategy = _strategy_or_default(request.POST.get("strategy"), strategies)
    params_form = _params_form(strategy, data=request.POST)
    if form.is_valid() and params_form.is_valid():
        try:
            curriculum_update(
                user=request.user, curriculum=curriculum, name=form.cleaned_data["name"],
                strategy=form.cleaned_data["strategy"], params=params_form.params(),
                description=form.cleaned_data["description"],
            )
        except ValidationError as exc:
            add_service_errors(form, params_form, exc)
        else:
            return redirect("curricula:curriculum-detail", pk=curriculum.pk)
    # The service may have changed the instance in memory before refusing: reload it.
    curriculum.refresh_from_db()
    return _render_form(request, project, form, params_form, curriculum=curriculum, status=400)


@login_required
@require_GET
def curriculum_params(request: HttpRequest, pk: int) -> HttpResponse:
    """The parameter fields of ``?strategy=`` with its defaults (swapped in by htmx)."""
    project = project_get_for_user(user=request.user, pk=pk)
    strategies = strategy_choices()
    strategy = _strategy_or_default(request.GET.get("strategy"), strategies)
    context = {
        "project": project,
        "params_form": _params_form(strategy),
        "strategy_description": dict(strategies)[strategy],
    }
    return render(request, "curricula/curriculum_form.html#params", context)
