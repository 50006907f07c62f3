from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Role
from apps.accounts.permissions import require_role
from apps.curricula.models import Curriculum
from apps.curricula.services import curriculum_params_clean
from apps.projects.models import Example, Project, Skill
from apps.prompts.models import TeacherConfig, TeacherPromptVersion
from apps.prompts.selectors import prompt_versions_current
from apps.runs.dispatch import enqueue_run_on_commit
from apps.runs.models import LevelStat, Round, Run, RunEvent, RunStatus, SkillStat, StudentSpec
from apps.runs.states import transition
from workers.engine.errors import SpecError
from workers.engine.spec import RunSpec


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
    elif StudentSpec.objects.filter(project=project, name=name).exists():
        errors["name"] = f"project {project.name!r} already has a student {name!r}"
    if bool(preset) == bool(model_dir):
        errors["preset"] = "give exactly one of a preset or a model directory"
    if preset and preset not in StudentSpec.Preset.values:
        errors["preset"] = f"must be one of {', '.join(StudentSpec.Preset.values)}"
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
    pool = Example.objects.filter(
        project=project, split=Example.Split.TRAIN, review_status=Example.ReviewStatus.APPROVED
    ).count()
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
        return RunSpec.from_dict(raw).to_dict()
    except SpecError as exc:
        raise ValidationError({exc.field: str(exc)}) from None


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
    params = curriculum_params_clean(strategy=curriculum.strategy, params=curriculum.params)
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
    if enqueue:
        enqueue_run_on_commit(run.pk)
    return run


@transaction.atomic
def run_pause(*, user, run: Run) -> Run:
    """Ask a running run to pause after its current round (the worker pauses it)."""
    require_role(user, run.project.team, Role.EDITOR)
    if run.status != RunStatus.RUNNING:
        raise ValidationError({"status": f"only a running run can be paused (it is {run.status})"})
    Run.objects.filter(pk=run.pk).update(stop_request=Run.StopRequest.PAUSE)
    run.refresh_from_db()
    return run


@transaction.atomic
def run_cancel(*, user, run: Run) -> Run:
    """Cancel now when queued or paused; a running run is asked to stop (the worker
    cancels it at its next step)."""
    require_role(user, run.project.team, Role.EDITOR)
    if run.status == RunStatus.RUNNING:
        Run.objects.filter(pk=run.pk).update(stop_request=Run.StopRequest.CANCEL)
        run.refresh_from_db()
        return run
    return transition(run, RunStatus.CANCELLED)


@transaction.atomic
def run_resume(*, user, run: Run, enqueue: bool = True) -> Run:
    """paused -> queued; the run continues from its last finished round."""
    require_role(user, run.project.team, Role.EDITOR)
    transition(run, RunStatus.QUEUED)
    if enqueue:
        enqueue_run_on_commit(run.pk)
    return run


# --- Worker-side writes: called by the GPU task, not by people (no role check). ----------


@transaction.atomic
def round_record(
    *, run: Run, index: int, metrics: Mapping, plan: Mapping | None = None,
    curriculum_state: Mapping | None = None, checkpoint_path: str = "",
    profile: Sequence = (), levels: Sequence = (),
    level_probabilities: Mapping[int, float] | None = None,
    level_scores: Mapping[int, float] | None = None,
    level_samples: Mapping[int, int] | None = None, started_at: datetime | None = None,
) -> Round:
    """Write one finished round with its profile and level stats, all or nothing.

    ``profile`` holds engine ``SkillStat`` rows (``workers.engine.profile``), ``levels``
    engine ``LevelStat`` rows; probabilities, scores and samples come from the strategy.
    Recording the same index twice is refused (the round is already there).
    """
    if Round.objects.filter(run=run, index=index).exists():
        raise ValidationError({"index": f"run {run.pk} already has round {index}"})
    skills = {s.name: s for s in Skill.objects.filter(project=run.project_id)}
    unknown = [row.skill for row in profile if row.skill not in skills]
    if unknown:
        raise ValidationError({"profile": f"unknown skills: {', '.join(sorted(unknown))}"})
    rnd = Round.objects.create(
        run=run, index=index, metrics=dict(metrics), plan=dict(plan or {}),
        curriculum_state=dict(curriculum_state or {}), checkpoint_path=checkpoint_path,
        started_at=started_at, finished_at=timezone.now(),
    )
    SkillStat.objects.bulk_create([
        SkillStat(
            run=run, round=rnd, skill=skills[row.skill], evaluated=row.evaluated,
            failed=row.failed, miss_rate=row.miss_rate, miss_share=row.miss_share,
            accuracy=row.accuracy,
        )
        for row in profile
    ])
    probabilities = dict(level_probabilities or {})
    scores = dict(level_scores or {})
    samples = dict(level_samples or {})
    by_level = {row.level: row for row in levels}
    all_levels = sorted(set(by_level) | set(probabilities) | set(samples))
    LevelStat.objects.bulk_create([
        LevelStat(
            run=run, round=rnd, level=lv,
            sampling_probability=probabilities.get(lv, 0.0),
            success_rate=by_level[lv].success_rate if lv in by_level else 0.0,
            evaluated=by_level[lv].evaluated if lv in by_level else 0,
            strategy_score=scores.get(lv), samples=samples.get(lv, 0),
        )
        for lv in all_levels
    ])
    Run.objects.filter(pk=run.pk, current_round__lt=index).update(current_round=index)
    run.refresh_from_db()
    return rnd


def run_event_log(
    *, run: Run | int, kind: str = RunEvent.Kind.LOG, message: str = "",
    round: int | None = None, step: int | None = None, total_steps: int | None = None,
    loss: float | None = None, tokens_per_s: float | None = None, eta_s: float | None = None,
) -> RunEvent:
    if kind not in RunEvent.Kind.values:
        raise ValueError(f"unknown event kind {kind!r} (known: {', '.join(RunEvent.Kind.values)})")
    run_id = run if isinstance(run, int) else run.pk
    return RunEvent.objects.create(
        run_id=run_id, kind=kind, message=message, round=round, step=step,
        total_steps=total_steps, loss=loss, tokens_per_s=tokens_per_s, eta_s=eta_s,
    )


@transaction.atomic
def run_fail(*, run: Run, error: str) -> Run:
    """Record a failure: the run goes to failed and the error is kept in an event too."""
    run_event_log(run=run, kind=RunEvent.Kind.ERROR, message=error)
    return transition(run, RunStatus.FAILED, error=error)
