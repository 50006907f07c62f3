"""The project's review settings: "use approved items only" lets waiting runs go on."""

import pytest
from django.urls import reverse

from apps.projects.models import Example, Project
from apps.runs.models import Run, RunStatus
from tests.factories import ExampleFactory, RoundFactory, RunFactory


@pytest.fixture
def sent(monkeypatch):
    out: list[int] = []
    monkeypatch.setattr("apps.runs.dispatch.enqueue_run", out.append)
    return out


def waiting(project):
    run = RunFactory(project=project, status=RunStatus.WAITING, synth_requires_review=True)
    ExampleFactory(project=project, origin=Example.Origin.SYNTHESIZED, skills=[],
                   review_status=Example.ReviewStatus.PENDING,
                   round=RoundFactory(run=run, index=1))
    return run


def post(client, project, **data):
    return client.post(reverse("projects:review-settings", args=[project.pk]), data)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("who", ["owner", "editor"])
def test_editors_turn_on_approved_only_and_waiting_runs_go_on(request, who, client_for,
                                                               project_a, sent):
    run = waiting(project_a)
    client = client_for(request.getfixturevalue(who))
    page = client.get(reverse("runs:run-detail", args=[run.pk])).content.decode()
    assert "Go on with approved items only" in page
    target = reverse("runs:run-detail", args=[run.pk])
    response = post(client, project_a, require_review="on", approved_only="on", next=target)
    assert response.status_code == 302 and response.url == target
    project_a.refresh_from_db()
    assert project_a.require_review and project_a.approved_only
    assert Run.objects.get(pk=run.pk).status == RunStatus.QUEUED and sent == [run.pk]


@pytest.mark.django_db
def test_unchecked_boxes_turn_settings_off_and_foreign_next_is_ignored(client_for, owner,
                                                                        project_a, sent):
    response = post(client_for(owner), project_a, next="https://elsewhere.example/")
    assert response.status_code == 302
    assert response.url == reverse("core:project-detail", args=[project_a.pk])
    project_a.refresh_from_db()
    assert (project_a.require_review, project_a.approved_only) == (False, False)


@pytest.mark.django_db
def test_viewer_is_refused_and_sees_no_button(client_for, viewer, project_a, sent):
    run = waiting(project_a)
    client = client_for(viewer)
    page = client.get(reverse("runs:run-detail", args=[run.pk])).content.decode()
    assert "Waiting for review: 1 pending" in page
    assert "Go on with approved items only" not in page
    assert post(client, project_a, approved_only="on").status_code == 403
    assert not Project.objects.get(pk=project_a.pk).approved_only
    assert Run.objects.get(pk=run.pk).status == RunStatus.WAITING and sent == []


@pytest.mark.django_db
def test_stranger_gets_404(client_for, stranger, project_a):
    assert post(client_for(stranger), project_a, approved_only="on").status_code == 404
    assert not Project.objects.get(pk=project_a.pk).approved_only


@pytest.mark.django_db
def test_get_is_not_allowed(client_for, owner, project_a):
    url = reverse("projects:review-settings", args=[project_a.pk])
    assert client_for(owner).get(url).status_code == 405


@pytest.mark.django_db
def test_new_project_form_sets_approved_only(client_for, owner, team_a):
    response = client_for(owner).post(reverse("projects:project-new"), {
        "team": team_a.pk, "name": "Approved only", "require_review": "on",
        "approved_only": "on", "task_family": "arithmetic", "task_options": "",
        "train_size": 5, "eval_size": 2, "seed": 0})
    assert response.status_code == 302, response.content.decode()[:2000]
    project = Project.objects.get(name="Approved only")
    assert project.require_review and project.approved_only
    assert project.examples.filter(added_at__isnull=False).count() == 7
