"""Admin pages scoped to the teams of the signed-in staff member (superusers see all).

This module knows teams only by lookups and role names (a team's ``memberships`` with
their ``user`` and ``role``, a user's ``memberships`` with their ``team``), so it imports no
app.

What is scoped, for every :class:`TeamScopedAdmin` and every :class:`TeamScopedInline`:

- lists, change pages and inline rows show only objects of the user's teams; another
  team's object (or one that does not exist) is a 404, never a redirect;
- every related object offered or accepted by a form (select, raw-id field, autocomplete,
  many-to-many, the fields of inline rows) is one of the teams where the user holds an
  editing role of that admin; a user (``created_by``, a membership's ``user``) is one who
  belongs to such a team; a related model that has no team scoping offers nothing
  (superusers excepted);
- on top of that, a related object must be in the same team as the object being saved,
  for everyone: a link across teams is a form error on that field, not a save;
- a raw-id field shows the name of its current value only when that value is offered, so
  posting another team's id does not echo its name back.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin import widgets
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.exceptions import (
    ImproperlyConfigured,
    ObjectDoesNotExist,
    PermissionDenied,
    ValidationError,
)
from django.db import models
from django.forms.models import InlineForeignKeyField
from django.http import Http404

from apps.common.forms import SafeJSONField

DEFAULT_EDIT_ROLES = ("owner", "editor")


def _follow(obj, path: str):
    """``obj`` followed along ``path`` ("project__team"); None where a step is missing."""
    for attr in path.split("__") if path else ():
        try:
            obj = getattr(obj, attr)
        except ObjectDoesNotExist:
            return None
        if obj is None:
            return None
    return obj


def _member_lookups(team_path: str, user, roles=None) -> dict:
    prefix = f"{team_path}__" if team_path else ""
    lookups = {f"{prefix}memberships__user": user}
    if roles is not None:
        lookups[f"{prefix}memberships__role__in"] = tuple(roles)
    return lookups


def _scoped_admin(admin_site, model) -> TeamScopedAdmin | None:
    model_admin = admin_site._registry.get(model)
    return model_admin if isinstance(model_admin, TeamScopedAdmin) else None


def related_choices(admin_site, request, model, roles):
    """The objects of ``model`` that ``request.user`` may pick in a form whose saving needs
    one of ``roles``; None (no restriction) for a superuser."""
    user = request.user
    if user.is_superuser:
        return None
    related = _scoped_admin(admin_site, model)
    if related is not None:
        return related.get_queryset(request).filter(
            **_member_lookups(related.team_path, user, roles))
    if model is get_user_model():
        return model._default_manager.filter(
            memberships__team__memberships__user=user,
            memberships__team__memberships__role__in=tuple(roles),
        ).distinct().order_by(model.USERNAME_FIELD)
    # A model without teams (groups, permissions, content types): nothing to offer.
    return model._default_manager.none()


def team_of_object(admin_site, obj):
    """The team of any object whose model has a TeamScopedAdmin; None for other objects."""
    related = _scoped_admin(admin_site, type(obj))
    return None if related is None else related.team_of(obj)


class ScopedRawIdWidget(widgets.ForeignKeyRawIdWidget):
    """A raw-id input that names its current value only when the value is offered."""

    def __init__(self, rel, admin_site, *, queryset, attrs=None, using=None):
        super().__init__(rel, admin_site, attrs=attrs, using=using)
        self.queryset = queryset

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            offered = self.queryset.filter(**{key: value}).exists()
        except (TypeError, ValueError, ValidationError):
            offered = False
        return super().label_and_url_for_value(value) if offered else ("", "")


def _check_same_team(form: forms.BaseForm, admin_site, team_of) -> None:
    """Add a field error for each related object of another team than the form's object."""
    team = team_of(form.instance)
    if team is None:
        return  # the object's own team is not chosen yet: that field has its own error
    for name, field in form.fields.items():
        if name not in form.cleaned_data or isinstance(field, InlineForeignKeyField):
            continue
        if not isinstance(field, forms.ModelChoiceField):
            continue
        value = form.cleaned_data[name]
        if isinstance(field, forms.ModelMultipleChoiceField):
            chosen = list(value or ())
        else:
            chosen = [] if value is None else [value]
        for obj in chosen:
            other = team_of_object(admin_site, obj)
            if other is not None and other != team:
                form.add_error(name, f"{obj} is not in team {team}; pick one of this "
                                     "team's objects")
                break


def _team_checked(form_class, admin_site, team_of):
    """``form_class`` whose validation also refuses related objects of another team."""

    class TeamCheckedForm(form_class):
        def _post_clean(self):
            super()._post_clean()  # builds self.instance from the cleaned data
            _check_same_team(self, admin_site, team_of)

    TeamCheckedForm.__name__ = TeamCheckedForm.__qualname__ = form_class.__name__
    return TeamCheckedForm


class _ScopedFields:
    """Form fields for relations: scoped choices and a raw-id widget that does not leak."""

    def choice_roles(self) -> tuple[str, ...]:
        raise NotImplementedError

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.JSONField) and "form_class" not in kwargs:
            kwargs["form_class"] = SafeJSONField  # deep nesting, NaN, NUL: form errors
            if not db_field.null:  # left empty: the column's default, never NULL
                kwargs.update(empty=db_field.get_default, allow_null=False)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        qs = related_choices(self.admin_site, request, db_field.related_model,
                             self.choice_roles())
        if qs is not None:
            kwargs["queryset"] = qs
            if ("widget" not in kwargs and db_field.name in self.raw_id_fields
                    and db_field.name not in self.get_autocomplete_fields(request)):
                kwargs["widget"] = ScopedRawIdWidget(db_field.remote_field, self.admin_site,
                                                     queryset=qs, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        qs = related_choices(self.admin_site, request, db_field.related_model,
                             self.choice_roles())
        if qs is not None:
            kwargs["queryset"] = qs
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class TeamScopedInline(_ScopedFields, InlineModelAdmin):
    """An inline whose rows and choices are scoped like its parent admin's.

    ``team_path`` is the lookup from the inline's model to its Team; left None, it is the
    one of the model's own TeamScopedAdmin. Use :class:`TeamScopedTabularInline` or
    :class:`TeamScopedStackedInline`.
    """

    team_path: str | None = None

    def _team_path(self) -> str:
        if self.team_path is not None:
            return self.team_path
        own = _scoped_admin(self.admin_site, self.model)
        if own is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__}: set team_path or register {self.model.__name__} "
                "with a TeamScopedAdmin")
        return own.team_path

    def team_of(self, obj):
        return _follow(obj, self._team_path())

    def choice_roles(self) -> tuple[str, ...]:
        parent = _scoped_admin(self.admin_site, self.parent_model)
        return parent.edit_roles if parent is not None else DEFAULT_EDIT_ROLES

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**_member_lookups(self._team_path(), request.user))

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = _team_checked(formset.form, self.admin_site, self.team_of)
        return formset


class TeamScopedTabularInline(TeamScopedInline, admin.TabularInline):
    pass


class TeamScopedStackedInline(TeamScopedInline, admin.StackedInline):
    pass


class TeamScopedAdmin(_ScopedFields, admin.ModelAdmin):
    """A ModelAdmin that only lists, shows and offers objects of the user's teams.

    ``team_path`` is the lookup from the model to its Team ("" for Team itself), e.g.
    ``"project__team"``. Viewers may look; editing and deleting need one of ``edit_roles``
    (owner or editor by default). Inlines must be :class:`TeamScopedInline` (a system
    check says so).
    """

    team_path: str = "team"
    edit_roles: tuple[str, ...] = DEFAULT_EDIT_ROLES

    def _member_filter(self, request) -> dict:
        return _member_lookups(self.team_path, request.user)

    def _has_role(self, user, team) -> bool:
        return team.memberships.filter(user=user, role__in=self.edit_roles).exists()

    def team_of(self, obj):
        return _follow(obj, self.team_path)

    def choice_roles(self) -> tuple[str, ...]:
        return self.edit_roles

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        for inline in self.inlines:
            if not issubclass(inline, TeamScopedInline):
                errors.append(checks.Error(
                    f"{inline.__name__} is not a TeamScopedInline, so its rows and choices "
                    "would not be scoped to the user's teams",
                    hint="derive it from apps.common.admin_scoping.TeamScopedTabularInline",
                    obj=type(self), id="studio.A001",
                ))
        return errors

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**self._member_filter(request))

    def get_object(self, request, object_id, from_field=None):
        """Another team's object is not found: a 404, as on the site's pages."""
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id in your teams.")
        return obj

    def _may_edit(self, request, obj) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        return self._has_role(request.user, self.team_of(obj))

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return _team_checked(form, self.admin_site, self.team_of)

    def get_changelist_form(self, request, **kwargs):
        form = super().get_changelist_form(request, **kwargs)
        return _team_checked(form, self.admin_site, self.team_of)

    def check_may_save(self, request, obj) -> None:
        """PermissionDenied unless the user may save ``obj`` in its team (an admin that
        saves through a service calls this first)."""
        team = self.team_of(obj)
        if not request.user.is_superuser and (team is None
                                              or not self._has_role(request.user, team)):
            raise PermissionDenied(f"editing needs the {' or '.join(self.edit_roles)} role "
                                   "in this team")

    def save_model(self, request, obj, form, change):
        self.check_may_save(request, obj)
        super().save_model(request, obj, form, change)
