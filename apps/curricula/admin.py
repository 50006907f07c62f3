from django.contrib import admin

from apps.common.admin_scoping import TeamScopedAdmin
from apps.curricula.models import Curriculum


@admin.register(Curriculum)
class CurriculumAdmin(TeamScopedAdmin):
    team_path = "project__team"
    list_display = ["name", "project", "strategy", "updated_at"]
    list_filter = ["strategy"]
    search_fields = ["name"]
