from django.conf import settings
from django.db import models

from apps.projects.models import Project


class Curriculum(models.Model):
    """A strategy name plus parameters validated against the strategy's schema."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="curricula")
    name = models.CharField(max_length=100)
    strategy = models.CharField(max_length=50)
    params = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "name"]
        verbose_name_plural = "curricula"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"], name="curriculum_unique_project_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.strategy})"
