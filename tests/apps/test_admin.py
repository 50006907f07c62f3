"""Every admin page is scoped: staff see only their teams' objects; superusers see all."""

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.forms.models import InlineForeignKeyField
from django.urls import reverse

from apps.accounts.models import ApiToken, Membership, MembershipChange, Team
from apps.compare.models import Comparison
from apps.projects.models import ExampleSkill, Project
from apps.prompts.models import TeacherConfig
from apps.review.models import ReviewDecision
from apps.runs.models import EvalFailure
from apps.sharing.models import ShareLink
from tests import factories as f
from tests.factories import UserFactory

APPS = ("accounts", "projects", "prompts", "curricula", "runs", "compare", "review", "sharing")


def _make(model, project):
    """One object of ``model`` that belongs to ``project``'s team."""
    name = model.__name__
    if model is Team:
        return project.team
    if model is Project:
        return project
    if model is Membership:
        return f.MembershipFactory(team=project.team)
    if model is ExampleSkill:
        return f.ExampleFactory(project=project).skill_links.get()
    if name in ("Round", "SkillStat", "LevelStat", "RunEvent"):
        run = f.RunFactory(project=project)
        if name == "RunEvent":
            return f.RunEventFactory(run=run)
        if name == "Round":
            return f.RoundFactory(run=run)
        return getattr(f, f"{name}Factory")(round=f.RoundFactory(run=run))
    if name == "EvalFailure":
        rnd = f.RoundFactory(run=f.RunFactory(project=project))
        return EvalFailure.objects.create(run=rnd.run, round=rnd, item_id="x", prompt="1+1=",
                                          answer="2", prediction="3", level=1)
    if name == "Comparison":
        return Comparison.objects.create(project=project, name="cmp", run_ids=[])
    if name == "TeacherPromptVersion":
        return f.TeacherPromptVersionFactory(prompt=f.TeacherPromptFactory(project=project))
    return getattr(f, f"{name}Factory")(project=project)


def _staff(user):
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=APPS))
    return user


SCOPED = sorted(
    (m for m in admin.site._registry if m._meta.app_label in APPS), key=lambda m: m.__name__
)


# Models of no team, deliberately without an admin page: personal API tokens belong to one
# person and are listed and revoked on that person's tokens page (/accounts/tokens/) only.
PERSONAL = {ApiToken}
# The record of a team's member changes is written only by the member services and shown on
# the team page (/accounts/teams/<id>/members/); an admin page would let it be edited.
PERSONAL |= {MembershipChange}
# Review decisions are the audit trail of the review queue (undo and agreement figures read
# them), written only by the review services; share links are created and revoked on the
# team's share list (/shares/team/<id>/), where their expiry and revocation are checked.
PERSONAL |= {ReviewDecision, ShareLink}


def test_every_model_of_the_apps_has_an_admin():
    from django.apps import apps

    models = {m for label in APPS for m in apps.get_app_config(label).get_models()}
    assert models - PERSONAL == set(SCOPED)
    assert not PERSONAL & set(admin.site._registry)


@pytest.mark.parametrize("model", SCOPED, ids=lambda m: m.__name__)
def test_changelist_shows_only_own_teams_objects(client_for, owner, stranger, project_a,
                                                 project_b, model):
    mine, theirs = _make(model, project_a), _make(model, project_b)
    opts = model._meta
    client = client_for(_staff(owner))
    response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert response.status_code == 200
    shown = set(response.context["cl"].queryset.values_list("pk", flat=True))
    assert mine.pk in shown and theirs.pk not in shown
    # another team's object is not found: a 404, as on the site's pages
    for view in ("change", "delete", "history"):
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[theirs.pk])
        assert client.get(url).status_code == 404, view


@pytest.mark.parametrize("model", SCOPED, ids=lambda m: m.__name__)
def test_superuser_sees_everything(client, project_a, project_b, model):
    mine, theirs = _make(model, project_a), _make(model, project_b)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    opts = model._meta
    response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    shown = set(response.context["cl"].queryset.values_list("pk", flat=True))
    assert {mine.pk, theirs.pk} <= shown


def test_viewer_can_look_but_not_change(client_for, viewer, project_a):
    client = client_for(_staff(viewer))
    url = reverse("admin:projects_project_change", args=[project_a.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    response = client.post(url, {"team": project_a.team_id, "name": "Renamed",
                                 "task_family": "arithmetic", "task_options": "{}"})
    assert response.status_code == 403
    project_a.refresh_from_db()
    assert project_a.name == "Arithmetic A"


def test_editor_can_change(client_for, editor, project_a):
    client = client_for(_staff(editor))
    url = reverse("admin:projects_project_change", args=[project_a.pk])
    response = client.post(url, {"team": project_a.team_id, "name": "Renamed",
                                 "task_family": "arithmetic", "task_options": "{}"})
    assert response.status_code == 302
    project_a.refresh_from_db()
    assert project_a.name == "Renamed"


def test_fk_choices_offer_only_own_teams(client_for, owner, project_a, project_b):
    client = client_for(_staff(owner))
    response = client.get(reverse("admin:projects_skill_add"))
    choices = set(response.context["adminform"].form.fields["project"].queryset)
    assert choices == {project_a}


def test_api_key_never_rendered(client_for, owner, project_a):
    teacher = f.TeacherConfigFactory(project=project_a, api_key="sk-very-secret")
    client = client_for(_staff(owner))
    html = client.get(
        reverse("admin:prompts_teacherconfig_change", args=[teacher.pk])
    ).content.decode()
    assert "sk-very-secret" not in html
    # saving the form with the key field empty keeps the stored key
    client.post(reverse("admin:prompts_teacherconfig_change", args=[teacher.pk]), {
        "project": project_a.pk, "name": "renamed", "kind": "oracle", "timeout_s": "60",
        "max_retries": "3", "concurrency": "4", "api_key": "",
    })
    teacher = TeacherConfig.objects.get(pk=teacher.pk)
    assert teacher.name == "renamed" and teacher.api_key == "sk-very-secret"


def test_prompt_versions_are_read_only_in_admin(client_for, owner, project_a):
    version = f.TeacherPromptVersionFactory(prompt=f.TeacherPromptFactory(project=project_a))
    client = client_for(_staff(owner))
    url = reverse("admin:prompts_teacherpromptversion_change", args=[version.pk])
    response = client.get(url)
    assert response.status_code == 200 and not response.context["has_change_permission"]
    assert client.post(url, {"template": "changed"}).status_code == 403


# --- related objects of another team can never be attached ---------------------------------
#
# For every scoped admin, its add and change forms and the rows of its inlines: each foreign
# key and many-to-many field is posted with the id of an object of another team, as the
# least-privileged member who may edit (an editor; the owner where the admin needs one).
# "Another team" is each of: a stranger's team, a team where the user only views, and a
# team where the user edits too (the object and what it links to must share one team).


def _field_data(bf) -> dict:
    """What a browser would post for the bound field ``bf`` as it is rendered."""
    field, widget, value = bf.field, bf.field.widget, bf.value()
    name = bf.html_name
    if isinstance(widget, forms.MultiWidget):
        parts = widget.decompress(value) if not isinstance(value, list) else value
        return {f"{name}{suffix}": "" if v is None else str(v)
                for suffix, v in zip(widget.widgets_names, parts, strict=True)}
    if isinstance(field, forms.BooleanField):
        return {name: "on"} if value else {}
    if isinstance(value, list | tuple):
        return {name: [str(v) for v in value]}
    return {name: "" if value is None else str(value)}


def _form_data(form) -> dict:
    data = {}
    for bf in form:
        data.update(_field_data(bf))
    return data


def _relation_fields(form, model):
    """Names of the form's fields that pick objects (not the row id, not the parent)."""
    return [name for name, field in form.fields.items()
            if isinstance(field, forms.ModelChoiceField)
            and not isinstance(field, InlineForeignKeyField)
            and name != model._meta.pk.name]


def _page_data(response) -> dict:
    """Every field of an admin add/change page (main form and inline rows) as posted."""
    return {**_form_data(response.context["adminform"].form), **_inline_data(response)}


def _inline_data(response) -> dict:
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_form_data(formset.management_form))
        for form in formset.forms:
            data.update(_form_data(form))
    return data


def _new_row(data: dict, formset) -> tuple[dict, int]:
    """``data`` with one more (empty) row of ``formset``; returns the data and its index."""
    index = formset.total_form_count()
    row = {k.replace("__prefix__", str(index)): v
           for k, v in _form_data(formset.empty_form).items()}
    total = f"{formset.prefix}-TOTAL_FORMS"
    return {**data, **row, total: str(int(data[total]) + 1)}, index


def _foreign(model, project, team_user):
    """An object of ``model`` that belongs to ``project``'s team (``team_user`` for users)."""
    if model is get_user_model():
        return team_user
    return _make(model, project)


def _refers(model, name, obj) -> set:
    return set(model._default_manager.filter(**{name: obj}).values_list("pk", flat=True))


FOREIGN_KINDS = ("stranger's team", "team where the user only views",
                 "another team where the user edits")
FORM_CASES = [
    pytest.param(model, form_kind, id=f"{model.__name__}-{form_kind}")
    for model in SCOPED for form_kind in ("add", "change")
]


@pytest.fixture
def foreign_world(team_b, stranger):
    """Each kind of other team: (a project in it, a user who belongs only to it)."""
    viewer_team, other_team = f.TeamFactory(name="Team C"), f.TeamFactory(name="Team D")
    return {
        "stranger's team": (f.ProjectFactory(team=team_b), stranger),
        "team where the user only views": (
            f.ProjectFactory(team=viewer_team),
            f.MembershipFactory(team=viewer_team, role="owner").user),
        "another team where the user edits": (
            f.ProjectFactory(team=other_team),
            f.MembershipFactory(team=other_team, role="owner").user),
    }, {"team where the user only views": viewer_team,
        "another team where the user edits": other_team}


@pytest.mark.parametrize(("model", "form_kind"), FORM_CASES)
def test_no_form_attaches_another_teams_object(request, client_for, project_a, foreign_world,
                                               model, form_kind):
    model_admin = admin.site._registry[model]
    role = "editor" if "editor" in model_admin.edit_roles else "owner"
    user = _staff(request.getfixturevalue(role))
    worlds, teams = foreign_world
    f.MembershipFactory(user=user, team=teams["team where the user only views"], role="viewer")
    f.MembershipFactory(user=user, team=teams["another team where the user edits"], role=role)
    mine = _make(model, project_a)
    opts = model._meta
    client = client_for(user)
    change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[mine.pk])
    add_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    change_page = client.get(change_url)
    assert change_page.status_code == 200
    can_change = change_page.context["has_change_permission"]
    # the values of the main form: those of our own object, as its change page shows them
    template = change_page if can_change else client.get(add_url)
    if form_kind == "change":
        url, page, writable = change_url, change_page, can_change
    else:
        url, page = add_url, client.get(add_url)
        writable = page.context["has_add_permission"]
    if form_kind == "change" and writable:
        control = client.post(url, _page_data(page))  # the page as shown saves
        assert control.status_code == 302, control.context["adminform"].form.errors
        template = page = client.get(change_url)
    data = {**_form_data(template.context["adminform"].form), **_inline_data(page)}

    form = template.context["adminform"].form
    cases = [(None, name, form.fields[name]) for name in _relation_fields(form, model)]
    for inline in page.context["inline_admin_formsets"]:
        empty = inline.formset.empty_form
        cases += [(inline.formset, name, empty.fields[name])
                  for name in _relation_fields(empty, inline.formset.model)]
    tried = []
    for kind, (project, team_user) in worlds.items():
        for formset, name, field in cases:
            related = field.queryset.model
            own_team_field = formset is None and name == model_admin.team_path.split("__")[0]
            if kind == "another team where the user edits" and (
                    related is get_user_model() or own_team_field):
                # putting the object itself in another team one edits is allowed, and so is
                # picking a colleague from another of one's teams (docs/security.md)
                continue
            foreign = _foreign(related, project, team_user)
            value = [str(foreign.pk)] if isinstance(field, forms.ModelMultipleChoiceField) \
                else str(foreign.pk)
            target = model if formset is None else formset.model
            before = _refers(target, name, foreign)
            rows = [(data, name, None)]
            if formset is not None:
                existing = range(len(formset.forms))
                rows = [({**data, f"{formset.prefix}-{i}-{name}": value}, None, i)
                        for i in existing]
                grown, index = _new_row(data, formset)
                rows.append(({**grown, f"{formset.prefix}-{index}-{name}": value}, None, index))
            for posted, main_name, row in rows:
                if main_name is not None:
                    posted = {**posted, main_name: value}
                response = client.post(url, posted)
                what = f"{kind}: {target.__name__}.{name} (row {row})"
                tried.append(what)
                assert _refers(target, name, foreign) == before, f"attached via {what}"
                if not writable:
                    assert response.status_code == 403, what
                    continue
                assert response.status_code == 200, what
                if formset is None:
                    errors = response.context["adminform"].form.errors
                else:
                    shown = next(i.formset for i in response.context["inline_admin_formsets"]
                                 if i.formset.prefix == formset.prefix)
                    errors = shown.forms[row].errors
                assert name in errors, f"no error on {what}: {errors}"
    if form_kind == "change":
        assert model._default_manager.filter(pk=mine.pk).exists()
    assert tried or not cases


def test_raw_id_field_does_not_name_another_teams_object(client_for, owner, project_a,
                                                         project_b):
    secret = f.SkillFactory(project=project_b, name="their_secret_skill")
    link = _make(ExampleSkill, project_a)
    client = client_for(_staff(owner))
    url = reverse("admin:projects_exampleskill_change", args=[link.pk])
    response = client.post(url, {"example": link.example_id, "skill": secret.pk})
    assert response.status_code == 200
    assert "skill" in response.context["adminform"].form.errors
    assert "their_secret_skill" not in response.content.decode()
    link.refresh_from_db()
    assert link.skill_id != secret.pk


def test_inline_rows_are_scoped(rf, owner, project_a, project_b):
    from apps.accounts.admin import MembershipInline

    inline = MembershipInline(Team, admin.site)
    request = rf.get("/")
    request.user = _staff(owner)
    teams = set(inline.get_queryset(request).values_list("team", flat=True))
    assert teams == {project_a.team_id}


def test_an_unscoped_inline_fails_the_system_check():
    from apps.common.admin_scoping import TeamScopedAdmin

    class PlainInline(admin.TabularInline):
        model = Membership

    class Checked(TeamScopedAdmin):
        team_path = ""
        inlines = [PlainInline]

    errors = Checked(Team, admin.AdminSite()).check()
    assert [e.id for e in errors] == ["studio.A001"]
