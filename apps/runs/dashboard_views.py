"""The run dashboard's own endpoints (the dashboard itself is part of the run page)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.common.params import int_param
from apps.runs.dashboard import failures_for_cell
from apps.runs.models import Run
from apps.runs.selectors import run_get_for_user

MAX_SKILL_NAME = 100  # Skill.name's max_length


def cell_params(params) -> tuple[int, str]:
    """(round index, skill name) of a heatmap cell from ``?round=&skill=``; a 400 when one
    is missing or malformed."""
    index = int_param(params, "round", minimum=0, maximum=1_000_000)
    skill = (params.get("skill") or "").strip()
    if index is None or not skill or len(skill) > MAX_SKILL_NAME or "\x00" in skill:
        raise BadRequest("?round= (a round index) and ?skill= (a skill name) are required")
    return index, skill


def render_failures(request: HttpRequest, run: Run) -> HttpResponse:
    """The failed items of one heatmap cell of ``run`` (whoever may see the run: the caller
    checks that); a share link's view can answer with this too."""
    index, skill = cell_params(request.GET)
    cell = failures_for_cell(run=run, round_index=index, skill=skill)
    return render(request, "runs/_dashboard_failures.html", {"cell": cell})


@login_required
@require_GET
def run_failures(request: HttpRequest, pk: int) -> HttpResponse:
    """The failed items of ``?skill=`` in round ``?round=``: an htmx partial of the run page
    (any member of the run's team; a stranger gets 404)."""
    return render_failures(request, run_get_for_user(user=request.user, pk=pk))
