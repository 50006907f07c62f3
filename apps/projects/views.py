"""Projects and skills pages. Views parse input, call one service or selector, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.models import Role
from apps.accounts.permissions import has_role, require_role
from apps.accounts.selectors import team_get_for_user, team_list_for_editor
from apps.common.forms import add_service_errors
from apps.common.params import int_param, parse_int
from apps.projects import creation, extraction
from apps.projects.forms import (
    ExtractForm,
    FamilyProjectForm,
    JsonlConfirmForm,
    JsonlUploadForm,
    SkillForm,
    SkillMergeForm,
    SkillMoveForm,
    SkillRenameForm,
)
from apps.projects.selectors import (
    extraction_get,
    extraction_list_for_project,
    project_get_for_user,
    project_list_with_counts,
    proposal_get,
    proposal_list_for_extraction,
    skill_examples_per_level,
    skill_get,
    skill_map_rows,
    skill_usage,
)
from apps.projects.services import skill_create, skill_delete, skill_merge, skill_move, skill_rename
from apps.prompts.selectors import teacher_config_list_for_project
from workers.engine.api import FAMILIES

JSONL_PREVIEW_ROWS = 10


def _editable_project(request: HttpRequest, pk: int):
    """The project for a write: 404 for strangers, 403 for viewers."""
    project = project_get_for_user(user=request.user, pk=pk)
    require_role(request.user, project.team, Role.EDITOR)
    return project


def _writable_teams(request: HttpRequest) -> list:
    """Teams the user may create projects in; a posted team outside them is refused:
    404 when the user is not a member, 403 when they only view it."""
    teams = list(team_list_for_editor(user=request.user))
    team_pk = parse_int(request.POST.get("team"))  # anything else: the form's error
    if team_pk is not None and not any(t.pk == team_pk for t in teams):
        team = team_get_for_user(user=request.user, pk=team_pk)
        require_role(request.user, team, Role.EDITOR)
    return teams


# --- projects -------------------------------------------------------------------------------

@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    projects = project_list_with_counts(user=request.user)
    can_create = team_list_for_editor(user=request.user).exists()
    return render(request, "projects/project_list.html",
                  {"projects": projects, "can_create": can_create})


def _new_page(request, *, family_form=None, jsonl_form=None, status=200, tab="family"):
    teams = list(team_list_for_editor(user=request.user))
    team_pk = int_param(request.GET, "team")  # the team to preselect
    initial = {"team": team_pk} if team_pk is not None else {}
    context = {
        "teams": teams,
        "family_form": family_form or FamilyProjectForm(teams=teams, initial=initial),
        "jsonl_form": jsonl_form or JsonlUploadForm(teams=teams, initial=initial,
                                                     auto_id="jsonl_%s"),
        "families": FAMILIES,
        "tab": tab,
    }
    return render(request, "projects/project_new.html", context, status=status)


@login_required
def project_new(request: HttpRequest) -> HttpResponse:
    """GET: the create page. POST: create a project on a built-in task family."""
    if request.method != "POST":
        return _new_page(request)
    teams = _writable_teams(request)
    form = FamilyProjectForm(request.POST, teams=teams)
    if form.is_valid():
        data = form.cleaned_data
        try:
            project = creation.project_create_from_family(
                user=request.user, team=team_get_for_user(user=request.user, pk=data["team"]),
                name=data["name"], description=data["description"],
                task_family=data["task_family"], task_options=data["task_options"],
                train_size=data["train_size"], eval_size=data["eval_size"], seed=data["seed"],
                require_review=data["require_review"], approved_only=data["approved_only"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Created {project.name!r} with its skills and "
                                      f"{data['train_size'] + data['eval_size']} examples.")
            return redirect("core:project-detail", pk=project.pk)
    return _new_page(request, family_form=form, status=400)


def _preview_response(request, context, status=200):
    template = "projects/project_new.html#jsonl-preview" if request.htmx else \
        "projects/jsonl_preview.html"
    return render(request, template, context, status=status)


@login_required
@require_POST
def jsonl_preview(request: HttpRequest) -> HttpResponse:
    """Step 1 of a JSONL project: check every line, show the first rows; save nothing."""
    teams = _writable_teams(request)
    form = JsonlUploadForm(request.POST, request.FILES, teams=teams, auto_id="jsonl_%s")
    if not form.is_valid():
        return _preview_response(request, {"jsonl_form": form}, status=400)
    data = form.cleaned_data
    raw = data["file"].read()
    try:
        text = raw.decode("utf-8")
        items, errors = creation.jsonl_check(text, answer_mode=data["answer_mode"])
    except UnicodeDecodeError as exc:
        form.add_error("file", f"{data['file'].name} is not UTF-8 text ({exc.reason} at byte "
                               f"{exc.start})")
        return _preview_response(request, {"jsonl_form": form}, status=400)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _preview_response(request, {"jsonl_form": form}, status=400)
    confirm = None
    if not errors and items:
        token = creation.upload_store(data=raw)
        confirm = JsonlConfirmForm(teams=teams, initial={
            "team": data["team"], "name": data["name"], "description": data["description"],
            "require_review": data["require_review"], "approved_only": data["approved_only"],
            "token": token,
            "answer_mode": data["answer_mode"], "eval_share": data["eval_share"],
        }, auto_id="confirm_%s")
    skills = sorted({s for item in items for s in item.skills})
    context = {
        "jsonl_form": form, "file_name": data["file"].name, "rows": items[:JSONL_PREVIEW_ROWS],
        "n_items": len(items), "errors": errors, "skills": skills, "confirm": confirm,
        **_duplicates_context(creation.jsonl_eval_duplicates(
            items, eval_share=data["eval_share"])),
    }
    return _preview_response(request, context, status=200 if confirm else 400)


def _duplicates_context(duplicates: list) -> dict:
    """What the preview shows of train rows that repeat eval rows: the refusal (count and
    examples) and the label of the box that drops them."""
    n = len(duplicates)
    if not n:
        return {"duplicates": 0}
    return {"duplicates": n, "duplicates_message": creation.duplicates_message(duplicates),
            "drop_label": f"drop the {n} train row{'s' if n != 1 else ''} that duplicate"
                          f"{'s' if n == 1 else ''} eval rows"}


@login_required
@require_POST
def jsonl_confirm(request: HttpRequest) -> HttpResponse:
    """Step 2: create the project, its skills and examples from the checked upload. The
    upload is removed whatever the outcome (a refused confirm asks for the file again), so a
    failed import leaves no file behind."""
    try:
        return _jsonl_confirm(request)
    finally:
        creation.upload_discard(token=request.POST.get("token"))


@login_required
@require_POST
def jsonl_cancel(request: HttpRequest) -> HttpResponse:
    """Step 2, the other way: drop the checked upload."""
    creation.upload_discard(token=request.POST.get("token"))
    messages.info(request, "Cancelled: the uploaded file was removed and nothing was saved.")
    return redirect("projects:project-new")


def _jsonl_confirm(request: HttpRequest) -> HttpResponse:
    teams = _writable_teams(request)
    form = JsonlConfirmForm(request.POST, teams=teams)
    if form.is_valid():
        data = form.cleaned_data
        try:
            text = creation.upload_read(token=data["token"])
            project = creation.project_create_from_jsonl(
                user=request.user, team=team_get_for_user(user=request.user, pk=data["team"]),
                name=data["name"], description=data["description"], text=text,
                answer_mode=data["answer_mode"], eval_share=data["eval_share"],
                require_review=data["require_review"], approved_only=data["approved_only"],
                drop_eval_duplicates=data["drop_eval_duplicates"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            creation.upload_discard(token=data["token"])
            messages.success(request, f"Created {project.name!r} from the uploaded file.")
            return redirect("core:project-detail", pk=project.pk)
    return render(request, "projects/jsonl_preview.html",
                  {"confirm": form, "confirm_failed": True}, status=400)


# --- skills ---------------------------------------------------------------------------------

def _skills_page(request, project, *, skill_form=None, extract_form=None, status=200):
    rows, levels = skill_map_rows(project=project)
    teachers = teacher_config_list_for_project(project=project)
    context = {
        "project": project, "rows": rows, "levels": levels,
        "can_edit": has_role(request.user, project.team, Role.EDITOR),
        "skill_form": skill_form or SkillForm(project=project),
        "extract_form": extract_form or ExtractForm(teachers=teachers),
        "has_teacher": teachers.exists(),
        "extractions": extraction_list_for_project(project=project)[:5],
    }
    return render(request, "projects/skill_list.html", context, status=status)


@login_required
def skill_list(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    return _skills_page(request, project)


@login_required
@require_POST
def skill_new(request: HttpRequest, pk: int) -> HttpResponse:
    project = _editable_project(request, pk)
    form = SkillForm(request.POST, project=project)
    if form.is_valid():
        try:
            skill = skill_create(
                user=request.user, project=project, name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                parent=form.cleaned_data["parent"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Added skill {skill.name!r}.")
            return redirect("projects:skill-list", pk=project.pk)
    return _skills_page(request, project, skill_form=form, status=400)


def _skill_page(request, project, skill, *, forms=None, status=200):
    used, only = skill_usage(skill=skill)
    forms = forms or {}
    context = {
        "project": project, "skill": skill, "used": used, "only": only,
        "per_level": skill_examples_per_level(skill=skill),
        "can_edit": has_role(request.user, project.team, Role.EDITOR),
        "rename_form": forms.get("rename") or SkillRenameForm(initial={"name": skill.name}),
        "move_form": forms.get("move") or SkillMoveForm(skill=skill,
                                                        initial={"parent": skill.parent_id}),
        "merge_form": forms.get("merge") or SkillMergeForm(skill=skill),
        "children": skill.children.order_by("name"),
    }
    return render(request, "projects/skill_detail.html", context, status=status)


@login_required
def skill_detail(request: HttpRequest, pk: int, skill_pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    return _skill_page(request, project, skill_get(project=project, pk=skill_pk))


def _skill_action(request, pk, skill_pk, form_class, key, action):
    project = _editable_project(request, pk)
    skill = skill_get(project=project, pk=skill_pk)
    kwargs = {} if form_class is SkillRenameForm else {"skill": skill}
    form = form_class(request.POST, **kwargs)
    if form.is_valid():
        try:
            message = action(project, skill, form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, message)
            return None
    return _skill_page(request, project, skill, forms={key: form}, status=400)


@login_required
@require_POST
def skill_rename_view(request: HttpRequest, pk: int, skill_pk: int) -> HttpResponse:
    def action(project, skill, data):
        old = skill.name
        skill_rename(user=request.user, skill=skill, name=data["name"])
        return f"Renamed {old!r} to {skill.name!r}."

    return _skill_action(request, pk, skill_pk, SkillRenameForm, "rename", action) or redirect(
        "projects:skill-detail", pk=pk, skill_pk=skill_pk)


@login_required
@require_POST
def skill_move_view(request: HttpRequest, pk: int, skill_pk: int) -> HttpResponse:
    def action(project, skill, data):
        skill_move(user=request.user, skill=skill, parent=data["parent"])
        where = f"under {data['parent'].name!r}" if data["parent"] else "to the top level"
        return f"Moved {skill.name!r} {where}."

    return _skill_action(request, pk, skill_pk, SkillMoveForm, "move", action) or redirect(
        "projects:skill-detail", pk=pk, skill_pk=skill_pk)


@login_required
@require_POST
def skill_merge_view(request: HttpRequest, pk: int, skill_pk: int) -> HttpResponse:
    merged = {}

    def action(project, skill, data):
        name = skill.name
        merged["target"] = skill_merge(user=request.user, source=skill, target=data["target"])
        return f"Merged {name!r} into {merged['target'].name!r}; its examples followed."

    response = _skill_action(request, pk, skill_pk, SkillMergeForm, "merge", action)
    return response or redirect("projects:skill-detail", pk=pk, skill_pk=merged["target"].pk)


@login_required
def skill_delete_view(request: HttpRequest, pk: int, skill_pk: int) -> HttpResponse:
    """GET: the confirmation (how many examples use the skill). POST: delete."""
    project = _editable_project(request, pk)
    skill = skill_get(project=project, pk=skill_pk)
    error = ""
    if request.method == "POST":
        try:
            skill_delete(user=request.user, skill=skill)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"Deleted skill {skill.name!r}.")
            return redirect("projects:skill-list", pk=project.pk)
    used, only = skill_usage(skill=skill)
    context = {"project": project, "skill": skill, "used": used, "only": only, "error": error,
               "n_children": skill.children.count()}
    return render(request, "projects/skill_delete.html", context, status=400 if error else 200)


# --- skill extraction -----------------------------------------------------------------------

@login_required
@require_POST
def skill_extract(request: HttpRequest, pk: int) -> HttpResponse:
    project = _editable_project(request, pk)
    form = ExtractForm(request.POST, teachers=teacher_config_list_for_project(project=project))
    if form.is_valid():
        try:
            job = extraction.skill_extraction_start(
                user=request.user, project=project, teacher_config=form.cleaned_data["teacher"],
                sample_size=form.cleaned_data["sample_size"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("projects:extraction-detail", pk=project.pk, extraction_pk=job.pk)
    return _skills_page(request, project, extract_form=form, status=400)


@login_required
def extraction_detail(request: HttpRequest, pk: int, extraction_pk: int) -> HttpResponse:
    project = project_get_for_user(user=request.user, pk=pk)
    job = extraction_get(project=project, pk=extraction_pk)
    context = {
        "project": project, "job": job,
        "proposals": proposal_list_for_extraction(extraction=job) if job.is_finished else [],
        "can_edit": has_role(request.user, project.team, Role.EDITOR),
    }
    template = "projects/extraction_detail.html"
    if request.htmx:
        template += "#extraction-status"
    return render(request, template, context)


def _decide(request, pk, proposal_pk, decide):
    project = _editable_project(request, pk)
    proposal = proposal_get(project=project, pk=proposal_pk)
    error = ""
    try:
        decide(user=request.user, proposal=proposal)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    proposal.refresh_from_db()
    if request.htmx:
        return render(request, "projects/extraction_detail.html#proposal-row",
                      {"project": project, "proposal": proposal, "error": error,
                       "can_edit": True}, status=400 if error else 200)
    if error:
        messages.error(request, error)
    return redirect("projects:extraction-detail", pk=project.pk,
                    extraction_pk=proposal.extraction_id)


@login_required
@require_POST
def proposal_accept(request: HttpRequest, pk: int, proposal_pk: int) -> HttpResponse:
    return _decide(request, pk, proposal_pk, extraction.skill_proposal_accept)


@login_required
@require_POST
def proposal_reject(request: HttpRequest, pk: int, proposal_pk: int) -> HttpResponse:
    return _decide(request, pk, proposal_pk, extraction.skill_proposal_reject)
