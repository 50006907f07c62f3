import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.projects.models import Example
from apps.review.models import ReviewDecision
from apps.review.services import (
    ReviewConflict,
    review_accept,
    review_edit,
    review_reject,
    review_undo_last,
)

pytestmark = pytest.mark.django_db


def fresh(e):
    return Example.objects.get(pk=e.pk)


def test_accept_without_dataset_keeps_the_item_to_its_run(world, editor):
    e = world.pending[0]
    review_accept(user=editor, example=e, version=e.version)
    e = fresh(e)
    assert (e.review_status, e.added_at, e.reviewed_by, e.version) == ("approved", None,
                                                                       editor, 2)
    d = ReviewDecision.objects.get(example=e)
    assert (d.action, d.prev_status, d.version_before, d.version_after) == ("accept",
                                                                           "pending", 1, 2)


def test_accept_and_add_to_dataset_sets_added_at(world, owner):
    e = world.pending[0]
    review_accept(user=owner, example=e, version=1, add_to_dataset=True)
    assert fresh(e).added_at is not None


def test_a_stale_version_is_a_conflict_and_changes_nothing(world, owner, editor):
    e = world.pending[0]
    review_accept(user=owner, example=e, version=1)
    with pytest.raises(ReviewConflict, match="changed since you loaded it"):
        review_reject(user=editor, example=e, version=1, reason="wrong_answer")
    e = fresh(e)
    assert (e.review_status, e.reviewed_by, e.version) == ("approved", owner, 2)
    assert ReviewDecision.objects.filter(example=e).count() == 1


def test_viewer_cannot_decide(world, viewer):
    with pytest.raises(PermissionDenied):
        review_accept(user=viewer, example=world.pending[0], version=1)
    assert fresh(world.pending[0]).review_status == "pending"


def test_reject_needs_a_known_reason_and_other_needs_text(world, editor):
    e = world.pending[0]
    with pytest.raises(ValidationError):
        review_reject(user=editor, example=e, version=1, reason="nope")
    with pytest.raises(ValidationError):
        review_reject(user=editor, example=e, version=1, reason="other", note="  ")
    review_reject(user=editor, example=e, version=1, reason="other", note="off by one")
    e = fresh(e)
    assert (e.review_status, e.added_at) == ("rejected", None)
    assert ReviewDecision.objects.get(example=e).note == "off by one"


def test_edit_keeps_the_teachers_suggestion(world, editor):
    e = world.pending[0]
    review_edit(user=editor, example=e, version=1, prompt="new question", answer="99",
                skills=["carry", "add"], level=3)
    e = fresh(e)
    assert (e.prompt, e.answer, e.level, e.review_status) == ("new question", "99", 3,
                                                              "approved")
    assert e.suggestion == {"prompt": "synth question 0", "answer": "40", "level": 2,
                            "skills": ["add"]}
    assert sorted(e.skills.values_list("name", flat=True)) == ["add", "carry"]


@pytest.mark.parametrize(("fields", "error"), [
    ({"answer": "  "}, "answer"),
    ({"skills": ["nosuch"]}, "skills"),
    ({"level": 9}, "level"),
    ({"level": 0}, "level"),
    ({"prompt": ""}, "prompt"),
])
def test_bad_edits_save_nothing(world, editor, fields, error):
    e = world.pending[0]
    args = {"prompt": "q", "answer": "1", "skills": ["add"], "level": 2, **fields}
    with pytest.raises(ValidationError) as info:
        review_edit(user=editor, example=e, version=1, **args)
    assert error in info.value.message_dict
    e = fresh(e)
    assert (e.prompt, e.answer, e.level, e.version, e.suggestion) == (
        "synth question 0", "40", 2, 1, {})
    assert not ReviewDecision.objects.exists()


def test_undo_restores_an_edit_and_its_state(world, editor):
    e = world.pending[0]
    review_edit(user=editor, example=e, version=1, prompt="changed", answer="1",
                skills=["carry"], level=1, add_to_dataset=True)
    assert review_undo_last(user=editor, project=world.project)["undone"] == 1
    e = fresh(e)
    assert (e.prompt, e.answer, e.level, e.review_status, e.added_at, e.suggestion,
            e.reviewed_by) == ("synth question 0", "40", 2, "pending", None, {}, None)
    assert list(e.skills.values_list("name", flat=True)) == ["add"]
    assert e.version == 3
    with pytest.raises(ValidationError):
        review_undo_last(user=editor, project=world.project)


def test_undo_goes_back_one_decision_at_a_time(world, editor):
    a, b = world.pending[:2]
    review_accept(user=editor, example=a, version=1)
    review_reject(user=editor, example=b, version=1, reason="duplicate")
    assert review_undo_last(user=editor, project=world.project)["example_id"] == b.pk
    assert review_undo_last(user=editor, project=world.project)["example_id"] == a.pk
    assert {fresh(a).review_status, fresh(b).review_status} == {"pending"}


def test_undo_refuses_when_someone_changed_the_item_since(world, editor, owner):
    e = world.pending[0]
    review_accept(user=editor, example=e, version=1)
    review_reject(user=owner, example=e, version=2, reason="ambiguous")
    with pytest.raises(ReviewConflict):
        review_undo_last(user=editor, project=world.project)
    assert fresh(e).review_status == "rejected"


def test_decisions_tell_waiting_runs_after_commit(world, editor, monkeypatch,
                                                  django_capture_on_commit_callbacks):
    import apps.review.services as services

    seen = []
    monkeypatch.setattr(services, "_resume", seen.append)
    with django_capture_on_commit_callbacks(execute=True):
        review_accept(user=editor, example=world.pending[0], version=1)
    assert seen == [[world.round.pk]]
