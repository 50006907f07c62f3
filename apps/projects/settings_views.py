"""A project's review settings: whether teacher-made items wait for review, and whether a
run then goes on with the approved ones only instead of waiting (editors and owners)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.projects.forms import ReviewSettingsForm
from apps.projects.selectors import project_get_for_user
from apps.projects.services import project_update


@login_required
@require_POST
def review_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the two review settings; back to ``next`` (a page of this site) or the
    project. Turning "approved items only" on lets the project's waiting runs go on."""
    project = project_get_for_user(user=request.user, pk=pk)
    form = ReviewSettingsForm(request.POST)
    form.is_valid()  # two check boxes: always valid
    data = form.cleaned_data
    project_update(user=request.user, project=project, require_review=data["require_review"],
                   approved_only=data["approved_only"])
    review = "review required" if project.require_review else "no review required"
    only = "; runs go on with approved items only" if project.approved_only else ""
    messages.success(request, f"Saved: {review}{only}.")
    target = request.POST.get("next", "")
    # a path of this site only (``redirect`` would read any other text as a view name)
    if target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return HttpResponseRedirect(target)
    return redirect("core:project-detail", pk=project.pk)
