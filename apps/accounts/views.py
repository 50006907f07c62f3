"""Sign-in: Django's login view with the failed-attempt limit of :mod:`apps.accounts.forms`."""

from __future__ import annotations

from django.contrib.auth import views as auth_views

from apps.accounts.forms import LoginForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = LoginForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.locked_out:
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response
