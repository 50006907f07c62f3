"""Admin pages scoped to the teams of the signed-in staff member (superusers see all).

This module knows teams only by lookups and role names (a team's ``memberships`` with
their ``user`` and ``role``), so it imports no app.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied


class TeamScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin that only lists, shows and offers objects of the user's teams.

    ``team_path`` is the lookup from the model to its Team ("" for Team itself), e.g.
    ``"project__team"``. Viewers may look; editing and deleting need one of ``edit_roles``
    (owner or editor by default).
    """

    team_path: str = "team"
    edit_roles: tuple[str, ...] = ("owner", "editor")

    def _member_filter(self, request) -> dict:
        prefix = f"{self.team_path}__" if self.team_path else ""
        return {f"{prefix}memberships__user": request.user}

    def _has_role(self, user, team) -> bool:
        return team.memberships.filter(user=user, role__in=self.edit_roles).exists()

    def team_of(self, obj):
        for attr in self.team_path.split("__") if self.team_path else ():
            obj = getattr(obj, attr)
        return obj

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**self._member_filter(request))

    def _may_edit(self, request, obj) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        return self._has_role(request.user, self.team_of(obj))

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser and not self._has_role(request.user, self.team_of(obj)):
            raise PermissionDenied(f"editing needs the {' or '.join(self.edit_roles)} role "
                                   "in this team")
        super().save_model(request, obj, form, change)

    def _scoped_choices(self, request, model):
        model_admin = self.admin_site._registry.get(model)
        if isinstance(model_admin, TeamScopedAdmin):
            return model_admin.get_queryset(request)
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        qs = self._scoped_choices(request, db_field.related_model)
        if qs is not None:
            kwargs["queryset"] = qs
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        qs = self._scoped_choices(request, db_field.related_model)
        if qs is not None:
            kwargs["queryset"] = qs
        return super().formfield_for_manytomany(db_field, request, **kwargs)
