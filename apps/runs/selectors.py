from __future__ import annotations

from django.conf import settings
from django.db.models import F, FloatField, OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KT, KeyTextTransform
from django.db.models.functions import Cast
from django.shortcuts import get_object_or_404

from apps.projects.models import Example, Project
from apps.projects.selectors import example_items
from apps.runs.model_paths import model_dir_for_worker
from apps.runs.models import (
    LevelStat,
    Round,
    Run,
    RunEvent,
    SkillStat,
    StudentSpec,
)
from apps.runs.pool import dataset_examples
from workers.engine.api import Item, RunSpec


def run_list_for_user(*, user, project: Project | None = None) -> QuerySet[Run]:
    if not user.is_authenticated:
        return Run.objects.none()
    qs = Run.objects.filter(project__team__memberships__user=user)
    if project is not None:
        qs = qs.filter(project=project)
    return qs.select_related("project__team", "curriculum", "student", "teacher_config")


def run_get_for_user(*, user, pk: int) -> Run:
    """The run, or Http404 when it belongs to a team the user is not in."""
    return get_object_or_404(run_list_for_user(user=user), pk=pk)


def student_list_for_project(*, project: Project) -> QuerySet[StudentSpec]:
    return StudentSpec.objects.filter(project=project).order_by("name")


def run_events_tail(
    *, run: Run, after_id: int | None = None, kind: str | None = None, limit: int = 200
) -> list[RunEvent]:
    """The newest ``limit`` events (oldest first), or those after ``after_id`` (polling)."""
    qs = RunEvent.objects.filter(run=run)
    if kind:
        qs = qs.filter(kind=kind)
    if after_id is not None:
        return list(qs.filter(id__gt=after_id).order_by("id")[:limit])
    return list(reversed(qs.order_by("-id")[:limit]))


def run_progress_latest(*, run: Run) -> RunEvent | None:
    return RunEvent.objects.filter(run=run, kind=RunEvent.Kind.PROGRESS).order_by("-id").first()


# --- The run pages: every read is one query whatever the size of the run. ---------------

# ?sort= keys of the per-skill table -> the ordering; "-key" sorts descending.
SKILL_TABLE_SORTS = {
    "skill": "skill__name", "evaluated": "evaluated", "failed": "failed",
    "accuracy": "accuracy", "miss_rate": "miss_rate", "miss_share": "miss_share",
    "delta": "delta",
}
SKILL_TABLE_DEFAULT_SORT = "-miss_share"


def run_rows_for_project(*, project: Project, offset: int = 0, limit: int = 100) -> list[dict]:
    """One page of the project's runs, newest first, as plain rows (no model instances):
    the run's fields, its curriculum, student and teacher names and ``latest_accuracy``,
    the accuracy of its latest round (read out of the metrics in the database)."""
    latest = (
        Round.objects.filter(run=OuterRef("pk")).order_by("-index")  # (run, index) index
        .annotate(accuracy=Cast(KeyTextTransform("accuracy", "metrics"), FloatField()))
        .values("accuracy")[:1]
    )
    return list(
        Run.objects.filter(project=project)
        .order_by("-created_at", "-id")
        .values("pk", "name", "status", "stop_request", "current_round", "rounds",
                "created_at", curriculum_name=F("curriculum__name"),
                curriculum_strategy=F("curriculum__strategy"), student_name=F("student__name"),
                teacher_name=F("teacher_config__name"),
                latest_accuracy=Subquery(latest, output_field=FloatField()))
        [offset:offset + limit]
    )


def run_count_for_project(*, project: Project) -> int:
    return Run.objects.filter(project=project).count()


# The counts of ``metrics["synth_trained"]`` (synthesized items a round trained on).
SYNTH_TRAINED_KEYS = ("items", "unreviewed", "approved", "edited")


def round_list_light(*, run: Run) -> list[dict]:
    """The run's rounds, oldest first, as ``{id, index, accuracy, seconds, train_seconds, overlap,
    overlap_removed, synth_items, synth_unreviewed, synth_approved, synth_edited}``: only
    the numbers the charts, the ETA and the train/eval overlap line
    need are read out of the metrics, in the database (None where a round lacks one)."""
    def metric(key: str):
        return Cast(KeyTextTransform(key, "metrics"), FloatField())

    def trained(key: str):  # the round's count of synthesized items trained on
        return Cast(KT(f"metrics__synth_trained__{key}"), FloatField())

    return list(
        Round.objects.filter(run=run).order_by("index")
        .values("id", "index", accuracy=metric("accuracy"), seconds=metric("seconds"),
                train_seconds=metric("train_seconds"),
                overlap=metric("overlap"), overlap_removed=metric("overlap_removed"),
                **{f"synth_{key}": trained(key) for key in SYNTH_TRAINED_KEYS})
    )


def round_get(*, run: Run, index: int) -> Round | None:
    return Round.objects.filter(run=run, index=index).first()


def skill_table_sort_clean(sort: str | None, *, has_previous: bool) -> str:
    """``sort`` if the per-skill table can sort by it, else the default sort."""
    key = (sort or "").lstrip("-")
    if key not in SKILL_TABLE_SORTS or (key == "delta" and not has_previous):
        return SKILL_TABLE_DEFAULT_SORT
    return sort


def skill_table(
    *, round: Round | int, previous: Round | int | None, sort: str = SKILL_TABLE_DEFAULT_SORT
) -> list[SkillStat]:
    """The round's Missing-Skill-Profile with ``prev_accuracy`` and ``delta`` (accuracy
    change since ``previous``; None for a skill it did not evaluate), sorted by ``sort``."""
    qs = SkillStat.objects.filter(round=round).select_related("skill")
    if previous is not None:
        # order_by(): without it the models' default orderings join run, project and team
        # into the subquery, once per row.
        prev = SkillStat.objects.filter(round=previous, skill=OuterRef("skill_id")).order_by()
        qs = qs.annotate(prev_accuracy=Subquery(prev.values("accuracy")[:1]))
        qs = qs.annotate(delta=F("accuracy") - F("prev_accuracy"))
    sort = skill_table_sort_clean(sort, has_previous=previous is not None)
    key = sort.lstrip("-")
    expr = F(SKILL_TABLE_SORTS[key])
    ordering = expr.desc(nulls_last=True) if sort.startswith("-") else expr.asc(nulls_last=True)
    rows = list(qs.order_by(ordering, "skill__name"))
    if previous is None:
        for row in rows:
            row.prev_accuracy = None
            row.delta = None
    return rows


def level_rows_for_run(*, run: Run) -> list[dict]:
    """Every round's level stats as plain rows (round index, level, rates), oldest first."""
    return list(
        LevelStat.objects.filter(run=run)
        .order_by("round__index", "level")
        .values("round_id", "level", "sampling_probability", "success_rate",
                "strategy_score", "samples", "evaluated", round_index=F("round__index"))
    )



def round_list_for_run(*, run: Run) -> QuerySet[Round]:
    """The run's rounds, oldest first (index 0 is the initial evaluation)."""
    return Round.objects.filter(run=run).order_by("index")


def round_stats(*, round_ids: list[int]) -> dict[int, dict[str, list[dict]]]:
    """``{round id: {"profile": [...], "levels": [...]}}`` for the given rounds: the
    Missing-Skill-Profile rows (by skill name) and the level stats (by level), as plain
    rows. Two queries whatever the number of rounds."""
    out: dict[int, dict[str, list[dict]]] = {
        pk: {"profile": [], "levels": []} for pk in round_ids}
    profile = (
        SkillStat.objects.filter(round_id__in=round_ids).order_by("round_id", "skill__name")
        .values("round_id", "skill_id", "evaluated", "failed", "miss_rate", "miss_share",
                "accuracy", skill_name=F("skill__name"))
    )
    for row in profile:
        out[row.pop("round_id")]["profile"].append(row)
    levels = (
        LevelStat.objects.filter(round_id__in=round_ids).order_by("round_id", "level")
        .values("round_id", "level", "sampling_probability", "success_rate",
                "strategy_score", "samples", "evaluated")
    )
    for row in levels:
        out[row.pop("round_id")]["levels"].append(row)
    return out


# --- What a GPU worker reads for the run it holds (no role check: workers only). --------


def run_for_worker(*, run_id: int) -> Run:
    return Run.objects.select_related("teacher_config", "project").get(pk=run_id)


def run_spec_for_worker(*, run: Run) -> RunSpec:
    """The run's frozen spec as this worker must run it: the teacher's API key read from its
    config row (the stored spec never holds it), the teacher's allow list from
    ``STUDIO_TEACHER_ALLOWED_HOSTS`` as it is now, and the model directories checked again
    against the model roots and the team's runs and replaced by their resolved paths
    (:class:`ModelLoadError` if one is refused; see ``apps/runs/model_paths.py``)."""
    data = dict(run.spec)
    teacher = {**data.get("teacher", {}), "api_key": run.teacher_config.api_key,
               "allowed_hosts": list(getattr(settings, "STUDIO_TEACHER_ALLOWED_HOSTS", []))}
    student = dict(data.get("student", {}))
    team_id = run.project.team_id
    if student.get("model_dir"):
        student["model_dir"] = model_dir_for_worker(student["model_dir"], team_id=team_id)
    if teacher.get("kind") == "hf_local":
        teacher["model_dir"] = model_dir_for_worker(teacher.get("model_dir", ""),
                                                    team_id=team_id)
    data["teacher"], data["student"] = teacher, student
    return RunSpec.from_dict(data)


def run_items(*, run: Run) -> tuple[list[Item] | None, list[Item] | None]:
    """(pool, eval items) from the project's dataset as it was when the run was launched
    (:mod:`apps.runs.pool`); None where it has none (the engine then draws from the task
    family's sampler).

    Synthesized items are not in it unless a person added them before the launch: the
    run's own ones travel in its checkpoints, and reach its training as people decided
    them (``apps.runs.review_wait``).
    """
    def items(qs) -> list[Item] | None:
        return example_items(qs) or None

    dataset = dataset_examples(project_id=run.project_id, at=run.created_at)
    pool = items(dataset.filter(split=Example.Split.TRAIN))
    eval_items = items(dataset.filter(split__in=[Example.Split.EVAL, Example.Split.HELD_OUT]))
    return pool, eval_items


def run_exists(*, run_id: int) -> bool:
    return Run.objects.filter(pk=run_id).exists()


RESULT_TIMINGS = ("seconds", "train_seconds", "tokens_per_s")


def run_result_rows(*, run: Run) -> list[dict]:
    """Every stored round with its profile and level rows, minus timings and paths: what
    two runs with the same spec and seed must have equal (resume and fault checks)."""
    out = []
    for rnd in Round.objects.filter(run=run).order_by("index"):
        metrics = {k: v for k, v in rnd.metrics.items() if k not in RESULT_TIMINGS}
        out.append({
            "index": rnd.index, "metrics": metrics, "plan": rnd.plan,
            "curriculum_state": rnd.curriculum_state,
            "profile": list(SkillStat.objects.filter(round=rnd).order_by("skill__name").values(
                "skill__name", "evaluated", "failed", "miss_rate", "miss_share", "accuracy")),
            "levels": list(LevelStat.objects.filter(round=rnd).order_by("level").values(
                "level", "sampling_probability", "success_rate", "strategy_score", "samples",
                "evaluated")),
        })
    return out
