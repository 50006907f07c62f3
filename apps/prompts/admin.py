from django import forms
from django.contrib import admin

from apps.common.admin_scoping import TeamScopedAdmin
from apps.prompts.models import TeacherConfig, TeacherPrompt, TeacherPromptVersion


class TeacherConfigForm(forms.ModelForm):
    # The key is write-only: the field is always rendered empty, and left empty it keeps
    # the stored key.
    api_key = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored key.",
    )

    class Meta:
        model = TeacherConfig
        fields = [
            "project", "name", "kind", "base_url", "model", "api_key", "model_dir", "timeout_s",
            "max_retries", "concurrency",
        ]

    def clean_api_key(self):
        value = self.cleaned_data.get("api_key")
        if not value and self.instance.pk:
            return self.instance.api_key
        return value


@admin.register(TeacherConfig)
class TeacherConfigAdmin(TeamScopedAdmin):
    form = TeacherConfigForm
    team_path = "project__team"
    list_display = ["name", "project", "kind", "model", "has_api_key"]
    list_filter = ["kind"]

    @admin.display(boolean=True, description="API key")
    def has_api_key(self, obj):
        return obj.has_api_key


class VersionInline(admin.TabularInline):
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
