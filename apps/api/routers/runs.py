"""Runs: list, detail, launch, controls, and their rounds with the Missing-Skill-Profile,
level stats and data plan of each."""

from django.core.exceptions import ValidationError
from ninja import Query, Router, Status

from apps.accounts.models import Role
from apps.accounts.permissions import has_role
from apps.api.pagination import Cursor, Limit, paginate
from apps.api.routers.common import PAGE_ERRORS, READ_ERRORS, WRITE_ERRORS, caller, project_for
from apps.api.schemas import Id, RoundPage, RunDetailOut, RunFilters, RunLaunchIn, RunPage
from apps.curricula.selectors import curriculum_list_for_project
from apps.prompts.selectors import teacher_config_list_for_project
from apps.runs.launch import DEFAULT_MAX_LENGTH, run_launch_for_student_settings
from apps.runs.models import Run
from apps.runs.selectors import (
    round_list_for_run,
    round_stats,
    run_get_for_user,
    run_list_for_user,
)
from apps.runs.services import run_cancel, run_pause, run_resume, run_retry
from apps.runs.states import run_controls

router = Router(tags=["runs"])


def run_row(run: Run, *, can_edit: bool) -> dict:
    student, teacher, curriculum = run.student, run.teacher_config, run.curriculum
    return {
        **{name: getattr(run, name) for name in (
            "id", "name", "status", "stop_request", "error", "current_round", "rounds",
            "steps_per_round", "batch_size", "lr", "eval_size", "seed",
            "synth_requires_review", "created_at", "started_at", "finished_at")},
        "project": run.project_id,
        "student": {"id": student.pk, "name": student.name, "preset": student.preset,
                    "model_dir": student.model_dir, "max_length": student.max_length},
        "teacher_config": {"id": teacher.pk, "name": teacher.name, "kind": teacher.kind},
        "curriculum": {"id": curriculum.pk, "name": curriculum.name,
                       "strategy": curriculum.strategy},
        "controls": run_controls(run.status, run.stop_request) if can_edit else [],
    }


def run_detail_row(request, run: Run) -> dict:
    can_edit = has_role(caller(request), run.project.team, Role.EDITOR)
    return {**run_row(run, can_edit=can_edit), "spec": run.spec,
            "prompt_versions": sorted(run.prompt_versions.values_list("pk", flat=True))}


@router.get("/projects/{project_id}/runs", response={200: RunPage, **PAGE_ERRORS},
            summary="The project's runs, oldest first; cursor pagination")
def run_list(request, project_id: Id, filters: Query[RunFilters], cursor: Cursor | None = None,
             limit: Limit | None = None):
    project = project_for(request, project_id)
    qs = run_list_for_user(user=caller(request), project=project)
    if filters.status is not None:
        qs = qs.filter(status=filters.status)
    page = paginate(request, qs, cursor=cursor, limit=limit)
    can_edit = has_role(caller(request), project.team, Role.EDITOR)
    page["results"] = [run_row(r, can_edit=can_edit) for r in page["results"]]
    return page


@router.post("/projects/{project_id}/runs", response={201: RunDetailOut, **WRITE_ERRORS},
             summary="Launch a run (queued for a GPU worker), as the launch page does")
def run_launch(request, project_id: Id, payload: RunLaunchIn):
    project = project_for(request, project_id, write=True)
    teacher = teacher_config_list_for_project(project=project).filter(
        pk=payload.teacher_config).first()
    curriculum = curriculum_list_for_project(project=project).filter(
        pk=payload.curriculum).first()
    errors = {}
    if teacher is None:
        errors["teacher_config"] = [f"this project has no teacher {payload.teacher_config}"]
    if curriculum is None:
        errors["curriculum"] = [f"this project has no curriculum {payload.curriculum}"]
    if errors:
        raise ValidationError(errors)
    options = payload.model_dump(
        exclude_none=True,
        exclude={"preset", "model_dir", "max_length", "teacher_config", "curriculum"})
    run = run_launch_for_student_settings(
        user=caller(request), project=project, preset=payload.preset or "",
        model_dir=payload.model_dir.strip(), max_length=payload.max_length or DEFAULT_MAX_LENGTH,
        teacher_config=teacher, curriculum=curriculum, **options)
    return Status(201, run_detail_row(request, run_get_for_user(user=caller(request), pk=run.pk)))


@router.get("/runs/{run_id}", response={200: RunDetailOut, **READ_ERRORS})
def run_detail(request, run_id: Id):
    return run_detail_row(request, run_get_for_user(user=caller(request), pk=run_id))


def _control(request, run_id: int, service) -> dict:
    run = run_get_for_user(user=caller(request), pk=run_id)
    service(user=caller(request), run=run)
    return run_detail_row(request, run_get_for_user(user=caller(request), pk=run_id))


CONTROL_SUMMARY = "refused with 400 in a state where the control does not apply"


@router.post("/runs/{run_id}/cancel", response={200: RunDetailOut, **WRITE_ERRORS},
             summary="Cancel now (queued, paused) or at the worker's next step (running)",
             description=CONTROL_SUMMARY)
def run_cancel_op(request, run_id: Id):
    return _control(request, run_id, run_cancel)


@router.post("/runs/{run_id}/pause", response={200: RunDetailOut, **WRITE_ERRORS},
             summary="Ask a running run to pause after its current round",
             description=CONTROL_SUMMARY)
def run_pause_op(request, run_id: Id):
    return _control(request, run_id, run_pause)


@router.post("/runs/{run_id}/resume", response={200: RunDetailOut, **WRITE_ERRORS},
             summary="Queue a paused run again; it goes on after its last finished round",
             description=CONTROL_SUMMARY)
def run_resume_op(request, run_id: Id):
    return _control(request, run_id, run_resume)


@router.post("/runs/{run_id}/retry", response={200: RunDetailOut, **WRITE_ERRORS},
             summary="Queue a failed run again from its last finished round",
             description=CONTROL_SUMMARY)
def run_retry_op(request, run_id: Id):
    return _control(request, run_id, run_retry)


@router.get("/runs/{run_id}/rounds", response={200: RoundPage, **PAGE_ERRORS},
            summary="Finished rounds by index, each with its metrics, data plan, "
                    "Missing-Skill-Profile and level stats; cursor pagination")
def round_list(request, run_id: Id, cursor: Cursor | None = None, limit: Limit | None = None):
    run = run_get_for_user(user=caller(request), pk=run_id)
    page = paginate(request, round_list_for_run(run=run), cursor=cursor, limit=limit,
                    key="index")
    stats = round_stats(round_ids=[r.pk for r in page["results"]])
    page["results"] = [
        {"index": r.index, "metrics": r.metrics, "plan": r.plan,
         "curriculum_state": r.curriculum_state, "started_at": r.started_at,
         "finished_at": r.finished_at, **stats[r.pk]}
        for r in page["results"]]
    return page
