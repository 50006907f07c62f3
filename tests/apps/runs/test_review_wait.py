"""Runs and review: waiting for review, and resuming when the last item is decided."""

import pytest
from django.db import transaction

from apps.projects.models import Example
from apps.runs.models import Run, RunEvent, RunStatus
from apps.runs.review_wait import (
    resume_runs_waiting_in_project,
    resume_runs_waiting_on,
    run_pending_by_round,
    run_pending_count,
    run_release_waiting,
    run_review_counts,
)
from apps.runs.services import run_cancel, run_delete
from apps.runs.states import run_claim, run_controls
from apps.runs.sweep import run_sweep_stale
from tests.factories import ExampleFactory, RoundFactory, RunFactory

S = RunStatus
P = Example.ReviewStatus


@pytest.fixture
def sent(monkeypatch):
    """The run ids handed to the GPU queue."""
    out: list[int] = []
    monkeypatch.setattr("apps.runs.dispatch.enqueue_run", out.append)
    return out


def synthesized(rnd, n, status=P.PENDING):
    return [ExampleFactory(project=rnd.run.project, origin=Example.Origin.SYNTHESIZED,
                           review_status=status, round=rnd, skills=[]) for _ in range(n)]


def waiting_run(pending=2, approved=1, *, project=None):
    run = RunFactory(status=S.WAITING, **({"project": project} if project else {}))
    rnd = RoundFactory(run=run, index=1)
    items = synthesized(rnd, pending) + synthesized(rnd, approved, P.APPROVED)
    return run, rnd, items


def decide(items, status):
    Example.objects.filter(pk__in=[e.pk for e in items]).update(review_status=status)


@pytest.mark.django_db(transaction=True)
def test_last_decision_resumes_the_run(sent):
    run, rnd, items = waiting_run(pending=2)
    decide(items[:1], P.APPROVED)
    assert resume_runs_waiting_on(round_ids=[rnd.pk]) == []
    assert Run.objects.get(pk=run.pk).status == S.WAITING and sent == []
    decide(items[1:2], P.REJECTED)
    assert resume_runs_waiting_on(round_ids=[rnd.pk]) == [run.pk]
    run.refresh_from_db()
    assert run.status == S.QUEUED and run.heartbeat_at is not None
    assert sent == [run.pk]
    assert "review finished" in RunEvent.objects.filter(run=run).last().message
    # a second call finds nothing to do
    assert resume_runs_waiting_on(round_ids=[rnd.pk]) == []
    assert sent == [run.pk]


@pytest.mark.django_db
def test_only_waiting_runs_of_those_rounds(sent):
    run, rnd, items = waiting_run(pending=1)
    other, other_rnd, other_items = waiting_run(pending=1)
    running = RunFactory(status=S.RUNNING)
    running_rnd = RoundFactory(run=running, index=1)
    decide(items + other_items, P.APPROVED)
    assert resume_runs_waiting_on(round_ids=[rnd.pk, running_rnd.pk]) == [run.pk]
    assert Run.objects.get(pk=other.pk).status == S.WAITING
    assert Run.objects.get(pk=running.pk).status == S.RUNNING
    assert resume_runs_waiting_on(round_ids=[]) == []
    assert resume_runs_waiting_on(round_ids=iter([other_rnd.pk])) == [other.pk]


@pytest.mark.django_db
def test_pending_items_of_another_round_keep_it_waiting(sent):
    run, rnd, items = waiting_run(pending=1)
    later = RoundFactory(run=run, index=2)
    synthesized(later, 1)
    decide(items, P.APPROVED)
    assert resume_runs_waiting_on(round_ids=[rnd.pk]) == []
    assert run_pending_by_round(run) == {2: 1}
    assert run_pending_count(run.pk) == 1


@pytest.mark.django_db(transaction=True)
def test_release_waiting_or_queued_when_nothing_is_pending(sent):
    run = RunFactory()
    rnd = RoundFactory(run=run, index=1)
    items = synthesized(rnd, 2)
    assert run_claim(run.pk, "w1")
    assert run_release_waiting(run_id=run.pk, worker="w2", round_index=2) is None
    assert run_release_waiting(run_id=run.pk, worker="w1", round_index=2) == S.WAITING
    run.refresh_from_db()
    assert (run.status, run.worker, run.stop_request) == (S.WAITING, "", "")
    assert "2 synthesized items pending" in RunEvent.objects.filter(run=run).last().message
    # the last decision came while the worker was stopping: queued again at once
    run2 = RunFactory()
    synthesized(RoundFactory(run=run2, index=1), 1, P.REJECTED)
    assert run_claim(run2.pk, "w1")
    assert run_release_waiting(run_id=run2.pk, worker="w1", round_index=2) == S.QUEUED
    assert Run.objects.get(pk=run2.pk).status == S.QUEUED and sent == [run2.pk]
    assert len(items) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(("request_", "expected"), [("cancel", S.CANCELLED), ("pause", S.PAUSED)])
def test_a_stop_asked_while_stopping_wins_over_waiting(request_, expected):
    run = RunFactory()
    synthesized(RoundFactory(run=run, index=1), 1)
    assert run_claim(run.pk, "w1")
    Run.objects.filter(pk=run.pk).update(stop_request=request_)
    assert run_release_waiting(run_id=run.pk, worker="w1", round_index=2) == expected
    run.refresh_from_db()
    assert (run.status, run.stop_request) == (expected, "")


@pytest.mark.django_db
def test_waiting_runs_are_not_swept_and_can_be_cancelled(owner, sent):
    run, _, _ = waiting_run(project=None)
    run.project.team = owner.memberships.first().team
    run.project.save()
    assert run_sweep_stale().requeued == []
    assert Run.objects.get(pk=run.pk).status == S.WAITING
    assert run_controls(S.WAITING) == ["cancel", "delete"]
    run_cancel(user=owner, run=run)
    assert Run.objects.get(pk=run.pk).status == S.CANCELLED


@pytest.mark.django_db
def test_waiting_run_can_be_deleted(owner):
    run, _, _ = waiting_run()
    run.project.team = owner.memberships.first().team
    run.project.save()
    with transaction.atomic():
        run_delete(user=owner, run=run)
    assert not Run.objects.filter(pk=run.pk).exists()


@pytest.mark.django_db
def test_approved_only_setting_resumes_waiting_runs(sent):
    run, _, _ = waiting_run(pending=2)
    assert resume_runs_waiting_in_project(project_id=run.project_id) == []
    run.project.approved_only = True
    run.project.save()
    assert resume_runs_waiting_in_project(project_id=run.project_id) == [run.pk]
    assert Run.objects.get(pk=run.pk).status == S.QUEUED


@pytest.mark.django_db
def test_review_counts():
    run, rnd, items = waiting_run(pending=2, approved=2)
    Example.objects.filter(pk=items[2].pk).update(suggestion={"answer": "teacher's"})
    decide(items[:1], P.REJECTED)
    assert run_review_counts(run) == {"pending": 1, "approved": 2, "edited": 1, "rejected": 1}


@pytest.mark.django_db
def test_run_page_says_waiting_for_review_and_links_the_queue(client_for, viewer, project_a):
    from django.urls import reverse

    run, rnd, items = waiting_run(pending=12, approved=0, project=project_a)
    Run.objects.filter(pk=run.pk).update(pool_count=64, pool_hash="ab" * 32)
    html = client_for(viewer).get(reverse("runs:run-detail", args=[run.pk])).content.decode()
    assert "Waiting for review: 12 pending" in html
    assert f"/projects/{project_a.pk}/review/?run={run.pk}&amp;round=1" in html
    assert "pool 64 items · hash <code>abababababab</code>" in html
    assert "Waiting for review" in html  # the status label
    live = client_for(viewer).get(reverse("runs:run-live", args=[run.pk])).content.decode()
    assert "Waiting for review: 12 pending" in live and 'hx-trigger="every 2s"' in live


@pytest.mark.django_db
def test_run_page_counts_what_was_trained_on_unreviewed(client_for, viewer, project_a):
    from django.urls import reverse

    run = RunFactory(project=project_a, status=S.SUCCEEDED)
    for index, trained in enumerate(({"items": 3, "unreviewed": 3, "approved": 0,
                                      "edited": 0},
                                     {"items": 4, "unreviewed": 1, "approved": 2,
                                      "edited": 1})):
        rnd = RoundFactory(run=run, index=index + 1,
                           metrics={"accuracy": 0.5, "synth_trained": trained})
    synthesized(rnd, 2)
    html = client_for(viewer).get(reverse("runs:run-detail", args=[run.pk])).content.decode()
    assert "Trained on 7 synthesized items:" in html
    assert "4 unreviewed, 2 approved, 1 edited by a reviewer" in html
    assert "2 synthesized items pending review" in html
    assert f"review/?run={run.pk}&amp;round=2" in html
    assert "Waiting for review:" not in html


@pytest.mark.django_db
def test_stranger_gets_404_for_a_waiting_run(client_for, stranger, project_a):
    from django.urls import reverse

    run, _, _ = waiting_run(project=project_a)
    response = client_for(stranger).get(reverse("runs:run-detail", args=[run.pk]))
    assert response.status_code == 404


@pytest.mark.django_db
def test_review_state_hands_the_engine_the_items_as_people_left_them():
    from apps.runs.review_wait import run_review_state

    run = RunFactory(status=S.RUNNING, synth_requires_review=True)
    rnd = RoundFactory(run=run, index=1)
    items = synthesized(rnd, 4)
    for i, e in enumerate(items):
        Example.objects.filter(pk=e.pk).update(key=f"run{run.pk}-synth-r1-{i}",
                                               meta={"source": "synth"})
    Example.objects.filter(pk=items[0].pk).update(
        review_status=P.APPROVED, answer="person's", suggestion={"answer": "teacher's"})
    Example.objects.filter(pk=items[1].pk).update(review_status=P.APPROVED)
    Example.objects.filter(pk=items[2].pk).update(review_status=P.REJECTED)
    state = run_review_state(run=run)
    assert [(it.id, it.answer, it.meta["decision"]) for it in state.approved] == [
        ("synth-r1-0", "person's", "edited"), ("synth-r1-1", items[1].answer, "approved")]
    assert state.approved[0].meta["source"] == "synth"
    assert state.rejected == frozenset({"synth-r1-2"})
    assert (state.pending, state.wait) == (1, True)
    run.project.approved_only = True
    run.project.save()
    assert run_review_state(run=run).wait is False
    Run.objects.filter(pk=run.pk).update(synth_requires_review=False)
    run.project.approved_only = False
    run.project.save()
    run.refresh_from_db()
    assert run_review_state(run=run).wait is False  # used at once, still reviewable
