from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.models import Role
from apps.accounts.permissions import has_role
from apps.accounts.selectors import team_list_for_user
from apps.curricula.selectors import curriculum_list_for_project
from apps.projects.selectors import (
    example_counts,
    project_get_for_user,
    project_list_for_user,
    skill_level_counts,
    skill_tree,
)
from apps.prompts.selectors import prompt_list_for_project, teacher_config_list_for_project
from apps.runs.selectors import run_list_for_project, student_list_for_project


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
    counts, levels = skill_level_counts(project=project)
    skills = [
        {"skill": s, "depth": depth,
         "per_level": [counts.get(s.pk, {}).get(lv, 0) for lv in levels],
         "total": sum(counts.get(s.pk, {}).values())}
        for s, depth in skill_tree(project=project)
    ]
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
        "runs": run_list_for_project(project=project)[:50],
    }
    return render(request, "core/project_detail.html", context)
