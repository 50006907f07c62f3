from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Role
from apps.accounts.permissions import require_role
from apps.common.db import INT32_MAX, INT32_MIN
from apps.curricula.models import Curriculum
from apps.curricula.services import curriculum_params_clean
from apps.projects.models import Project
from apps.prompts.models import TeacherConfig, TeacherKind, TeacherPromptVersion
from apps.prompts.selectors import prompt_versions_current
from apps.runs.dispatch import enqueue_artifacts_delete_on_commit, enqueue_run_on_commit
from apps.runs.model_paths import MODEL_DIR_REFUSED, model_dir_allowed
from apps.runs.models import Run, RunStatus, StudentSpec
from apps.runs.pool import dataset_pool, run_pool_record
from apps.runs.recording import run_event_log
from apps.runs.states import (
    TransitionError,
    control_allowed,
    run_requeue_failed,
    transition,
)
from apps.runs.sweep import run_mark_enqueued
from workers.engine.api import RunSpec, SpecError


@transaction.atomic
def student_spec_create(
    *, user, project: Project, name: str, preset: str = "", model_dir: str = "",
    lora: dict | None = None, max_length: int = 64,
) -> StudentSpec:
    require_role(user, project.team, Role.EDITOR)
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "must not be empty"
    elif len(name) > StudentSpec._meta.get_field("name").max_length:
        errors["name"] = f"at most {StudentSpec._meta.get_field('name').max_length} characters"
    elif StudentSpec.objects.filter(project=project, name=name).exists():
        errors["name"] = f"project {project.name!r} already has a student {name!r}"
    if bool(preset) == bool(model_dir):
        errors["preset"] = "give exactly one of a preset or a model directory"
    if preset and preset not in StudentSpec.Preset.values:
        errors["preset"] = f"must be one of {', '.join(StudentSpec.Preset.values)}"
    if model_dir and not preset and not model_dir_allowed(model_dir, team_id=project.team_id):
        errors["model_dir"] = MODEL_DIR_REFUSED
    if lora is not None and not isinstance(lora, dict):
        errors["lora"] = "must be a JSON object of LoraConfig keywords, e.g. {\"r\": 8}"
    if max_length < 8:
        errors["max_length"] = "must be at least 8"
    if errors:
        raise ValidationError(errors)
    return StudentSpec.objects.create(
        project=project, name=name, preset=preset, model_dir=model_dir, lora=lora,
        max_length=max_length,
    )


def _build_spec(
    *, project: Project, student: StudentSpec, teacher: TeacherConfig, curriculum: Curriculum,
    params: dict, versions: Sequence[TeacherPromptVersion], rounds: int, steps_per_round: int,
    batch_size: int, lr: float, eval_size: int, seed: int, synth_requires_review: bool,
    device: str,
) -> dict:
    pool = dataset_pool(project_id=project.pk, at=timezone.now()).count()
    raw = {
        "task": {
            "family": project.task_family, "options": project.task_options,
            "eval_size": eval_size, **({"pool_size": pool} if pool else {}),
        },
        "student": {
            "preset": student.preset or None, "model_dir": student.model_dir or None,
            "lora": student.lora, "max_length": student.max_length,
        },
        # The API key stays in the TeacherConfig row: the worker reads it from there,
        # so it is never copied into a JSON snapshot that pages or exports may show.
        "teacher": {
            "kind": teacher.kind, "base_url": teacher.base_url, "model": teacher.model,
            "api_key": "", "model_dir": teacher.model_dir, "timeout_s": teacher.timeout_s,
            "max_retries": teacher.max_retries, "concurrency": teacher.concurrency,
            "prompts": {v.prompt.role: v.template for v in versions},
        },
        "curriculum": {"strategy": curriculum.strategy, "params": params},
        "train": {"steps_per_round": steps_per_round, "batch_size": batch_size, "lr": lr},
        "rounds": rounds,
        "seed": seed,
        "device": device,
        "synth_requires_review": synth_requires_review,
    }
    try:
        spec = RunSpec.from_dict(raw).to_dict()
    except SpecError as exc:
        raise ValidationError({exc.field: str(exc)}) from None
    # The worker fills the teacher's allow list from the settings when it runs (so a
    # changed STUDIO_TEACHER_ALLOWED_HOSTS applies); the stored snapshot holds none.
    spec["teacher"].pop("allowed_hosts", None)
    return spec


def _check_model_dirs(*, project: Project, student: StudentSpec, teacher: TeacherConfig) -> None:
    """A launch refuses model directories outside the roots or of another team's runs (the
    student or teacher may predate the rule, or the folder may have moved since)."""
    if student.model_dir and not model_dir_allowed(student.model_dir, team_id=project.team_id):
        raise ValidationError({"spec.student.model_dir": MODEL_DIR_REFUSED})
    if (teacher.kind == TeacherKind.HF_LOCAL
            and not model_dir_allowed(teacher.model_dir, team_id=project.team_id)):
        raise ValidationError({"spec.teacher.model_dir": MODEL_DIR_REFUSED})


@transaction.atomic
def run_create(
    *, user, project: Project, student: StudentSpec, teacher_config: TeacherConfig,
    curriculum: Curriculum, name: str = "", rounds: int = 5, steps_per_round: int = 100,
    batch_size: int = 32, lr: float = 1e-3, eval_size: int = 200, seed: int = 0,
    synth_requires_review: bool | None = None,
    prompt_versions: Sequence[TeacherPromptVersion] | None = None, device: str = "auto",
    enqueue: bool = True,
) -> Run:
    """A queued run with its frozen spec; the GPU task is sent after commit."""
    require_role(user, project.team, Role.EDITOR)
    for field, obj in (("student", student), ("teacher_config", teacher_config),
                       ("curriculum", curriculum)):
        if obj.project_id != project.pk:
            raise ValidationError({field: f"{obj} belongs to another project"})
    if prompt_versions is None:
        versions = list(prompt_versions_current(project=project).values())
    else:
        versions = list(prompt_versions)
    roles: set[str] = set()
    for v in versions:
        if v.prompt.project_id != project.pk:
            raise ValidationError({"prompt_versions": f"{v} belongs to another project"})
        if v.prompt.role in roles:
            raise ValidationError({"prompt_versions": f"two versions for role {v.prompt.role}"})
        roles.add(v.prompt.role)
    if synth_requires_review is None:
        synth_requires_review = project.require_review
    if isinstance(seed, bool) or not isinstance(seed, int) or not INT32_MIN <= seed <= INT32_MAX:
        raise ValidationError({"seed": f"must be a whole number from {INT32_MIN} to {INT32_MAX}"})
    params = curriculum_params_clean(strategy=curriculum.strategy, params=curriculum.params)
    _check_model_dirs(project=project, student=student, teacher=teacher_config)
    spec = _build_spec(
        project=project, student=student, teacher=teacher_config, curriculum=curriculum,
        params=params, versions=versions, rounds=rounds, steps_per_round=steps_per_round,
        batch_size=batch_size, lr=lr, eval_size=eval_size, seed=seed,
        synth_requires_review=synth_requires_review, device=device,
    )
    run = Run.objects.create(
        project=project, name=(name or "").strip() or f"{curriculum.name} seed {seed}",
        student=student, teacher_config=teacher_config, curriculum=curriculum, rounds=rounds,
        steps_per_round=steps_per_round, batch_size=batch_size, lr=lr, eval_size=eval_size,
        seed=seed, synth_requires_review=synth_requires_review, spec=spec, created_by=user,
    )
    run.prompt_versions.set(versions)
    run_pool_record(run=run)
    if enqueue:
        enqueue_run_on_commit(run.pk)
    return run


@transaction.atomic
def run_pause(*, user, run: Run) -> Run:
    """Ask a running run to pause after its current round (the worker pauses it)."""
    require_role(user, run.project.team, Role.EDITOR)
    _require_control("pause", run.status, "only a running run can be paused (it is {status})")
    # A cancel already asked for wins over a later pause.
    Run.objects.filter(pk=run.pk).exclude(stop_request=Run.StopRequest.CANCEL).update(
        stop_request=Run.StopRequest.PAUSE
    )
    run.refresh_from_db()
    return run


@transaction.atomic
def run_cancel(*, user, run: Run) -> Run:
    """Cancel now when queued or paused; a running run is asked to stop (the worker
    cancels it at its next step)."""
    require_role(user, run.project.team, Role.EDITOR)
    _require_control("cancel", run.status,
                     "only a queued, running, paused or waiting run can be cancelled "
                     "(it is {status})")
    if run.status == RunStatus.RUNNING:
        Run.objects.filter(pk=run.pk).update(stop_request=Run.StopRequest.CANCEL)
        run.refresh_from_db()
        return run
    return _transition_or_refuse(run, RunStatus.CANCELLED)


@transaction.atomic
def run_resume(*, user, run: Run, enqueue: bool = True) -> Run:
    """paused -> queued; the run continues from its last finished round."""
    require_role(user, run.project.team, Role.EDITOR)
    _require_control("resume", run.status, "only a paused run can be resumed (it is {status})")
    _transition_or_refuse(run, RunStatus.QUEUED)
    run_mark_enqueued(run=run)
    if enqueue:
        enqueue_run_on_commit(run.pk)
    return run


def _require_control(action: str, status: str, refusal: str) -> None:
    """Refuse ``action`` unless ``CONTROLS`` allows it in ``status``; ``refusal`` is the
    message, ``{status}`` in it the run's status."""
    if not control_allowed(action, status):
        raise ValidationError({"status": refusal.format(status=status)})


def _transition_or_refuse(run: Run, to: str) -> Run:
    """A status change a person asked for; a lost race becomes a clear ValidationError."""
    try:
        return transition(run, to)
    except TransitionError as exc:
        raise ValidationError({"status": str(exc)}) from None


def run_launch(
    *, user, project: Project, student: StudentSpec, teacher_config: TeacherConfig,
    curriculum: Curriculum, **options: Any,
) -> Run:
    """Create a run and hand it to the GPU workers once the transaction commits.

    ``options`` are :func:`run_create`'s keywords (name, rounds, steps_per_round, batch_size,
    lr, eval_size, seed, synth_requires_review, prompt_versions, device).
    """
    options.pop("enqueue", None)
    with transaction.atomic():
        run = run_create(
            user=user, project=project, student=student, teacher_config=teacher_config,
            curriculum=curriculum, enqueue=True, **options,
        )
        run_mark_enqueued(run=run)
        run_event_log(run=run, message=f"launched by {getattr(user, 'username', '') or 'system'}")
    run.refresh_from_db()
    return run


@transaction.atomic
def run_retry(*, user, run: Run, enqueue: bool = True) -> Run:
    """failed -> queued: run again from its last finished round (its rounds are kept)."""
    require_role(user, run.project.team, Role.EDITOR)
    _require_control("retry", run.status, "only a failed run can be retried (it is {status})")
    previous = run.error
    try:
        run_requeue_failed(run)
    except TransitionError as exc:
        raise ValidationError({"status": str(exc)}) from None
    run_mark_enqueued(run=run)
    run_event_log(
        run=run, message=f"retried from round {run.current_round} (it had failed: {previous})"
    )
    if enqueue:
        enqueue_run_on_commit(run.pk)
    return run


@transaction.atomic
def run_delete(*, user, run: Run) -> None:
    """Delete a run that no worker is running, with its rounds, stats and events; its
    checkpoints are removed from the artifacts store by a worker after commit.

    A running run is refused: cancel it first (the worker may be writing a checkpoint).
    """
    require_role(user, run.project.team, Role.EDITOR)
    locked = Run.objects.select_for_update().filter(pk=run.pk).first()
    if locked is None:
        raise ValidationError({"run": f"run {run.pk} no longer exists"})
    _require_control("delete", locked.status, (
        "a {status} run cannot be deleted; cancel it first and wait until it has stopped"
    ))
    run_id = locked.pk
    locked.delete()
    enqueue_artifacts_delete_on_commit(run_id)
