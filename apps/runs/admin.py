from django.contrib import admin

from apps.common.admin_scoping import TeamScopedAdmin
from apps.runs.models import (
    EvalFailure,
    LevelStat,
    Round,
    Run,
    RunEvent,
    SkillStat,
    StudentSpec,
)


@admin.register(StudentSpec)
class StudentSpecAdmin(TeamScopedAdmin):
    team_path = "project__team"
    list_display = ["name", "project", "preset", "model_dir", "max_length"]


@admin.register(Run)
class RunAdmin(TeamScopedAdmin):
    team_path = "project__team"
    list_display = ["name", "project", "status", "current_round", "rounds", "worker", "created_at"]
    list_filter = ["status"]
    search_fields = ["name"]
    # Status and worker bookkeeping change only through the state machine.
    readonly_fields = [
        "status", "stop_request", "spec", "error", "current_round", "worker", "claimed_at",
        "heartbeat_at", "started_at", "finished_at", "created_by", "created_at",
    ]


@admin.register(Round)
class RoundAdmin(TeamScopedAdmin):
    team_path = "run__project__team"
    list_display = ["run", "index", "checkpoint_path", "finished_at"]
    list_select_related = ["run"]


@admin.register(SkillStat)
class SkillStatAdmin(TeamScopedAdmin):
    team_path = "run__project__team"
    list_display = ["round", "skill", "evaluated", "failed", "miss_rate", "miss_share", "accuracy"]
    list_select_related = ["round__run", "skill"]


@admin.register(LevelStat)
class LevelStatAdmin(TeamScopedAdmin):
    team_path = "run__project__team"
    list_display = ["round", "level", "sampling_probability", "success_rate", "strategy_score",
                    "samples", "evaluated"]
    list_select_related = ["round__run"]


@admin.register(RunEvent)
class RunEventAdmin(TeamScopedAdmin):
    team_path = "run__project__team"
    list_display = ["run", "kind", "round", "step", "loss", "message", "created_at"]
    list_filter = ["kind"]


@admin.register(EvalFailure)
class EvalFailureAdmin(TeamScopedAdmin):
    team_path = "run__project__team"
    list_display = ["round", "item_id", "level", "answer", "prediction", "held_out"]
    list_select_related = ["round__run"]
    # What the worker recorded: read only.
    readonly_fields = ["run", "round", "item_id", "prompt", "answer", "prediction", "level",
                       "skills", "blamed", "held_out"]
