from django.contrib import admin

from apps.common.admin_scoping import TeamScopedAdmin, TeamScopedTabularInline
from apps.projects.models import (
    Example,
    ExampleSkill,
    ImportJob,
    Project,
    Skill,
    SkillExtraction,
    SkillProposal,
)


@admin.register(Project)
class ProjectAdmin(TeamScopedAdmin):
    list_display = ["name", "team", "task_family", "require_review", "created_at"]
    list_filter = ["task_family", "require_review"]
    search_fields = ["name", "team__name"]


@admin.register(Skill)
class SkillAdmin(TeamScopedAdmin):
    team_path = "project__team"
    list_display = ["name", "project", "parent", "origin"]
    list_filter = ["origin"]
    search_fields = ["name", "description"]


class ExampleSkillInline(TeamScopedTabularInline):
    model = ExampleSkill
    extra = 0
    raw_id_fields = ["skill"]


@admin.register(Example)
class ExampleAdmin(TeamScopedAdmin):
    team_path = "project__team"
    list_display = ["id", "project", "level", "split", "origin", "review_status", "created_at"]
    list_filter = ["split", "origin", "review_status", "level"]
    search_fields = ["prompt", "answer", "key"]
    raw_id_fields = ["prompt_version", "round", "triggering_example"]
    list_select_related = ["project"]
    inlines = [ExampleSkillInline]


@admin.register(ExampleSkill)
class ExampleSkillAdmin(TeamScopedAdmin):
    team_path = "example__project__team"
    list_display = ["skill", "example"]
    raw_id_fields = ["example", "skill"]


@admin.register(SkillExtraction)
class SkillExtractionAdmin(TeamScopedAdmin):
    team_path = "project__team"
    list_display = ["id", "project", "status", "teacher_config", "created_at", "finished_at"]
    list_filter = ["status"]
    raw_id_fields = ["teacher_config", "prompt_version"]


@admin.register(SkillProposal)
class SkillProposalAdmin(TeamScopedAdmin):
    team_path = "project__team"
    list_display = ["name", "project", "status", "extraction", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "description"]
    raw_id_fields = ["extraction", "skill"]


@admin.register(ImportJob)
class ImportJobAdmin(TeamScopedAdmin):
    team_path = "project__team"
    list_display = ["id", "project", "status", "total_rows", "done_rows", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["created_by"]
