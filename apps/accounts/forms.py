"""Sign-in forms with a limit on failed attempts (docs/security.md, "Web"), and the form
that makes a personal API token.

After ``LOGIN_FAILURES.limit`` failed sign-ins for one username from one address within the
window, further attempts are refused before any password is checked, with a message that
says when to try again; a successful sign-in clears the count. The site's login page and
the admin's use the same counter.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.accounts.models import ApiToken, Role
from apps.common.forms import Form, column_max_length
from apps.common.ratelimit import RateLimit, client_ip

LOGIN_FAILURES = RateLimit("login-failures", 10, 300, what="failed sign-ins for this "
                                                          "username from your address")


def login_ident(request, username) -> str:
    name = (username or "").strip().lower()[:150]
    return f"{name}|{client_ip(request) if request is not None else ''}"


class RateLimitedLogin:
    """Mixin for an AuthenticationForm: counts failures, refuses past the limit."""

    locked_out = False
    retry_after = 0

    def clean(self):
        ident = login_ident(self.request, self.data.get("username"))
        verdict = LOGIN_FAILURES.peek(ident)
        if not verdict.allowed:
            self.locked_out, self.retry_after = True, verdict.retry_after
            raise ValidationError(LOGIN_FAILURES.message(verdict), code="too_many_attempts")
        try:
            cleaned = super().clean()
        except ValidationError:
            LOGIN_FAILURES.hit(ident)
            raise
        LOGIN_FAILURES.reset(ident)
        return cleaned


class LoginForm(RateLimitedLogin, AuthenticationForm):
    pass


class AdminLoginForm(RateLimitedLogin, AdminAuthenticationForm):
    pass


class ApiTokenForm(Form):
    """A new personal API token: a name, and how long it lives."""

    EXPIRY_CHOICES = [("", "Never"), ("7", "7 days"), ("30", "30 days"), ("90", "90 days"),
                      ("365", "1 year")]

    name = forms.CharField(max_length=column_max_length(ApiToken, "name"),
                           help_text="What the token is for, e.g. ci-launcher.")
    expires_in = forms.ChoiceField(choices=EXPIRY_CHOICES, required=False, label="Expires",
                                   initial="90")

    def expires_at(self):
        days = self.cleaned_data.get("expires_in")
        return timezone.now() + dt.timedelta(days=int(days)) if days else None


class MemberAddForm(Form):
    """An existing user added to a team."""

    who = forms.CharField(max_length=254, label="Username or e-mail",
                          help_text="The person needs an account already.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class TeamCreateForm(Form):
    name = forms.CharField(max_length=100, label="Team name",
                           help_text="You become its first owner, and can then add people.")


class MemberRoleForm(Form):
    role = forms.ChoiceField(choices=Role.choices)
