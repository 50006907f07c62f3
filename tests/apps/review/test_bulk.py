import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.projects.models import Example
from apps.review.bulk import review_bulk_decide
from apps.review.filters import ReviewFilter
from apps.review.models import ReviewDecision
from apps.review.services import review_accept, review_undo_last
from tests.factories import ExampleFactory

pytestmark = pytest.mark.django_db


def statuses(world):
    return dict(Example.objects.filter(pk__in=[e.pk for e in world.pending])
                .values_list("pk", "review_status"))


def test_bulk_accepts_everything_matching_the_filter_not_only_a_page(world, editor):
    f = ReviewFilter(status="pending", skill=world.add.pk)
    done = review_bulk_decide(user=editor, project=world.project, f=f, action="accept",
                              add_to_dataset=True)
    assert done["count"] == 3
    accepted = Example.objects.filter(review_status="approved", origin="synthesized")
    assert set(accepted.values_list("pk", flat=True)) == {e.pk for e in world.pending[::2]}
    assert all(e.added_at is not None and e.version == 2 and e.reviewed_by == editor
               for e in accepted)
    assert ReviewDecision.objects.filter(batch=done["batch"]).count() == 3
    assert Example.objects.filter(review_status="pending").count() == 3


def test_bulk_reject_and_undo_put_everything_back(world, editor):
    f = ReviewFilter(status="pending")
    before = statuses(world)
    done = review_bulk_decide(user=editor, project=world.project, f=f, action="reject",
                              reason="duplicate")
    assert done["count"] == 6 and set(statuses(world).values()) == {"rejected"}
    undone = review_undo_last(user=editor, project=world.project)
    assert (undone["undone"], undone["kept"]) == (6, 0)
    assert statuses(world) == before
    assert Example.objects.get(pk=world.seed[0].pk).added_at is not None  # untouched


def test_bulk_undo_keeps_items_changed_since(world, editor, owner):
    done = review_bulk_decide(user=editor, project=world.project,
                              f=ReviewFilter(status="pending"), action="accept")
    changed = world.pending[0]
    review_accept(user=owner, example=changed, version=2, add_to_dataset=True)
    undone = review_undo_last(user=editor, project=world.project)
    assert (undone["undone"], undone["kept"]) == (5, 1)
    assert Example.objects.get(pk=changed.pk).added_at is not None
    assert Example.objects.filter(review_status="pending").count() == 5
    assert not ReviewDecision.objects.filter(batch=done["batch"], undone_at=None).exists()


def test_viewer_cannot_bulk(world, viewer):
    with pytest.raises(PermissionDenied):
        review_bulk_decide(user=viewer, project=world.project,
                           f=ReviewFilter(status="pending"), action="accept")


def test_bulk_is_scoped_to_the_project(world, editor, project_b):
    other = ExampleFactory(project=project_b, review_status="pending")
    review_bulk_decide(user=editor, project=world.project, f=ReviewFilter(), action="reject",
                       reason="ambiguous")
    assert Example.objects.get(pk=other.pk).review_status == "pending"


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


@pytest.mark.parametrize("action", ["accept", "reject"])
def test_bulk_query_count_does_not_grow_with_the_items(world, editor, action):
    """5 items or 60: the same number of queries for the decision and for its undo."""
    f = ReviewFilter(status="pending", round=world.round.index)
    kw = {"reason": "duplicate"} if action == "reject" else {"add_to_dataset": True}

    def decide():
        review_bulk_decide(user=editor, project=world.project, f=f, action=action, **kw)

    def undo():
        review_undo_last(user=editor, project=world.project)

    small = (_queries(decide), _queries(undo))
    for i in range(60):
        ExampleFactory(project=world.project, skills=[world.add], level=2,
                       origin="synthesized", review_status="pending", round=world.round,
                       prompt=f"more {i}", answer="1")
    big = (_queries(decide), _queries(undo))
    assert Example.objects.filter(review_status="pending").count() == 66
    assert small == big
