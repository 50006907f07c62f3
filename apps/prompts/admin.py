from django import forms
from django.contrib import admin, messages
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from apps.common.admin_scoping import TeamScopedAdmin, TeamScopedTabularInline
from apps.prompts.models import TeacherConfig, TeacherPrompt, TeacherPromptVersion
from apps.prompts.services import stored_key_usable


class TeacherConfigForm(forms.ModelForm):
    # The key is write-only: the field is always rendered empty, and left empty it keeps
    # the stored key -- only while kind and base URL stay the same (stored_key_usable).
    api_key = forms.CharField(
        max_length=500, required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored key; a new base URL or backend needs the key "
                  "typed again, else the stored key is removed.",
    )
    stored_key_removed = False

    class Meta:
        model = TeacherConfig
        fields = [
            "project", "name", "kind", "base_url", "model", "api_key", "model_dir", "timeout_s",
            "max_retries", "concurrency",
        ]

    def clean(self):
        data = super().clean()
        teacher = self.instance
        if not data.get("api_key") and teacher.pk and teacher.has_api_key:
            if stored_key_usable(teacher, kind=data.get("kind"),
                                 base_url=data.get("base_url") or ""):
                data["api_key"] = teacher.api_key
            else:
                data["api_key"] = ""
                self.stored_key_removed = True
        return data


@admin.register(TeacherConfig)
class TeacherConfigAdmin(TeamScopedAdmin):
    form = TeacherConfigForm
    team_path = "project__team"
    list_display = ["name", "project", "kind", "model", "has_api_key"]
    list_filter = ["kind"]
    readonly_fields = ["api_key_status"]

    @admin.display(boolean=True, description="API key")
    def has_api_key(self, obj):
        return obj.has_api_key

    @admin.display(description="Stored API key")
    def api_key_status(self, obj):
        return "set" if obj is not None and obj.has_api_key else "not set"

    def get_fields(self, request, obj=None):
        """The key field for those who may change the teacher; "set"/"not set" for all (a
        read-only admin page would otherwise show the stored value)."""
        fields = [f for f in super().get_fields(request, obj) if f != "api_key_status"]
        if obj is not None and not self.has_change_permission(request, obj):
            fields = [f for f in fields if f != "api_key"]
        at = fields.index("api_key") if "api_key" in fields else len(fields)
        return [*fields[:at], "api_key_status", *fields[at:]]

    @method_decorator(sensitive_post_parameters("api_key"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if getattr(form, "stored_key_removed", False):
            messages.warning(request, "The stored API key was removed: it goes only to the "
                                      "base URL and backend it was saved with. Type the key "
                                      "again to use it with the new settings.")


class VersionInline(TeamScopedTabularInline):
    model = TeacherPromptVersion
    extra = 0
    fields = ["version", "note", "created_by", "created_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(TeacherPrompt)
class TeacherPromptAdmin(TeamScopedAdmin):
    team_path = "project__team"
    list_display = ["name", "project", "role", "created_at"]
    list_filter = ["role"]
    inlines = [VersionInline]


@admin.register(TeacherPromptVersion)
class TeacherPromptVersionAdmin(TeamScopedAdmin):
    """Versions are immutable: they can be added and looked at, never edited."""

    team_path = "prompt__project__team"
    list_display = ["prompt", "version", "note", "created_by", "created_at"]
    list_filter = ["prompt__role"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ["prompt", "version", "template", "note", "created_by", "created_at"]
        return ["created_by", "created_at"]

    def has_change_permission(self, request, obj=None):
        # Existing versions are shown read-only (view permission), never saved.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
