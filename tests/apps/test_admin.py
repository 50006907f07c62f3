"""Every admin page is scoped: staff see only their teams' objects; superusers see all."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.accounts.models import Membership, Team
from apps.projects.models import ExampleSkill, Project
from apps.prompts.models import TeacherConfig
from tests import factories as f
from tests.factories import UserFactory

APPS = ("accounts", "projects", "prompts", "curricula", "runs")


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


def test_every_model_of_the_apps_has_an_admin():
    from django.apps import apps

    models = {m for label in APPS for m in apps.get_app_config(label).get_models()}
    assert models == set(SCOPED)


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
    # another team's object is not found (the admin redirects with "does not exist")
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[theirs.pk])
    response = client.get(url)
    assert response.status_code == 302 and response.url == reverse("admin:index")


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
