from django.contrib import admin

from apps.accounts.forms import AdminLoginForm
from apps.accounts.models import Membership, Role, Team
from apps.common.admin_scoping import TeamScopedAdmin, TeamScopedTabularInline

# The admin's sign-in counts failed attempts with the site's (apps/accounts/forms.py).
admin.site.login_form = AdminLoginForm


class MembershipInline(TeamScopedTabularInline):
    model = Membership
    extra = 0


@admin.register(Team)
class TeamAdmin(TeamScopedAdmin):
    team_path = ""
    edit_roles = (Role.OWNER,)
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(TeamScopedAdmin):
    edit_roles = (Role.OWNER,)
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "team__name"]
