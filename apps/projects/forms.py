from django import forms
from django.conf import settings

from apps.common.db import INT32_MAX, INT32_MIN
from apps.common.forms import Form, column_max_length
from apps.common.safejson import JSONInputError, json_loads_safe
from apps.common.widgets import FastSelect, freeze_choices
from apps.projects.creation import MAX_EVAL, MAX_TRAIN
from apps.projects.models import Project, Skill
from workers.engine.api import ANSWER_MODES, FAMILIES

BUILTIN_FAMILIES = [(name, name) for name in FAMILIES if name != "jsonl"]


def _team_field():
    return forms.TypedChoiceField(coerce=int, label="Team",
                                  help_text="The team the project belongs to.")


class _ProjectFields(Form):
    team = _team_field()
    name = forms.CharField(max_length=column_max_length(Project, "name"),
                           help_text="Unique within the team.")
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False,
        help_text="What the student should learn; the teacher sees it as the task.",
    )
    require_review = forms.BooleanField(
        required=False, initial=True, label="Review teacher-made examples",
        help_text="Synthesized examples wait as pending until someone approves them.",
    )
    approved_only = forms.BooleanField(
        required=False, initial=False, label="Use approved items only",
        help_text="With review required, a run goes on with the items approved so far "
                  "instead of waiting until every synthesized item is decided.",
    )

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [(t.pk, t.name) for t in teams]


class FamilyProjectForm(_ProjectFields):
    task_family = forms.ChoiceField(
        choices=BUILTIN_FAMILIES, label="Task family", widget=forms.RadioSelect,
        initial="arithmetic",
    )
    task_options = forms.CharField(
        required=False, label="Task options (JSON)", widget=forms.Textarea(attrs={"rows": 3}),
        help_text='A JSON object, e.g. {"levels": [1, 2, 3], "ops": ["add", "sub"]} for '
                  'arithmetic or {"datasets": {"chain_sum": {}, "products": {}}} for '
                  'reasoning-gym (docs/reasoning_gym.md). '
                  "Leave empty for the defaults.",
    )
    train_size = forms.IntegerField(min_value=1, max_value=MAX_TRAIN, initial=500,
                                    label="Train examples")
    eval_size = forms.IntegerField(min_value=0, max_value=MAX_EVAL, initial=200,
                                   label="Eval examples")
    seed = forms.IntegerField(min_value=INT32_MIN, max_value=INT32_MAX, initial=0,
                              help_text="The draw of the seed pool is repeatable.")

    def clean_task_options(self):
        text = self.cleaned_data["task_options"].strip()
        if not text:
            return {}
        try:
            value = json_loads_safe(text)
        except JSONInputError as exc:
            raise forms.ValidationError(str(exc)) from None
        if not isinstance(value, dict):
            raise forms.ValidationError("must be a JSON object, e.g. {\"levels\": [1, 2]}")
        return value


class JsonlUploadForm(_ProjectFields):
    file = forms.FileField(
        label="JSONL file",
        help_text="One JSON object per line: prompt, answer, skills (1 to 5 names), level; "
                  "optional id and split (train, eval, held_out).",
    )
    answer_mode = forms.ChoiceField(
        choices=[(m, m) for m in ANSWER_MODES], initial="exact",
        help_text="How answers are checked: exact text, normalized (case, spaces and "
                  "punctuation ignored) or numeric.",
    )
    eval_share = forms.FloatField(
        min_value=0.0, max_value=0.9, initial=0.2, label="Eval share",
        help_text="Share of the items without a split that go to eval.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.STUDIO_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"{upload.name} is {upload.size:,} bytes; the limit is {limit:,} bytes"
            )
        return upload


class JsonlConfirmForm(_ProjectFields):
    token = forms.CharField(widget=forms.HiddenInput)
    answer_mode = forms.ChoiceField(choices=[(m, m) for m in ANSWER_MODES],
                                    widget=forms.HiddenInput)
    eval_share = forms.FloatField(min_value=0.0, max_value=0.9, widget=forms.HiddenInput)
    drop_eval_duplicates = forms.BooleanField(
        required=False, label="Drop the train rows that duplicate eval rows",
        help_text="Train rows whose prompt is also an eval or held-out row's are left out; "
                  "without this the file is refused.",
    )


class ReviewSettingsForm(Form):
    require_review = forms.BooleanField(required=False, label="Review teacher-made examples")
    approved_only = forms.BooleanField(required=False, label="Use approved items only")


class SkillForm(Form):
    name = forms.CharField(max_length=column_max_length(Skill, "name"),
                           help_text="Unique within the project, e.g. carry.")
    description = forms.CharField(required=False, help_text="One sentence the teacher reads.")
    parent = forms.ModelChoiceField(
        queryset=Skill.objects.none(), required=False, empty_label="(top level)",
        help_text="Put it under a broader skill to build a tree.", widget=FastSelect,
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Skill.objects.filter(project=project).order_by("name")
        freeze_choices(self, "parent")


class SkillRenameForm(Form):
    name = forms.CharField(max_length=column_max_length(Skill, "name"), label="New name")


class SkillMoveForm(Form):
    parent = forms.ModelChoiceField(
        queryset=Skill.objects.none(), required=False, empty_label="(top level)",
        label="Move under", widget=FastSelect,
    )

    def __init__(self, *args, skill, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = (
            Skill.objects.filter(project=skill.project_id).exclude(pk=skill.pk).order_by("name")
        )
        freeze_choices(self, "parent")


class SkillMergeForm(Form):
    target = forms.ModelChoiceField(
        queryset=Skill.objects.none(), label="Merge into", widget=FastSelect,
        help_text="This skill's examples and sub-skills move to the chosen skill, then this "
                  "skill is deleted.",
    )

    def __init__(self, *args, skill, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = (
            Skill.objects.filter(project=skill.project_id).exclude(pk=skill.pk).order_by("name")
        )
        freeze_choices(self, "target")


class ExtractForm(Form):
    teacher = forms.ModelChoiceField(queryset=None, empty_label=None, widget=FastSelect,
                                     help_text="The teacher that reads the sample items.")
    sample_size = forms.IntegerField(min_value=1, max_value=50, initial=20,
                                     label="Sample items",
                                     help_text="How many approved examples it reads.")

    def __init__(self, *args, teachers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teacher"].queryset = teachers
        freeze_choices(self, "teacher")


class ExampleImportForm(Form):
    """Step 1 of an import into a project: the file and how to read it."""

    file = forms.FileField(
        label="File (JSONL or CSV)",
        help_text="Ours (prompt, answer, skills, level, split), OpenAI chat (messages) or TRL "
                  "(prompt and completion, as text or message lists); docs/api.md, "
                  "\"Formats\".")
    format = forms.ChoiceField(choices=[
        ("auto", "Detect from the rows"), ("ours", "Ours"), ("openai", "OpenAI chat"),
        ("trl", "TRL prompt-completion"), ("trl_chat", "TRL conversational")], initial="auto")
    default_skill = forms.CharField(
        max_length=100, initial="general",
        help_text="The skill of rows that name none (OpenAI chat and TRL rows).")
    default_level = forms.IntegerField(min_value=0, max_value=INT32_MAX, initial=1,
                                       help_text="The level of rows that give none.")


class ExampleImportConfirmForm(Form):
    """Step 2: the checked upload and the same reading options."""

    token = forms.CharField(max_length=32, widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=[("jsonl", "jsonl"), ("csv", "csv")],
                             widget=forms.HiddenInput)
    format = forms.CharField(max_length=10, widget=forms.HiddenInput)
    default_skill = forms.CharField(max_length=100, widget=forms.HiddenInput)
    default_level = forms.IntegerField(min_value=0, max_value=INT32_MAX,
                                       widget=forms.HiddenInput)
