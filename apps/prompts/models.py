from django.conf import settings
from django.db import models

from apps.common.secrets import EncryptedTextField
from apps.projects.models import Project


class TeacherKind(models.TextChoices):
    ORACLE = "oracle", "Oracle (programmatic)"
    OPENAI = "openai", "OpenAI-compatible endpoint"
    HF_LOCAL = "hf_local", "Local Hugging Face model"


class PromptRole(models.TextChoices):
    EXTRACT_SKILLS = "extract_skills", "Extract skills"
    LABEL_SKILLS = "label_skills", "Label skills"
    GRADE = "grade", "Grade"
    SYNTHESIZE = "synthesize", "Synthesize"
    SOLVE = "solve", "Solve"
    RATE_DIFFICULTY = "rate_difficulty", "Rate difficulty"


class TeacherConfig(models.Model):
    """How to reach a teacher. The API key is write-only: stored encrypted, never rendered,
    and sent only to the base URL it was saved with (docs/security.md)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="teachers")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=TeacherKind.choices, default=TeacherKind.ORACLE)
    base_url = models.CharField(max_length=500, blank=True)
    model = models.CharField(max_length=200, blank=True)
    api_key = EncryptedTextField(blank=True)  # plain in Python, a Fernet token in the DB
    model_dir = models.CharField(max_length=500, blank=True)
    timeout_s = models.FloatField(default=60.0)
    max_retries = models.PositiveSmallIntegerField(default=3)
    concurrency = models.PositiveSmallIntegerField(default=4)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="teacher_unique_project_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key)


class TeacherPrompt(models.Model):
    """A named prompt for one role; its text lives in immutable versions."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompts")
    role = models.CharField(max_length=20, choices=PromptRole.choices)
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "role", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "role", "name"], name="prompt_unique_project_role_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.name}"


class ImmutableVersionError(Exception):
    """A saved prompt version was changed; new text must become a new version."""


class TeacherPromptVersion(models.Model):
    prompt = models.ForeignKey(TeacherPrompt, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    template = models.TextField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["prompt", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["prompt", "version"], name="promptversion_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.prompt} v{self.version}"

    def save(self, *args, **kwargs):
        # Runs and examples point at the exact text they used, so it may never change.
        if not self._state.adding:
            raise ImmutableVersionError(
                f"prompt version {self.prompt} v{self.version} is immutable; "
                "save the new text as a new version"
            )
        super().save(*args, **kwargs)
