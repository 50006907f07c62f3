"""Skill extraction with the teacher: the job, the Celery task, accept and reject."""

import pytest
from django.urls import reverse

from apps.projects.models import Skill, SkillExtraction, SkillProposal
from apps.prompts.models import TeacherKind
from tests.apps.teacher_server import FakeServer, closed_port_url, completion
from tests.factories import ExampleFactory, SkillFactory, TeacherConfigFactory
from workers.tasks.teachers import skill_extract


@pytest.fixture
def seeded(project_a):
    add = SkillFactory(project=project_a, name="add")
    ExampleFactory.create_batch(4, project=project_a, skills=[add])
    return project_a


def start(client, project, teacher, **extra):
    return client.post(reverse("projects:skill-extract", args=[project.pk]),
                       {"teacher": teacher.pk, "sample_size": 3, **extra})


def test_start_enqueues_after_commit_and_shows_the_polling_page(
        client_for, editor, seeded, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("apps.projects.extraction.enqueue_skill_extraction", sent.append)
    teacher = TeacherConfigFactory(project=seeded, kind=TeacherKind.ORACLE)
    client = client_for(editor)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = start(client, seeded, teacher)
    job = SkillExtraction.objects.get()
    assert len(callbacks) == 1 and sent == [job.pk]
    assert response.url == reverse("projects:extraction-detail", args=[seeded.pk, job.pk])
    html = client.get(response.url).content.decode()
    assert 'hx-trigger="every 2s"' in html and "Queued" in html
    partial = client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<section class="card" id="extraction"')


def test_task_with_the_oracle_stores_proposals_and_skips_known_skills(
        client_for, editor, seeded):
    teacher = TeacherConfigFactory(project=seeded, kind=TeacherKind.ORACLE)
    job = SkillExtraction.objects.create(project=seeded, teacher_config=teacher, sample_size=3)
    assert skill_extract.run(job.pk) == "done"
    job.refresh_from_db()
    names = list(job.proposals.values_list("name", flat=True))
    # The arithmetic oracle knows its family's skills; "add" is in the project already.
    assert "carry" in names and "borrow" in names and "add" not in names
    assert "add" in job.message and job.raw.startswith("1. add:")
    assert job.status == "done" and job.finished_at is not None
    assert skill_extract.run(job.pk) == "skipped: not queued"  # a redelivered message
    assert job.proposals.count() == len(names)
    html = client_for(editor).get(
        reverse("projects:extraction-detail", args=[seeded.pk, job.pk])).content.decode()
    assert "every 2s" not in html and "carry" in html and "Accept" in html


def test_task_with_an_llm_teacher_parses_its_numbered_list(seeded):
    answer = "1. carry: carry a ten\n2. place_value: read digits by position"
    with FakeServer([(200, completion(answer), 0)]) as server:
        teacher = TeacherConfigFactory(project=seeded, kind=TeacherKind.OPENAI,
                                       base_url=server.url, model="m", max_retries=0)
        job = SkillExtraction.objects.create(project=seeded, teacher_config=teacher,
                                             sample_size=2)
        assert skill_extract.run(job.pk) == "done"
        prompt = server.requests[0]["body"]["messages"][0]["content"]
    assert "Item 1:" in prompt and "Item 2:" in prompt and "Item 3:" not in prompt
    assert list(job.proposals.values_list("name", "description")) == [
        ("carry", "carry a ten"), ("place_value", "read digits by position")]
    assert job.proposals.first().raw == answer


def test_task_records_an_unreachable_teacher_as_a_failure(client_for, viewer, seeded):
    teacher = TeacherConfigFactory(project=seeded, kind=TeacherKind.OPENAI,
                                   base_url=closed_port_url(), model="m", max_retries=0,
                                   timeout_s=2)
    job = SkillExtraction.objects.create(project=seeded, teacher_config=teacher)
    assert skill_extract.run(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and "connection failed" in job.error
    assert not job.proposals.exists()
    html = client_for(viewer).get(
        reverse("projects:extraction-detail", args=[seeded.pk, job.pk])).content.decode()
    assert "connection failed" in html and "every 2s" not in html


@pytest.fixture
def proposals(seeded):
    teacher = TeacherConfigFactory(project=seeded, kind=TeacherKind.ORACLE)
    job = SkillExtraction.objects.create(project=seeded, teacher_config=teacher,
                                         status="done")
    carry = SkillProposal.objects.create(extraction=job, project=seeded, name="carry",
                                         description="carry a ten")
    noise = SkillProposal.objects.create(extraction=job, project=seeded, name="noise")
    dup = SkillProposal.objects.create(extraction=job, project=seeded, name="add")
    return {"job": job, "carry": carry, "noise": noise, "dup": dup}


def decide(client, project, proposal, what, **headers):
    return client.post(reverse(f"projects:proposal-{what}", args=[project.pk, proposal.pk]),
                       **headers)


def test_accept_and_reject_one_by_one(client_for, editor, seeded, proposals):
    client = client_for(editor)
    response = decide(client, seeded, proposals["carry"], "accept", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith("<tr id=\"proposal-")
    assert "Accepted" in html
    skill = Skill.objects.get(project=seeded, name="carry")
    assert skill.origin == "teacher" and skill.description == "carry a ten"
    response = decide(client, seeded, proposals["noise"], "reject")
    assert response.status_code == 302
    assert SkillProposal.objects.get(pk=proposals["noise"].pk).status == "rejected"
    assert not Skill.objects.filter(name="noise").exists()
    # A second decision on the same proposal is refused.
    response = decide(client, seeded, proposals["carry"], "reject", HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "was accepted already" in response.content.decode()


def test_accepting_a_name_the_project_has_is_an_inline_error(client_for, editor, seeded,
                                                              proposals):
    response = decide(client_for(editor), seeded, proposals["dup"], "accept",
                      HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "already has a skill" in response.content.decode()
    assert SkillProposal.objects.get(pk=proposals["dup"].pk).status == "pending"


def test_viewer_and_stranger_cannot_decide_or_start(client_for, viewer, stranger, seeded,
                                                    proposals):
    teacher = proposals["job"].teacher_config
    assert decide(client_for(viewer), seeded, proposals["carry"], "accept").status_code == 403
    assert start(client_for(viewer), seeded, teacher).status_code == 403
    html = client_for(viewer).get(reverse(
        "projects:extraction-detail", args=[seeded.pk, proposals["job"].pk])).content.decode()
    assert "carry" in html and "proposal_accept" not in html and "Accept</button>" not in html
    assert decide(client_for(stranger), seeded, proposals["carry"], "accept").status_code == 404
    assert client_for(stranger).get(reverse(
        "projects:extraction-detail", args=[seeded.pk, proposals["job"].pk])).status_code == 404
    assert SkillProposal.objects.filter(status="pending").count() == 3
    assert SkillExtraction.objects.count() == 1


def test_start_without_examples_or_with_a_bad_size_is_an_inline_error(client_for, editor,
                                                                      project_a):
    teacher = TeacherConfigFactory(project=project_a)
    client = client_for(editor)
    response = start(client, project_a, teacher)
    assert response.status_code == 400 and "no examples yet" in response.content.decode()
    response = start(client, project_a, teacher, sample_size=500)
    assert response.status_code == 400
    assert not SkillExtraction.objects.exists()
