"""Runs and review on real workers: a stat_syn run with review required waits for its
synthesized items, people decide them, and the resumed run trains only on the approved
ones, as edited; a uniform run launched afterwards trains on the original data only."""

import pytest
from django.utils import timezone

from apps.projects.creation import project_create_from_family
from apps.projects.models import Example
from apps.runs.models import Round, Run, RunEvent, RunStatus
from apps.runs.pool import pool_summary
from apps.runs.review_wait import engine_item_id, resume_runs_waiting_on
from apps.runs.selectors import run_items
from apps.runs.services import run_launch
from tests.factories import (
    CurriculumFactory,
    MembershipFactory,
    StudentSpecFactory,
    TeacherConfigFactory,
    TeamFactory,
    UserFactory,
)
from tests.workers.conftest import wait_for
from tests.workers.helpers import describe, status

pytestmark = [pytest.mark.integration, pytest.mark.slow]

P = Example.ReviewStatus


def seeded_project():
    user = UserFactory(username="reviewer")
    team = TeamFactory(name="Review team")
    MembershipFactory(user=user, team=team, role="editor")
    project = project_create_from_family(
        user=user, team=team, name="Arithmetic review", task_family="arithmetic",
        task_options={"levels": [1, 2], "ops": ["add", "sub"]}, train_size=64, eval_size=16,
        require_review=True,
    )
    return user, project


def launch(user, project, strategy, **options):
    return run_launch(
        user=user, project=project, student=StudentSpecFactory(project=project, max_length=16),
        teacher_config=TeacherConfigFactory(project=project),
        curriculum=CurriculumFactory(project=project, strategy=strategy),
        steps_per_round=4, batch_size=8, eval_size=16, lr=0.003, device="auto", **options)


def test_waiting_run_resumes_and_trains_only_on_approved_items(workers):
    user, project = seeded_project()
    seed_count, seed_hash = pool_summary(project_id=project.pk, at=timezone.now())
    run = launch(user, project, "stat_syn", rounds=2, synth_requires_review=True)
    assert (run.pool_count, run.pool_hash) == (seed_count, seed_hash) and seed_count == 64

    wait_for(lambda: status(run) == RunStatus.WAITING, timeout=120, what="the run to wait",
             on_fail=lambda: describe(run))
    assert list(Round.objects.filter(run=run).values_list("index", flat=True)) == [0, 1]
    made = list(Example.objects.filter(round__run=run).order_by("pk"))
    assert len(made) >= 3, describe(run)
    assert all(e.review_status == P.PENDING and e.added_at is None for e in made)
    assert RunEvent.objects.filter(run=run, message__contains="waiting for review").exists()

    # people decide: the first two approved (one edited), the others rejected
    approved, rejected = made[:2], made[2:]
    edited = approved[0]
    Example.objects.filter(pk=edited.pk).update(
        answer=edited.answer + "0", suggestion={"answer": edited.answer}, version=2)
    Example.objects.filter(pk__in=[e.pk for e in approved]).update(review_status=P.APPROVED)
    Example.objects.filter(pk__in=[e.pk for e in rejected[:-1]]).update(
        review_status=P.REJECTED)
    round_ids = {e.round_id for e in made}
    assert resume_runs_waiting_on(round_ids=round_ids) == []  # one is still pending
    assert status(run) == RunStatus.WAITING
    Example.objects.filter(pk=rejected[-1].pk).update(review_status=P.REJECTED)
    assert resume_runs_waiting_on(round_ids=round_ids) == [run.pk]

    wait_for(lambda: status(run) == RunStatus.SUCCEEDED, timeout=120,
             what="the resumed run to finish", on_fail=lambda: describe(run))
    two = Round.objects.get(run=run, index=2)
    trained = two.metrics["synth_trained"]
    approved_ids = {engine_item_id(run=run, key=e.key) for e in approved}
    rejected_ids = {engine_item_id(run=run, key=e.key) for e in rejected}
    assert set(trained["ids"]) == approved_ids, two.metrics
    assert not set(trained["ids"]) & rejected_ids
    assert (trained["approved"], trained["edited"], trained["unreviewed"]) == (1, 1, 0)
    assert two.metrics["review"] == {"pending": 0, "approved": 2, "edited": 1,
                                     "rejected": len(rejected)}
    # the round's data plan asked for synthesized items; lineage: every trained item is an
    # approved example of this run
    assert any(e["source"] == "synth" for e in two.plan["entries"]), two.plan
    keys = [f"run{run.pk}-{item_id}" for item_id in trained["ids"]]
    assert set(Example.objects.filter(project=project, key__in=keys)
               .values_list("review_status", flat=True)) == {P.APPROVED}
    assert Round.objects.get(run=run, index=1).metrics["synth_trained"]["items"] == 0

    # a uniform run launched afterwards trains on the original data only
    uniform = launch(user, project, "uniform", rounds=1)
    assert (uniform.pool_count, uniform.pool_hash) == (seed_count, seed_hash)
    pool, _ = run_items(run=uniform)
    assert not any(it.meta.get("source") == "synth" for it in pool)
    wait_for(lambda: status(uniform) == RunStatus.SUCCEEDED, timeout=120,
             what="the uniform run to finish", on_fail=lambda: describe(uniform))
    assert Round.objects.get(run=uniform, index=1).metrics["synth_trained"]["items"] == 0


def test_a_changed_pool_fails_the_run_with_a_clear_error(workers):
    user, project = seeded_project()
    run = launch(user, project, "uniform", rounds=1)
    wait_for(lambda: status(run) == RunStatus.SUCCEEDED, timeout=120, what="the run",
             on_fail=lambda: describe(run))
    # an item of the pool is deleted; a retry of the run must not train on other data
    project.examples.filter(split=Example.Split.TRAIN).first().delete()
    Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    from apps.runs.services import run_retry

    run_retry(user=user, run=Run.objects.get(pk=run.pk))
    wait_for(lambda: status(run) == RunStatus.FAILED, timeout=60, what="the run to fail",
             on_fail=lambda: describe(run))
    run.refresh_from_db()
    assert "dataset changed since this run was launched" in run.error
    assert "64 items" in run.error and "now 63" in run.error
