from django.contrib import admin

from apps.common.admin_scoping import TeamScopedAdmin
from apps.compare.models import Comparison


@admin.register(Comparison)
class ComparisonAdmin(TeamScopedAdmin):
    team_path = "project__team"
    list_display = ["name", "project", "group_by", "created_by", "created_at"]
    search_fields = ["name"]
