from django.conf import settings
from django.db import models

from apps.projects.models import Example, Project


class ReviewDecision(models.Model):
    """One person's decision on one example: what it was before and after, so it can be
    undone and counted (teacher-vs-human agreement, reviewer throughput). A bulk decision
    writes one row per item, all with the same ``batch``."""

    class Action(models.TextChoices):
        ACCEPT = "accept", "Accepted"
        REJECT = "reject", "Rejected"
        EDIT = "edit", "Edited and accepted"

    class Reason(models.TextChoices):
        WRONG_ANSWER = "wrong_answer", "Wrong answer"
        AMBIGUOUS = "ambiguous", "Ambiguous or unclear question"
        WRONG_SKILL = "wrong_skill", "Wrong skill or level"
        DUPLICATE = "duplicate", "Duplicate or near-duplicate"
        OFF_TASK = "off_task", "Off task or malformed"
        OTHER = "other", "Other (say why)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    # (indexed with the id below; the FKs that only deletions follow carry no index, to keep
    # a bulk INSERT of 10,000 decisions light)
    example = models.ForeignKey(Example, on_delete=models.CASCADE, related_name="decisions",
                                db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    note = models.CharField(max_length=500, blank=True)
    added_to_dataset = models.BooleanField(default=False)
    batch = models.UUIDField(null=True, blank=True)  # set on every row of a bulk decision
    # The review state before the decision, restored by undo.
    prev_status = models.CharField(max_length=10)
    prev_added_at = models.DateTimeField(null=True, blank=True)
    prev_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_index=False,
    )
    prev_reviewed_at = models.DateTimeField(null=True, blank=True)
    version_before = models.PositiveIntegerField()
    version_after = models.PositiveIntegerField()
    # An edit's content: prompt, answer, level, skills (and the item's suggestion) before
    # and after; empty for accept and reject.
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    # Set by undo. With no ``undone_by``: undo was asked for a bulk decision but this item
    # had changed since, so it kept its state and the decision can no longer be undone.
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_index=False,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # a person's last decision that is not undone yet (what "undo" takes)
            models.Index(fields=["project", "user", "-id"], name="reviewdecision_proj_user",
                         condition=models.Q(undone_at__isnull=True)),
            models.Index(fields=["example", "-id"], name="reviewdecision_example"),
            models.Index(fields=["batch", "example"], name="reviewdecision_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.action} #{self.example_id} by {self.user_id}"
