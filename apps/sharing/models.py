"""Read-only share links: one link opens exactly one run dashboard or one saved comparison
to anyone who has it, without an account (docs/sharing.md)."""

from django.conf import settings
from django.db import models

from apps.accounts.models import Team
from apps.common.expiry import expiry_state


class ShareKind(models.TextChoices):
    RUN = "run", "Run dashboard"
    COMPARISON = "comparison", "Comparison"


class ShareLink(models.Model):
    """A link ``/s/<token>/`` to one object of ``team``.

    The token itself is never stored: only its sha256 ``digest`` (looked up by equality, so
    no comparison ever runs on the secret) and its first characters (``hint``) to tell
    links apart in the list. A copy of the database therefore opens nothing.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="share_links")
    kind = models.CharField(max_length=12, choices=ShareKind.choices)
    object_id = models.PositiveBigIntegerField()
    label = models.CharField(max_length=300)  # the object's name when the link was made
    digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=8)
    show_prompts = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    # Written at most once a minute (apps/sharing/services.py, share_link_touch).
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["team", "-created_at", "-id"]
        indexes = [models.Index(fields=["team", "kind", "object_id"], name="sharelink_object")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.label} ({self.hint}…)"

    def state(self, now) -> str:
        """"active", "expired" or "revoked" at ``now``."""
        return expiry_state(revoked_at=self.revoked_at, expires_at=self.expires_at, now=now)
