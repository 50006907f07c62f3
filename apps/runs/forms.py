"""The launch form. Only the web-side choices live here; the run itself is validated by
the services and by ``RunSpec.from_dict`` (their errors are put back on these fields)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from apps.common.db import INT32_MAX, INT32_MIN
from apps.common.forms import Form, add_service_errors
from apps.common.widgets import FastSelect, freeze_choices
from apps.curricula.models import Curriculum
from apps.prompts.models import TeacherConfig
from apps.runs.models import StudentSpec

# Small defaults: a tiny preset student finishes a run like this on a CPU in seconds.
LAUNCH_DEFAULTS = {
    "preset": StudentSpec.Preset.TINY, "max_length": 64, "rounds": 2, "steps_per_round": 20,
    "batch_size": 16, "lr": 1e-3, "eval_size": 40, "seed": 0, "device": "auto",
}
DEVICES = [("auto", "auto (GPU if the worker has one)"), ("cpu", "cpu"), ("cuda", "cuda")]

# RunSpec and service error keys -> the form field they belong to (longest prefix wins).
ERROR_FIELDS = {
    "spec.rounds": "rounds",
    "spec.seed": "seed",
    "spec.device": "device",
    "spec.synth_requires_review": "synth_requires_review",
    "spec.train.steps_per_round": "steps_per_round",
    "spec.train.batch_size": "batch_size",
    "spec.train.lr": "lr",
    "spec.task.eval_size": "eval_size",
    "spec.student.max_length": "max_length",
    "spec.student.model_dir": "model_dir",
    "spec.student": "preset",
    "spec.teacher": "teacher_config",
    "spec.curriculum": "curriculum",
    "params": "curriculum",
    "student": "preset",
    "lora": "preset",
}


class RunLaunchForm(Form):
    name = forms.CharField(max_length=200, required=False,
                           help_text="Leave empty for '<curriculum> seed <seed>'.")
    preset = forms.ChoiceField(
        required=False,
        choices=[("", "(none: load a local model directory)")] + list(StudentSpec.Preset.choices),
        help_text="A small model trained from scratch with a character tokenizer.",
    )
    model_dir = forms.CharField(
        max_length=500, required=False, label="Local model directory",
        help_text="An absolute path to a Hugging Face model directory on the GPU workers "
                  "(instead of a preset): under the model roots (STUDIO_MODEL_ROOTS) or a "
                  "checkpoint of this team's runs.",
    )
    max_length = forms.IntegerField(min_value=8, max_value=4096,
                                    help_text="Tokens per prompt and answer.")
    teacher_config = forms.ModelChoiceField(queryset=TeacherConfig.objects.none(),
                                            label="Teacher", empty_label=None,
                                            widget=FastSelect)
    curriculum = forms.ModelChoiceField(queryset=Curriculum.objects.none(), empty_label=None,
                                        widget=FastSelect)
    rounds = forms.IntegerField(min_value=1, max_value=1000)
    steps_per_round = forms.IntegerField(min_value=1, max_value=1_000_000)
    batch_size = forms.IntegerField(min_value=1, max_value=4096)
    # Left unbounded here: RunSpec decides what a valid learning rate is.
    lr = forms.FloatField(label="Learning rate", widget=forms.NumberInput(attrs={"step": "any"}))
    eval_size = forms.IntegerField(min_value=1, max_value=1_000_000,
                                   help_text="Items in the eval split.")
    seed = forms.IntegerField(min_value=INT32_MIN, max_value=INT32_MAX)
    device = forms.ChoiceField(choices=DEVICES)
    synth_requires_review = forms.BooleanField(
        required=False, label="Synthesized data waits for review",
        help_text="Teacher-made items stay pending until a person approves them.",
    )

    def __init__(self, *args, project, teachers, curricula, **kwargs):
        initial = {**LAUNCH_DEFAULTS, "synth_requires_review": project.require_review,
                   **kwargs.pop("initial", {})}
        super().__init__(*args, initial=initial, **kwargs)
        self.project = project
        self.fields["teacher_config"].queryset = teachers
        self.fields["curriculum"].queryset = curricula
        freeze_choices(self, "teacher_config", "curriculum")

    def clean(self):
        data = super().clean()
        preset = data.get("preset") or ""
        model_dir = (data.get("model_dir") or "").strip()
        data["model_dir"] = model_dir
        if bool(preset) == bool(model_dir):
            raise ValidationError("Choose a preset or give a local model directory (not both).")
        if model_dir and not model_dir.startswith("/"):
            self.add_error("model_dir", f"{model_dir!r} is not an absolute path")
        return data

    def add_service_errors(self, exc: ValidationError) -> None:
        """Show a service's (or RunSpec's) error on the field it names."""
        add_service_errors(
            self, exc, name_unplaced=True,
            field_for=lambda key: key if key in self.fields else _field_for_key(key),
        )


def _field_for_key(key: str) -> str | None:
    best = ""
    for prefix in ERROR_FIELDS:
        if (key == prefix or key.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    return ERROR_FIELDS.get(best)

