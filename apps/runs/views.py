from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.models import Role
from apps.accounts.permissions import has_role
from apps.common.params import int_param
from apps.curricula.selectors import curriculum_list_for_project
from apps.projects.selectors import project_get_for_user
from apps.prompts.selectors import prompt_versions_current, teacher_config_list_for_project
from apps.runs import charts
from apps.runs.dashboard import run_dashboard_context
from apps.runs.display import (
    log_text,
    progress_summary,
    run_list_rows,
    skill_rows,
    split_overlap,
    state_tables,
    train_share_measured,
)
from apps.runs.forms import RunLaunchForm
from apps.runs.launch import launch_missing, run_launch_for_student_settings
from apps.runs.models import Run, RunStatus
from apps.runs.review_wait import run_review_summary
from apps.runs.selectors import (
    level_rows_for_run,
    round_get,
    round_list_light,
    run_count_for_project,
    run_events_tail,
    run_get_for_user,
    run_progress_latest,
    run_rows_for_project,
    skill_table,
    skill_table_sort_clean,
)
from apps.runs.services import run_cancel, run_delete, run_pause, run_resume, run_retry
from apps.runs.states import CONTROLS, run_controls

LOG_TAIL = 50
RUNS_PER_PAGE = 100
MAX_PAGE = 1_000_000  # a bound on ?page= that keeps the offset a number the database holds
ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.WAITING)
# The services of the controls in ``CONTROLS`` (delete answers differently: see run_action).
ACTIONS = {"cancel": run_cancel, "pause": run_pause, "resume": run_resume, "retry": run_retry}


@login_required
@require_GET
def run_list(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    page = int_param(request.GET, "page", default=1, minimum=1, maximum=MAX_PAGE)
    runs = run_rows_for_project(project=project, offset=(page - 1) * RUNS_PER_PAGE,
                                limit=RUNS_PER_PAGE)
    n_runs = run_count_for_project(project=project) \
        if page > 1 or len(runs) == RUNS_PER_PAGE else len(runs)
    context = {
        "project": project,
        "runs": runs,
        "rows": run_list_rows(runs, status_labels=dict(RunStatus.choices),
                              now_tz=timezone.get_current_timezone()),
        "n_runs": n_runs,
        "page": page,
        "pages": max(1, -(-n_runs // RUNS_PER_PAGE)),
        "any_active": any(r["status"] in ACTIVE for r in runs),
        "can_edit": has_role(request.user, project.team, Role.EDITOR),
        "flower_url": settings.STUDIO_FLOWER_URL if request.user.is_staff else "",
    }
    template = "runs/run_list.html#table" if request.htmx else "runs/run_list.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def run_new(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    teachers = teacher_config_list_for_project(project=project)
    curricula = curriculum_list_for_project(project=project)
    form = RunLaunchForm(request.POST or None, project=project, teachers=teachers,
                         curricula=curricula)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = run_launch_for_student_settings(
                user=request.user, project=project, preset=data["preset"],
                model_dir=data["model_dir"], max_length=data["max_length"],
                teacher_config=data["teacher_config"], curriculum=data["curriculum"],
                name=data["name"], rounds=data["rounds"],
                steps_per_round=data["steps_per_round"], batch_size=data["batch_size"],
                lr=data["lr"], eval_size=data["eval_size"], seed=data["seed"],
                device=data["device"], synth_requires_review=data["synth_requires_review"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return redirect("runs:run-detail", pk=run.pk)
    context = {
        "project": project,
        "form": form,
        "prompt_versions": sorted(prompt_versions_current(project=project).values(),
                                  key=lambda v: v.prompt.role),
        "can_edit": has_role(request.user, project.team, Role.EDITOR),
        "missing": launch_missing(project=project, n_teachers=len(teachers),
                                  n_curricula=len(curricula)),
    }
    return render(request, "runs/run_new.html", context, status=400 if form.errors else 200)


def _controls(run: Run, can_edit: bool) -> list[str]:
    """The controls a person may use on the run now (none for viewers)."""
    return run_controls(run.status, run.stop_request) if can_edit else []


SKILL_COLUMNS = (
    ("skill", "Skill"), ("evaluated", "Evaluated"), ("failed", "Failed"),
    ("accuracy", "Accuracy"), ("miss_rate", "Miss rate"), ("miss_share", "Share of misses"),
    ("delta", "Change"),
)


def _skill_columns(sort: str, *, has_previous: bool) -> list[dict]:
    """Header links of the per-skill table: a click sorts by the column, a second click
    reverses it. Text sorts ascending first, numbers descending."""
    columns = []
    for key, label in SKILL_COLUMNS:
        if key == "delta" and not has_previous:
            continue
        if sort == key:
            param, arrow = f"-{key}", "▲"
        elif sort == f"-{key}":
            param, arrow = key, "▼"
        else:
            param, arrow = (key if key == "skill" else f"-{key}"), ""
        columns.append({"key": key, "label": label, "param": param, "arrow": arrow,
                        "numeric": key != "skill"})
    return columns


def _live_context(request: HttpRequest, run: Run) -> dict:
    can_edit = has_role(request.user, run.project.team, Role.EDITOR)
    rounds = round_list_light(run=run)
    latest = round_get(run=run, index=rounds[-1]["index"]) if rounds else None
    previous = rounds[-2] if len(rounds) > 1 else None
    sort = skill_table_sort_clean(request.GET.get("sort"), has_previous=previous is not None)
    skills = skill_table(round=latest, previous=previous and previous["id"], sort=sort) \
        if latest else []
    level_rows = level_rows_for_run(run=run)
    event = run_progress_latest(run=run)
    trained = [r for r in rounds if r["index"] > 0 and r["seconds"] is not None]
    progress = progress_summary(
        status=run.status, total_rounds=run.rounds, finished_rounds=len(rounds),
        round_seconds=[r["seconds"] for r in trained],
        train_share=train_share_measured(trained),
        event=None if event is None else {
            "round": event.round, "step": event.step, "total_steps": event.total_steps,
            "loss": event.loss, "tokens_per_s": event.tokens_per_s, "eta_s": event.eta_s,
            "message": event.message,
        },
    )
    level_points = [(s["round_index"], s["level"], s["success_rate"]) for s in level_rows]
    accuracy = charts.accuracy_figure(
        rounds=[(r["index"], r["accuracy"]) for r in rounds],
        levels=level_points,
    )
    shares = charts.level_share_figure(
        levels=[(s["round_index"], s["level"], s["sampling_probability"]) for s in level_rows]
    )
    latest_levels = [s for s in level_rows if latest and s["round_id"] == latest.pk]
    return {
        "run": run,
        "latest": latest,
        "previous": previous,
        "skills": skills,
        "skill_rows": skill_rows(skills),
        "sort": sort,
        "skill_columns": _skill_columns(sort, has_previous=previous is not None),
        "levels": latest_levels,
        "progress": progress,
        "log": log_text(run_events_tail(run=run, limit=LOG_TAIL)),
        "state_tables": state_tables(latest.curriculum_state if latest else None),
        "overlap": split_overlap(rounds),
        "accuracy_figure": accuracy,
        "share_figure": shares,
        "controls": _controls(run, can_edit),
        "can_edit": can_edit,
        "polling": run.is_active,
        "review": run_review_summary(run=run, rounds=rounds),
        "project": run.project,
    }


@login_required
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = run_get_for_user(user=request.user, pk=pk)
    context = _live_context(request, run)
    context["project"] = run.project
    context.update(run_dashboard_context(run=run))
    return render(request, "runs/run_detail.html", context)


@login_required
@require_GET
def run_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the run page; htmx polls it while the run is active and stops
    when a finished run's partial comes back without a trigger."""
    run = run_get_for_user(user=request.user, pk=pk)
    context = _live_context(request, run)
    context["oob"] = True  # the progress card above the charts is swapped out of band
    return render(request, "runs/run_detail.html#live", context)


@login_required
@require_POST
def run_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    run = run_get_for_user(user=request.user, pk=pk)
    if action not in CONTROLS:
        raise Http404(f"unknown run action {action!r}")
    if action == "delete":
        project_pk = run.project_id
        try:
            run_delete(user=request.user, run=run)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("runs:run-detail", pk=run.pk)
        messages.success(request, f"Run {run.name!r} deleted.")
        return redirect("runs:run-list", pk=project_pk)
    try:
        ACTIONS[action](user=request.user, run=run)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("runs:run-detail", pk=run.pk)
