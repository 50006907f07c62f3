from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.accounts.models import Role
from apps.accounts.permissions import has_role
from apps.accounts.selectors import team_list_for_user
from apps.common.ratelimit import RateLimit, client_ip, rate_limited
from apps.core.health import web_health, worker_health
from apps.curricula.selectors import curriculum_list_for_project
from apps.projects.selectors import (
    example_counts,
    project_get_for_user,
    project_list_for_user,
    skill_map_rows,
)
from apps.prompts.selectors import prompt_list_for_project, teacher_config_list_for_project
from apps.runs.display import run_list_rows
from apps.runs.models import RunStatus
from apps.runs.selectors import run_rows_for_project, student_list_for_project

RECENT_RUNS = 50  # the project page shows the newest runs; the run list has them all


@login_required
def home(request: HttpRequest) -> HttpResponse:
    teams = list(team_list_for_user(user=request.user))
    projects = project_list_for_user(user=request.user).order_by("name")
    by_team = {t.pk: [] for t in teams}
    for p in projects:
        by_team.setdefault(p.team_id, []).append(p)
    rows = [
        {"team": t, "projects": by_team[t.pk],
         "can_edit": has_role(request.user, t, Role.EDITOR)}
        for t in teams
    ]
    return render(request, "core/home.html", {"rows": rows})


@login_required
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    skills, levels = skill_map_rows(project=project)
    context = {
        "project": project,
        "can_edit": has_role(request.user, project.team, Role.EDITOR),
        "levels": levels,
        "skills": skills,
        "example_counts": example_counts(project=project),
        "curricula": curriculum_list_for_project(project=project),
        "teachers": teacher_config_list_for_project(project=project),
        "prompts": prompt_list_for_project(project=project),
        "students": student_list_for_project(project=project),
        "runs": run_list_rows(run_rows_for_project(project=project, limit=RECENT_RUNS),
                              status_labels=dict(RunStatus.choices),
                              now_tz=timezone.get_current_timezone()),
        "recent_runs": RECENT_RUNS,
    }
    return render(request, "core/project_detail.html", context)


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """The web process: database and broker (200 when both answer, else 503)."""
    report = web_health()
    return JsonResponse(report, status=200 if report["ok"] else 503)


# A worker ping is a broadcast over the broker that waits up to a second: not for anyone to
# send in a loop.
WORKER_PINGS = RateLimit("health-workers", 30, 60, what="worker health checks from your address")


@never_cache
@require_GET
@rate_limited(WORKER_PINGS, key=lambda request: f"ip:{client_ip(request)}")
def health_workers(request: HttpRequest) -> JsonResponse:
    """The workers that answer a ping (200 when at least one does, else 503)."""
    report = worker_health(show_names=request.user.is_staff)
    return JsonResponse(report, status=200 if report["ok"] else 503)
