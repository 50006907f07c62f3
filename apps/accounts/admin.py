"""Admin pages of teams and memberships.

A membership changes only through the member services (``apps.accounts.services``), here
as on the team page: the last owner of a team can be neither demoted nor removed, and every
change is recorded (who did what to whom) on the team's record of member changes.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from apps.accounts.forms import AdminLoginForm
from apps.accounts.models import Membership, Role, Team
from apps.accounts.services import (
    member_change_problem,
    membership_remove,
    membership_set,
)
from apps.common.admin_scoping import TeamScopedAdmin, TeamScopedTabularInline

# The admin's sign-in counts failed attempts with the site's (apps/accounts/forms.py).
admin.site.login_form = AdminLoginForm


def _owners_after(team, changes: dict) -> int:
    """Owners of ``team`` once ``changes`` (user id -> new role, None: removed) apply."""
    roles = dict(Membership.objects.filter(team=team).values_list("user_id", "role"))
    roles.update(changes)
    return sum(1 for role in roles.values() if role == Role.OWNER)


class MembershipRowsFormSet(BaseInlineFormSet):
    """A team's members in its change page: the rule of the last owner, checked over all
    the rows at once; a row's person is fixed once it is saved (remove it, add another)."""

    def clean(self):
        super().clean()
        if self.instance.pk is None:
            return
        changes = {}
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            old = form.instance if form.instance.pk else None
            if old is not None and "user" in form.changed_data:
                raise ValidationError("A row's person cannot be changed: delete the row and "
                                      "add the new person in a new one.")
            if self.can_delete and self._should_delete_form(form):
                if old is not None:
                    changes[old.user_id] = None
            elif form.cleaned_data.get("user") is not None:
                changes[form.cleaned_data["user"].pk] = form.cleaned_data.get("role")
        had = Membership.objects.filter(team=self.instance, role=Role.OWNER).exists()
        if had and _owners_after(self.instance, changes) == 0:
            raise ValidationError(f"{self.instance.name} would have no owner left: keep one "
                                  "or make someone else owner first.")


class MembershipInline(TeamScopedTabularInline):
    model = Membership
    formset = MembershipRowsFormSet
    extra = 0


class MembershipForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and cleaned.get("role"):
            problem = member_change_problem(team=self.instance.team,
                                            member=self.instance.user, role=cleaned["role"])
            if problem:
                self.add_error("role", problem)
        return cleaned


@admin.register(Team)
class TeamAdmin(TeamScopedAdmin):
    team_path = ""
    edit_roles = (Role.OWNER,)
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        team = form.instance
        removed = formset.deleted_forms
        deleted = [row for row in removed if row.instance.pk]
        changed = [row for row in formset.forms
                   if row not in removed and getattr(row, "cleaned_data", None)
                   and (row.has_changed() or row.instance.pk is None)]
        # what the admin's history entry lists, as formset.save() would have set it
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        # new owners first and removals last, so the team always keeps an owner
        for row in sorted(changed, key=lambda row: row.cleaned_data["role"] != Role.OWNER):
            saved = membership_set(user=request.user, team=team,
                                   member=row.cleaned_data["user"],
                                   role=row.cleaned_data["role"])
            if row.instance.pk is None:
                formset.new_objects.append(saved)
            else:
                formset.changed_objects.append((saved, row.changed_data))
        for row in deleted:
            membership_remove(user=request.user, team=team, member=row.instance.user)
            formset.deleted_objects.append(row.instance)


@admin.register(Membership)
class MembershipAdmin(TeamScopedAdmin):
    form = MembershipForm
    edit_roles = (Role.OWNER,)
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "team__name"]

    def get_readonly_fields(self, request, obj=None):
        # a saved membership changes its role only: a new person is a new membership
        return ("team", "user") if obj is not None else ()

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, each checked and recorded
        return actions

    def has_delete_permission(self, request, obj=None):
        if obj is not None and member_change_problem(team=obj.team, member=obj.user,
                                                     role=None):
            return False  # the last owner
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        self.check_may_save(request, obj)
        saved = membership_set(user=request.user, team=obj.team, member=obj.user,
                               role=obj.role)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        membership_remove(user=request.user, team=obj.team, member=obj.user)
