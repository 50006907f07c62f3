from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.models import Role
from apps.accounts.permissions import has_role
from apps.accounts.selectors import team_get_for_user, team_list_for_user
from apps.core.forms import ProjectForm, SkillForm
from apps.curricula.selectors import curriculum_list_for_project
from apps.projects.selectors import (
    example_counts,
    project_get_for_user,
    project_list_for_user,
    skill_level_counts,
    skill_tree,
)
from apps.projects.services import project_create, skill_create
from apps.prompts.selectors import prompt_list_for_project, teacher_config_list_for_project
from apps.runs.selectors import run_list_for_project, student_list_for_project


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    teams = list(team_list_for_user(user=request.user))
    projects = project_list_for_user(user=request.user).order_by("name")
    by_team = {t.pk: [] for t in teams}
    for p in projects:
        by_team.setdefault(p.team_id, []).append(p)
    rows = [
        {"team": t, "projects": by_team[t.pk],
         "can_edit": has_role(request.user, t, Role.EDITOR), "form": ProjectForm(
             initial={"team": t.pk}, auto_id=f"team{t.pk}_%s")}
        for t in teams
    ]
    return render(request, "core/home.html", {"rows": rows})


@login_required
@require_POST
def project_new(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST)
    if not form.is_valid():
        return render(request, "core/project_form.html", {"form": form}, status=400)
    team = team_get_for_user(user=request.user, pk=form.cleaned_data["team"])
    try:
        project = project_create(
            user=request.user, team=team, name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
        )
    except ValidationError as exc:
        _add_errors(form, exc)
        return render(request, "core/project_form.html", {"form": form}, status=400)
    return redirect("project_detail", pk=project.pk)


@login_required
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    return _render_project(request, project, SkillForm(project=project))


def _render_project(request, project, skill_form, status=200):
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
        "skill_form": skill_form,
    }
    return render(request, "core/project_detail.html", context, status=status)


@login_required
@require_POST
def skill_new(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    form = SkillForm(request.POST, project=project)
    if form.is_valid():
        try:
            skill_create(
                user=request.user, project=project, name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                parent=form.cleaned_data["parent"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return redirect("project_detail", pk=project.pk)
    return _render_project(request, project, form, status=400)
