from django import forms

from apps.common.forms import Form
from apps.prompts.models import PromptRole, TeacherKind


class TeacherForm(Form):
    name = forms.CharField(max_length=100, help_text="Unique within the project, e.g. gpt-4o.")
    kind = forms.ChoiceField(
        choices=TeacherKind.choices, initial=TeacherKind.ORACLE, label="Backend",
        widget=forms.RadioSelect,
    )
    base_url = forms.CharField(
        max_length=500, required=False, label="Base URL",
        help_text="OpenAI-compatible only: the API root, e.g. https://api.openai.com/v1. A "
                  "loopback or private host (a local vLLM or Ollama) must be on the server's "
                  "STUDIO_TEACHER_ALLOWED_HOSTS.",
    )
    model = forms.CharField(max_length=200, required=False,
                            help_text="OpenAI-compatible only: the model name to ask for.")
    api_key = forms.CharField(
        max_length=500, required=False, label="API key", strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted and never shown again. Leave blank to keep the stored "
                  "key (or for servers that need none); a new base URL or backend needs the "
                  "key typed again, else the stored key is removed.",
    )
    clear_api_key = forms.BooleanField(required=False, label="Remove the stored key")
    model_dir = forms.CharField(
        max_length=500, required=False, label="Local model directory",
        help_text="Local model only: a Hugging Face model directory on the worker machines, "
                  "under the model roots (STUDIO_MODEL_ROOTS) or a checkpoint of this "
                  "team's runs.",
    )
    timeout_s = forms.FloatField(min_value=0.1, initial=60.0, label="Timeout (seconds)",
                                 help_text="Per request; a test call waits at most 15 s.")
    max_retries = forms.IntegerField(min_value=0, max_value=10, initial=3,
                                     help_text="Retries on rate limits, server errors, timeouts.")
    concurrency = forms.IntegerField(min_value=1, max_value=64, initial=4,
                                     help_text="Requests in flight at once.")
    check_connection = forms.BooleanField(
        required=False, initial=True, label="Check the connection before saving",
        help_text="Makes one real call; the teacher is saved only if it answers.",
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not editing:
            del self.fields["clear_api_key"]

    def teacher_fields(self) -> dict:
        data = self.cleaned_data
        return {name: data[name] for name in (
            "name", "kind", "base_url", "model", "model_dir", "timeout_s", "max_retries",
            "concurrency")}


class PromptNewForm(Form):
    role = forms.ChoiceField(choices=PromptRole.choices)
    name = forms.CharField(max_length=100, help_text="e.g. terse-grader; unique per role.")
    template = forms.CharField(widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}))
    note = forms.CharField(max_length=200, required=False, help_text="What this version changes.")


class PromptVersionForm(Form):
    template = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false"}), strip=False,
        help_text="Use {{ name }} placeholders for the variables listed; nothing else.",
    )
    note = forms.CharField(max_length=200, required=False, help_text="What this version changes.")


class PreviewForm(Form):
    template = forms.CharField(strip=False, required=False, widget=forms.HiddenInput)
    example = forms.IntegerField(
        required=False, min_value=1, label="Example #",
        help_text="An example of this project; blank: the first eval example.",
    )
    prediction = forms.CharField(required=False, label="Student answer (grade only)")


class TryForm(PreviewForm):
    teacher = forms.ModelChoiceField(queryset=None, empty_label=None)

    def __init__(self, *args, teachers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teacher"].queryset = teachers


class DiffForm(Form):
    a = forms.IntegerField(min_value=1, label="From version")
    b = forms.IntegerField(min_value=1, label="To version")
