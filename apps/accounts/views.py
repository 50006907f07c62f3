"""Sign-in (Django's login view with the failed-attempt limit of :mod:`apps.accounts.forms`)
and the personal API tokens page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.forms import ApiTokenForm, LoginForm
from apps.accounts.selectors import api_token_get_for_user, api_token_list_for_user
from apps.accounts.services import api_token_create, api_token_revoke
from apps.accounts.tokens import token_display
from apps.common.forms import add_service_errors


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = LoginForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.locked_out:
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response


def _tokens_page(request, *, form=None, new_token: str = "", status: int = 200):
    now = timezone.now()
    rows = [{"token": t, "display": token_display(t.prefix), "state": t.state(now)}
            for t in api_token_list_for_user(user=request.user)]
    context = {"rows": rows, "form": form or ApiTokenForm(), "new_token": new_token}
    return render(request, "accounts/token_list.html", context, status=status)


@never_cache
@login_required
@require_GET
def token_list(request: HttpRequest) -> HttpResponse:
    return _tokens_page(request)


@never_cache
@login_required
@require_POST
@sensitive_variables("raw")
def token_new(request: HttpRequest) -> HttpResponse:
    """Make a token and show it on this answer only (never stored, never shown again)."""
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            _token, raw = api_token_create(user=request.user, name=form.cleaned_data["name"],
                                           expires_at=form.expires_at())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _tokens_page(request, new_token=raw)
    return _tokens_page(request, form=form, status=400)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = api_token_get_for_user(user=request.user, pk=pk)
    api_token_revoke(user=request.user, token=token)
    messages.success(request, f"Revoked token {token.name!r}: it no longer opens the API.")
    return redirect("accounts:token-list")
