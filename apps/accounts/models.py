from django.conf import settings
from django.db import models

from apps.common.expiry import expiry_state


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


# Higher ranks include every right of the lower ones.
ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.OWNER: 2}


class Team(models.Model):
    """A workspace; every project (and everything in it) belongs to exactly one team."""

    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_unique_user_team"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class ApiToken(models.Model):
    """A personal API token: it acts as its user, with the user's roles in each team.

    The token is shown once when it is made; only its public ``prefix`` (for lookup) and
    the sha256 digest of its secret part are stored (``apps/accounts/tokens.py``).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Updated at most once a minute (apps/accounts/services.py, api_token_authenticate).
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def state(self, now) -> str:
        """"active", "expired" or "revoked" at ``now``."""
        return expiry_state(revoked_at=self.revoked_at, expires_at=self.expires_at, now=now)


class MembershipChange(models.Model):
    """One change to a team's members, kept for the team page: who did what to whom, when.

    The usernames are copied so that the record still reads right after a person is
    deleted (the foreign keys then become NULL).
    """

    class Action(models.TextChoices):
        ADDED = "added", "added"
        ROLE_CHANGED = "role_changed", "changed the role of"
        REMOVED = "removed", "removed"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="membership_changes")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    actor_username = models.CharField(max_length=150)
    member = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    member_username = models.CharField(max_length=150)
    action = models.CharField(max_length=12, choices=Action.choices)
    old_role = models.CharField(max_length=10, choices=Role.choices, blank=True)
    new_role = models.CharField(max_length=10, choices=Role.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"], name="membershipchange_team_time")]

    def __str__(self) -> str:
        roles = f" ({self.old_role or '-'} -> {self.new_role or '-'})"
        return f"{self.actor_username} {self.get_action_display()} {self.member_username}{roles}"
