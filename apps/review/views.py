"""The review queue, its decisions, bulk decisions and the example browser. Views parse the
input, call one service or selector and render; every write goes through
``apps.review.services`` (one role check for every door)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.models import Role
from apps.accounts.permissions import has_role, require_role
from apps.common.forms import add_service_errors
from apps.common.params import parse_int
from apps.projects.selectors import project_get_for_user
from apps.review import pages, selectors
from apps.review.bulk import bulk_targets, review_bulk_decide
from apps.review.filters import filter_parse
from apps.review.forms import BulkForm, EditForm, RejectForm
from apps.review.services import (
    ReviewConflict,
    review_accept,
    review_edit,
    review_reject,
    review_undo_last,
)

Status = pages.Example.ReviewStatus


def carried(params) -> dict[str, str]:
    """The queue's filters and page that a decision form carries as ``f.<name>`` fields."""
    return {k[2:]: v for k, v in params.items() if k.startswith("f.")}


def _queue_url(project_pk: int, params, **extra) -> str:
    """The queue with the filters and page of ``params`` (a request's GET, or the carried
    fields of a decision form), and ``extra`` (e.g. the item to focus)."""
    f = filter_parse(params, default_status=Status.PENDING)
    query = f.params()
    for name in ("after", "before"):
        if params.get(name):
            query[name] = params[name][:40]
    query.update({k: str(v) for k, v in extra.items() if v not in (None, "")})
    return f"{reverse('review:queue', args=[project_pk])}?{urlencode(query)}"


@login_required
@require_GET
def queue(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    context = pages.queue_context(user=request.user, project=project, params=request.GET,
                                  with_facets=not request.htmx)
    return render(request, "review/queue.html", context)


@login_required
@require_GET
def facets(request: HttpRequest, pk: int) -> HttpResponse:
    """The filter counts and the bulk buttons of the queue (``?view=queue``) or the example
    browser, which the page loads after it is shown."""
    project = project_get_for_user(user=request.user, pk=pk)
    view = "examples" if request.GET.get("view") == "examples" else "queue"
    f = filter_parse(request.GET, default_status="any" if view == "examples"
                     else Status.PENDING)
    context = {"project": project, "f": f, "view": view,
               "can_decide": has_role(request.user, project.team, Role.EDITOR),
               **pages.facets_context(project=project, f=f)}
    return render(request, "review/_facets.html", context)


@login_required
@require_GET
def pending_count(request: HttpRequest, pk: int) -> HttpResponse:
    """The project tabs' " (N pending)", loaded after the page so that no project page
    pays for the count."""
    project = project_get_for_user(user=request.user, pk=pk)
    n = selectors.pending_count(project=project)
    return HttpResponse(f" ({n} pending)", content_type="text/plain; charset=utf-8")


@login_required
@require_POST
def decide(request: HttpRequest, pk: int, example_pk: int) -> HttpResponse:
    """Accept, reject or edit one item; then the queue, focused on the next item."""
    project = project_get_for_user(user=request.user, pk=pk)
    require_role(request.user, project.team, Role.EDITOR)
    example = pages.focus_get(project, example_pk)
    back = carried(request.POST)
    action = request.POST.get("action", "")
    version = parse_int(request.POST.get("version"))
    add = request.POST.get("add_to_dataset") in ("1", "on", "true")
    edit_form = reject_form = None
    try:
        if action == "accept":
            review_accept(user=request.user, example=example, version=version,
                          add_to_dataset=add)
        elif action == "reject":
            reject_form = RejectForm(request.POST)
            data = reject_form.data
            review_reject(user=request.user, example=example, version=version,
                          reason=data.get("reason", ""), note=data.get("note", ""))
        elif action == "edit":
            edit_form = EditForm(request.POST)
            if not edit_form.is_valid():
                raise ValidationError({})
            data = edit_form.cleaned_data
            review_edit(user=request.user, example=example, version=version,
                        prompt=data["prompt"], answer=data["answer"],
                        skills=edit_form.skill_names(), level=data["level"],
                        add_to_dataset=data["add_to_dataset"])
        else:
            messages.error(request, f"Unknown decision {action[:20]!r}: nothing was saved.")
            return HttpResponseRedirect(_queue_url(pk, back, focus=example.pk))
    except ReviewConflict as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(_queue_url(pk, back, focus=example.pk))
    except ValidationError as exc:
        form = edit_form or reject_form
        if form is not None and exc.messages:
            add_service_errors(form, exc)
        context = pages.queue_context(user=request.user, project=project, params=back,
                                      edit_form=edit_form, reject_form=reject_form,
                                      focus_pk=example.pk)
        context["open_panel"] = action
        return render(request, "review/queue.html", context, status=400)
    verb = {"accept": "Accepted", "reject": "Rejected", "edit": "Edited and accepted"}[action]
    messages.success(request, f"{verb} item #{example.pk}"
                              + (" and added it to the dataset." if add else "."))
    return HttpResponseRedirect(_queue_url(pk, back, focus=request.POST.get("next")))


@login_required
@require_POST
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo the person's last decision in the project (a whole bulk decision too)."""
    project = project_get_for_user(user=request.user, pk=pk)
    back = carried(request.POST)
    try:
        done = review_undo_last(user=request.user, project=project)
    except ReviewConflict as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(_queue_url(pk, back))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(_queue_url(pk, back))
    if done["example_id"] is not None:
        messages.success(request, f"Undid your last decision on item #{done['example_id']}.")
    else:
        kept = (f"; {done['kept']} changed since and kept their state" if done["kept"] else "")
        messages.success(request, f"Undid your bulk decision on {done['undone']} items{kept}.")
    return HttpResponseRedirect(_queue_url(pk, back, focus=done["example_id"]))


@login_required
@require_http_methods(["GET", "POST"])
def bulk(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: how many items a bulk accept or reject of the current filter would change,
    to confirm. POST: do it (everything that matches, not only the page on screen)."""
    project = project_get_for_user(user=request.user, pk=pk)
    require_role(request.user, project.team, Role.EDITOR)
    params = request.POST if request.method == "POST" else request.GET
    f = filter_parse(params, default_status=Status.PENDING)
    form = BulkForm(params)
    if not form.is_valid():
        messages.error(request, "Choose accept or reject for a bulk decision.")
        return HttpResponseRedirect(_queue_url(pk, params))
    data = form.cleaned_data
    if request.method == "GET":
        count = bulk_targets(project=project, f=f, action=data["action"],
                             add_to_dataset=data["add_to_dataset"]).count()
        return render(request, "review/bulk_confirm.html", {
            "project": project, "f": f, "form": form, "count": count, "data": data,
            "back": _queue_url(pk, params), "section": "review"})
    try:
        done = review_bulk_decide(user=request.user, project=project, f=f,
                                  action=data["action"], reason=data["reason"],
                                  note=data["note"], add_to_dataset=data["add_to_dataset"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages) + " Nothing was changed.")
        return HttpResponseRedirect(_queue_url(pk, params))
    verb = "Accepted" if data["action"] == "accept" else "Rejected"
    expected = data.get("expected")
    moved = (f" ({expected} when you confirmed: the queue changed meanwhile)"
             if expected is not None and expected != done["count"] else "")
    messages.success(request, f"{verb} {done['count']} items{moved}. "
                              "Undo (u) puts them all back.")
    return HttpResponseRedirect(_queue_url(pk, params))


@login_required
@require_GET
def example_list(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    context = pages.list_context(user=request.user, project=project, params=request.GET,
                                 default_status="any", with_facets=not request.htmx)
    return render(request, "review/example_list.html", context)


@login_required
@require_GET
def example_detail(request: HttpRequest, pk: int, example_pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    context = pages.detail_context(user=request.user, project=project, pk=example_pk)
    return render(request, "review/example_detail.html", context)
