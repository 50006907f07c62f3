"""Teacher and teacher-prompt pages. Views parse input, call one service or selector, render."""

import difflib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from apps.accounts.models import Role
from apps.accounts.permissions import has_role, require_role
from apps.common.forms import add_service_errors
from apps.common.params import int_param
from apps.common.ratelimit import RateLimit, rate_limited
from apps.projects.selectors import project_get_for_user
from apps.prompts import teacher_calls
from apps.prompts.forms import (
    DiffForm,
    PreviewForm,
    PromptNewForm,
    PromptVersionForm,
    TeacherForm,
    TryForm,
)
from apps.prompts.models import TeacherKind
from apps.prompts.selectors import (
    example_for_preview,
    prompt_context,
    prompt_get,
    prompt_list_by_role,
    prompt_version_list_with_usage,
    teacher_config_get,
    teacher_config_list_for_project,
)
from apps.prompts.services import (
    prompt_defaults_install,
    prompt_version_create,
    teacher_config_create,
    teacher_config_update,
    teacher_prompt_create,
)
from workers.engine.api import ROLES, TemplateError, default_template, role_prompt
from workers.engine.api import render as render_template


def _project(request, pk, *, write=False):
    project = project_get_for_user(user=request.user, pk=pk)
    if write:
        require_role(request.user, project.team, Role.EDITOR)
    return project


# --- teachers -------------------------------------------------------------------------------

# Hidden from error reports (and Django's debug page) in the teacher views and every call
# they make: the typed or stored API key and the dicts and specs that carry it.
KEY_VARIABLES = ("api_key", "data", "fields", "values", "spec")
KEY_REMOVED_MESSAGE = ("The stored API key was removed: it goes only to the base URL and "
                       "backend it was saved with, and no new key was typed. Type the key "
                       "again to use it with the new settings.")


def _teachers_page(request, project, form=None, test=None, status=200):
    context = {
        "project": project,
        "teachers": teacher_config_list_for_project(project=project),
        "can_edit": has_role(request.user, project.team, Role.EDITOR),
        "form": form or TeacherForm(),
        "test": test,
    }
    return render(request, "prompts/teacher_list.html", context, status=status)


@login_required
def teacher_list(request: HttpRequest, pk: int) -> HttpResponse:
    return _teachers_page(request, _project(request, pk))


def _test_or_check(request, project, form, teacher=None):
    """``(test result or None, saving allowed)`` for a valid teacher form."""
    data = form.cleaned_data
    testing = request.POST.get("action") == "test"
    checking = data["check_connection"] and data["kind"] != TeacherKind.ORACLE
    if not testing and not checking:
        return None, True
    fields = {**form.teacher_fields(), "api_key": data["api_key"]}
    try:
        result = teacher_calls.teacher_test_connection(
            user=request.user, project=project, fields=fields, teacher=teacher)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None, False
    if testing:
        return result, False
    if not result.ok:
        form.add_error(None, "The connection check failed, so nothing was saved: "
                             f"{result.error or result.parse_error}")
        return result, False
    return result, True


def _test_response(request, project, form, result, *, template, context):
    if request.htmx:
        return render(request, "prompts/_teacher_test.html",
                      {"test": result, "form": form}, status=200 if result and result.ok else 400)
    status = 200 if result is not None and result.ok and not form.errors else 400
    return render(request, template, {**context, "form": form, "test": result}, status=status)


@login_required
@require_POST
@sensitive_post_parameters("api_key")
@sensitive_variables(*KEY_VARIABLES)
def teacher_new(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project(request, pk, write=True)
    form = TeacherForm(request.POST)
    if form.is_valid():
        result, may_save = _test_or_check(request, project, form)
        if may_save:
            try:
                teacher = teacher_config_create(
                    user=request.user, project=project, api_key=form.cleaned_data["api_key"],
                    **form.teacher_fields())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Saved teacher {teacher.name!r}.")
                return redirect("prompts:teacher-list", pk=project.pk)
        if request.POST.get("action") == "test" or result is not None:
            return _test_response(
                request, project, form, result, template="prompts/teacher_list.html",
                context={"project": project, "can_edit": True,
                         "teachers": teacher_config_list_for_project(project=project)})
    elif request.htmx:
        return render(request, "prompts/_teacher_test.html", {"form": form}, status=400)
    return _teachers_page(request, project, form=form, status=400)


@login_required
@sensitive_post_parameters("api_key")
@sensitive_variables(*KEY_VARIABLES)
def teacher_edit(request: HttpRequest, pk: int, teacher_pk: int) -> HttpResponse:
    project = _project(request, pk)
    teacher = teacher_config_get(project=project, pk=teacher_pk)
    can_edit = has_role(request.user, project.team, Role.EDITOR)
    context = {"project": project, "teacher": teacher, "can_edit": can_edit}
    if request.method != "POST":
        initial = {name: getattr(teacher, name) for name in (
            "name", "kind", "base_url", "model", "model_dir", "timeout_s", "max_retries",
            "concurrency")}
        form = TeacherForm(initial=initial, editing=True)
        return render(request, "prompts/teacher_form.html", {**context, "form": form})
    require_role(request.user, project.team, Role.EDITOR)
    form = TeacherForm(request.POST, editing=True)
    if form.is_valid():
        result, may_save = _test_or_check(request, project, form, teacher=teacher)
        if may_save:
            had_key = teacher.has_api_key
            try:
                teacher_config_update(
                    user=request.user, teacher=teacher, api_key=form.cleaned_data["api_key"],
                    clear_api_key=form.cleaned_data["clear_api_key"], **form.teacher_fields())
            except ValidationError as exc:
                teacher.refresh_from_db()
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Saved teacher {teacher.name!r}.")
                if had_key and not teacher.has_api_key and not form.cleaned_data["clear_api_key"]:
                    messages.warning(request, KEY_REMOVED_MESSAGE)
                return redirect("prompts:teacher-list", pk=project.pk)
        if request.POST.get("action") == "test" or result is not None:
            return _test_response(request, project, form, result,
                                  template="prompts/teacher_form.html", context=context)
    elif request.htmx:
        return render(request, "prompts/_teacher_test.html", {"form": form}, status=400)
    return render(request, "prompts/teacher_form.html", {**context, "form": form}, status=400)


# --- prompts --------------------------------------------------------------------------------

@login_required
def prompt_list(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project(request, pk)
    roles = prompt_list_by_role(project=project)
    context = {
        "project": project, "roles": roles,
        "missing_roles": [r["role"].role for r in roles if not r["prompts"]],
        "can_edit": has_role(request.user, project.team, Role.EDITOR),
    }
    return render(request, "prompts/prompt_list.html", context)


@login_required
@require_POST
def prompt_defaults(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project(request, pk, write=True)
    prompt_defaults_install(user=request.user, project=project)
    messages.success(request, "Installed the built-in default prompt for every role that "
                              "had none.")
    return redirect("prompts:prompt-list", pk=project.pk)


@login_required
def prompt_new(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project(request, pk, write=True)
    if request.method == "POST":
        form = PromptNewForm(request.POST)
        if form.is_valid():
            try:
                prompt = teacher_prompt_create(user=request.user, project=project,
                                               **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Created prompt {prompt.name!r} (version 1).")
                return redirect("prompts:prompt-detail", pk=project.pk, prompt_pk=prompt.pk)
        status = 400
    else:
        role = request.GET.get("role") if request.GET.get("role") in ROLES else ROLES[0]
        form = PromptNewForm(initial={"role": role, "template": default_template(role)})
        status = 200
    definition = role_prompt(form["role"].value() if form["role"].value() in ROLES else ROLES[0])
    return render(request, "prompts/prompt_new.html",
                  {"project": project, "form": form, "definition": definition}, status=status)


def _prompt_page(request, project, prompt, *, form=None, status=200):
    versions = list(prompt_version_list_with_usage(prompt=prompt))
    by_number = {v.version: v for v in versions}
    start = by_number.get(int_param(request.GET, "from")) or (versions[0] if versions else None)
    teachers = teacher_config_list_for_project(project=project)
    context = {
        "project": project, "prompt": prompt, "versions": versions,
        "definition": role_prompt(prompt.role),
        "can_edit": has_role(request.user, project.team, Role.EDITOR),
        "form": form or PromptVersionForm(initial={"template": start.template if start else ""}),
        "start": start,
        "preview_form": PreviewForm(),
        "try_form": TryForm(teachers=teachers),
        "has_teacher": teachers.exists(),
        "diff_form": DiffForm(initial={
            "a": versions[1].version if len(versions) > 1 else 1,
            "b": versions[0].version if versions else 1,
        }),
    }
    return render(request, "prompts/prompt_detail.html", context, status=status)


@login_required
def prompt_detail(request: HttpRequest, pk: int, prompt_pk: int) -> HttpResponse:
    """GET: versions and the editor. POST: save the editor's text as a new version."""
    project = _project(request, pk)
    prompt = prompt_get(project=project, pk=prompt_pk)
    if request.method != "POST":
        return _prompt_page(request, project, prompt)
    require_role(request.user, project.team, Role.EDITOR)
    form = PromptVersionForm(request.POST)
    if form.is_valid():
        try:
            version = prompt_version_create(user=request.user, prompt=prompt,
                                            **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved version {version.version}.")
            return redirect("prompts:prompt-detail", pk=project.pk, prompt_pk=prompt.pk)
    return _prompt_page(request, project, prompt, form=form, status=400)


def _example(project, form):
    example = example_for_preview(project=project, pk=form.cleaned_data.get("example"))
    if example is None:
        form.add_error("example", "no such example in this project" if
                       form.cleaned_data.get("example") else "the project has no examples yet")
    return example


# Each click renders the editor's text (preview) or calls a teacher (try it): per user, at
# most this many a minute; past it the answer is a 429 naming the limit.
PREVIEW_LIMIT = RateLimit("prompt-preview", 30, 60, what="previews")
TRY_LIMIT = RateLimit("prompt-try", 10, 60, what="teacher calls")


def _limit_reached(partial: str):
    def respond(request, message):
        return render(request, f"prompts/prompt_detail.html#{partial}",
                      {"template_errors": [message]})
    return respond


@login_required
@require_POST
@rate_limited(PREVIEW_LIMIT, respond=_limit_reached("preview-result"))
def prompt_preview(request: HttpRequest, pk: int, prompt_pk: int) -> HttpResponse:
    """The editor's text rendered on a real example of the project (htmx partial)."""
    project = _project(request, pk)
    prompt = prompt_get(project=project, pk=prompt_pk)
    form = PreviewForm(request.POST)
    context = {"project": project, "prompt": prompt, "preview_form": form}
    if form.is_valid() and (example := _example(project, form)) is not None:
        try:
            context["rendered"] = render_template(
                prompt.role, form.cleaned_data["template"], prompt_context(
                    project=project, role=prompt.role, example=example,
                    prediction=form.cleaned_data["prediction"]))
            context["example"] = example
        except TemplateError as exc:
            context["template_errors"] = exc.errors
    status = 200 if "rendered" in context else 400
    return render(request, "prompts/prompt_detail.html#preview-result", context, status=status)


@login_required
@require_POST
@rate_limited(TRY_LIMIT, respond=_limit_reached("try-result"))
def prompt_try(request: HttpRequest, pk: int, prompt_pk: int) -> HttpResponse:
    """One real teacher call with the editor's text: raw output and the parser's reading."""
    project = _project(request, pk, write=True)
    prompt = prompt_get(project=project, pk=prompt_pk)
    form = TryForm(request.POST, teachers=teacher_config_list_for_project(project=project))
    context = {"project": project, "prompt": prompt, "try_form": form}
    if form.is_valid() and (example := _example(project, form)) is not None:
        try:
            context["call"] = teacher_calls.prompt_try(
                user=request.user, project=project, teacher=form.cleaned_data["teacher"],
                role=prompt.role, template=form.cleaned_data["template"], example=example,
                prediction=form.cleaned_data["prediction"])
        except ValidationError as exc:
            context["template_errors"] = exc.messages
    status = 200 if context.get("call") is not None and context["call"].ok else 400
    return render(request, "prompts/prompt_detail.html#try-result", context, status=status)


@login_required
def prompt_diff(request: HttpRequest, pk: int, prompt_pk: int) -> HttpResponse:
    project = _project(request, pk)
    prompt = prompt_get(project=project, pk=prompt_pk)
    form = DiffForm(request.GET)
    versions = {v.version: v for v in prompt.versions.all()}
    lines, status = [], 200
    if form.is_valid():
        a, b = versions.get(form.cleaned_data["a"]), versions.get(form.cleaned_data["b"])
        for key, found in (("a", a), ("b", b)):
            if found is None:
                form.add_error(key, f"{prompt.name!r} has no version {form.cleaned_data[key]}")
        if a is not None and b is not None:
            lines = _diff_lines(a, b)
    if form.errors:
        status = 400
    context = {"project": project, "prompt": prompt, "form": form, "lines": lines,
               "numbers": sorted(versions, reverse=True)}
    return render(request, "prompts/prompt_diff.html", context, status=status)


def _diff_lines(a, b) -> list[tuple[str, str]]:
    """``[(css class, line)]`` of a unified diff; the template escapes the text."""
    out = []
    diff = difflib.unified_diff(
        a.template.splitlines(), b.template.splitlines(),
        fromfile=f"version {a.version}", tofile=f"version {b.version}", lineterm="", n=3,
    )
    for line in diff:
        if line.startswith(("+++", "---")):
            kind = "head"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        out.append((kind, line))
    return out
