"""Data isolation: a run's pool is the project's dataset at launch, recorded by count and
content hash; synthesized items belong to their run."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.projects.models import Example
from apps.projects.services import example_build, example_bulk_create, example_create
from apps.prompts.services import prompt_defaults_install
from apps.runs.models import Run
from apps.runs.pool import (
    PoolChanged,
    dataset_pool,
    item_rows,
    pool_check,
    pool_fingerprint,
    pool_summary,
)
from apps.runs.recording import run_record_round
from apps.runs.selectors import run_items
from apps.runs.services import run_create
from apps.runs.states import run_claim
from tests.factories import (
    CurriculumFactory,
    ExampleFactory,
    RoundFactory,
    SkillFactory,
    StudentSpecFactory,
    TeacherConfigFactory,
)
from workers.engine.api import Item

E = Example


@pytest.fixture
def parts(project_a, owner):
    prompt_defaults_install(user=owner, project=project_a)
    return {
        "project": project_a,
        "student": StudentSpecFactory(project=project_a),
        "teacher_config": TeacherConfigFactory(project=project_a),
        "curriculum": CurriculumFactory(project=project_a, strategy="uniform"),
    }


def launch(owner, parts, strategy="uniform", **options):
    parts = {**parts, "curriculum": CurriculumFactory(project=parts["project"],
                                                      strategy=strategy)}
    return run_create(user=owner, enqueue=False, **parts, **options)


def test_fingerprint_ignores_order_and_sees_every_field():
    rows = [("1+1=", "2", 1, ("add",)), ("2-1=", "1", 1, ("sub", "borrow"))]
    digest = pool_fingerprint(rows)
    assert len(digest) == 64
    assert pool_fingerprint(reversed(rows)) == digest
    assert pool_fingerprint([rows[0], ("2-1=", "1", 1, ("borrow", "sub"))]) == digest
    for changed in (("1+1=", "3", 1, ("add",)), ("1+1= ", "2", 1, ("add",)),
                    ("1+1=", "2", 2, ("add",)), ("1+1=", "2", 1, ("carry",))):
        assert pool_fingerprint([changed, rows[1]]) != digest
    assert pool_fingerprint(rows[:1]) != digest
    assert pool_fingerprint([]) == pool_fingerprint(())


@pytest.mark.django_db
def test_seed_and_imported_items_join_the_dataset_synthesized_ones_do_not(project_a, owner):
    skill = SkillFactory(project=project_a)
    seed = example_create(user=owner, project=project_a, prompt="1+1=", answer="2",
                          skills=[skill], level=1)
    synth = example_create(user=owner, project=project_a, prompt="2+2=", answer="4",
                           skills=[skill], level=1, origin=E.Origin.SYNTHESIZED,
                           review_status=E.ReviewStatus.APPROVED)
    imported, _ = example_build(project=project_a, prompt="3+3=", answer="6", skills=[skill],
                                level=1, origin=E.Origin.IMPORTED)
    assert seed.added_at is not None and imported.added_at is not None
    assert synth.added_at is None  # approved, but it belongs to its run
    rows = example_bulk_create(project=project_a, rows=[
        {"prompt": "4+4=", "answer": "8", "skills": [skill], "level": 1},
        {"prompt": "5+5=", "answer": "10", "skills": [skill], "level": 1,
         "origin": E.Origin.SYNTHESIZED}])
    assert rows[0].added_at is not None and rows[1].added_at is None


@pytest.mark.django_db
def test_launch_records_the_pool_and_the_worker_loads_the_same(owner, parts):
    project = parts["project"]
    skill = SkillFactory(project=project, name="add")
    ExampleFactory.create_batch(3, project=project, skills=[skill])
    ExampleFactory(project=project, split=E.Split.EVAL, skills=[skill])
    ExampleFactory(project=project, review_status=E.ReviewStatus.PENDING, skills=[skill])
    run = launch(owner, parts)
    assert run.pool_count == 3 and len(run.pool_hash) == 64
    assert Run.objects.get(pk=run.pk).pool_hash == run.pool_hash
    pool, eval_items = run_items(run=run)
    assert len(pool) == 3 and len(eval_items) == 1
    assert pool_fingerprint(item_rows(pool)) == run.pool_hash
    pool_check(run=run, items=pool)  # unchanged: no error
    # items that join the dataset after the launch are not in the run's pool
    ExampleFactory(project=project, skills=[skill])
    assert len(run_items(run=run)[0]) == 3
    pool_check(run=run, items=run_items(run=run)[0])


@pytest.mark.django_db
def test_a_deleted_or_edited_pool_item_is_refused_clearly(owner, parts):
    project = parts["project"]
    examples = ExampleFactory.create_batch(3, project=project)
    run = launch(owner, parts)
    E.objects.filter(pk=examples[0].pk).update(answer="wrong")
    with pytest.raises(PoolChanged, match=r"pool had 3 items .*now 3 .*deleted or edited"):
        pool_check(run=run, items=run_items(run=run)[0])
    examples[0].delete()
    with pytest.raises(PoolChanged, match=r"pool had 3 items \(hash [0-9a-f]{12}\), now 2"):
        pool_check(run=run, items=run_items(run=run)[0])


@pytest.mark.django_db
def test_runs_launched_before_pools_were_recorded_are_not_checked(owner, parts):
    run = launch(owner, parts)
    Run.objects.filter(pk=run.pk).update(pool_hash="", pool_count=None)
    run.refresh_from_db()
    pool_check(run=run, items=[Item("x", "1+1=", "2", ("add",), 1)])


@pytest.mark.django_db
def test_the_pool_is_the_dataset_at_launch_by_added_at_not_created_at(owner, parts):
    project = parts["project"]
    old = ExampleFactory(project=project, review_status=E.ReviewStatus.PENDING)
    run = launch(owner, parts)
    # approved and added to the dataset after the launch: created before, added after
    E.objects.filter(pk=old.pk).update(review_status=E.ReviewStatus.APPROVED,
                                       added_at=timezone.now() + timedelta(seconds=1))
    assert run_items(run=run)[0] is None
    assert dataset_pool(project_id=project.pk, at=timezone.now() + timedelta(seconds=2)).count() \
        == 1


@pytest.mark.django_db
def test_uniform_run_after_a_stat_syn_run_sees_only_the_original_data(owner, parts):
    project = parts["project"]
    skill = SkillFactory(project=project, name="add")
    ExampleFactory.create_batch(4, project=project, skills=[skill])
    syn = launch(owner, parts, "stat_syn", synth_requires_review=False)
    assert run_claim(syn.pk, "w")
    RoundFactory(run=syn, index=0)
    record = {"round": 1, "metrics": {"seconds": 1.0}, "synthesized": [
        {"id": f"synth-{i}", "prompt": f"{i}0+1=", "answer": f"{i}1", "skills": ["add"],
         "level": 1, "meta": {"source": "synth", "teacher": "oracle"}} for i in range(1, 4)]}
    run_record_round(run=syn, record=record, worker="w")
    made = E.objects.filter(round__run=syn)
    assert made.count() == 3
    # without review required they are pending (still reviewable) and not in the dataset
    assert set(made.values_list("review_status", flat=True)) == {E.ReviewStatus.PENDING}
    assert set(made.values_list("added_at", flat=True)) == {None}
    made.update(review_status=E.ReviewStatus.APPROVED)  # approved, still not added
    uniform = launch(owner, parts, "uniform")
    assert (uniform.pool_count, uniform.pool_hash) == (syn.pool_count, syn.pool_hash) == \
        (4, pool_summary(project_id=project.pk, at=timezone.now())[1])
    pool, _ = run_items(run=uniform)
    assert len(pool) == 4 and not any(it.id.startswith(f"run{syn.pk}-") for it in pool)
    assert uniform.spec["task"]["pool_size"] == 4


@pytest.mark.django_db
def test_example_items_equal_example_item(project_a):
    from apps.projects.selectors import example_item, example_items

    a, b = SkillFactory(project=project_a, name="b"), SkillFactory(project=project_a, name="a")
    rows = [ExampleFactory(project=project_a, skills=[a, b], key="k1", meta={"x": 1}),
            ExampleFactory(project=project_a, skills=[]),
            ExampleFactory(project=project_a, skills=[b])]
    ExampleFactory(project=SkillFactory().project)  # another project's
    got = example_items(E.objects.filter(project=project_a))
    want = [example_item(e) for e in rows]
    assert [(i.to_dict()) for i in got] == [i.to_dict() for i in want]
    assert got[0].skills == ("a", "b") and got[1].id == f"example-{rows[1].pk}"
