from django.conf import settings
from django.db import models

from apps.projects.models import Project


class Comparison(models.Model):
    """A saved comparison of a project's runs: which runs (ids, or a filter resolved each
    time it is opened), how they are grouped and what the deltas are measured against."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="comparisons")
    name = models.CharField(max_length=100)
    # Either the chosen runs, or a saved filter ({"strategies": [...], "statuses": [...]}).
    run_ids = models.JSONField(default=list, blank=True)
    filter = models.JSONField(default=dict, blank=True)
    group_by = models.CharField(max_length=100, default="strategy")
    # "group:<label>", "run:<id>" or "" (the default: the `uniform` group when there is one).
    baseline = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"],
                                    name="comparison_unique_project_name"),
        ]

    def __str__(self) -> str:
        return self.name
