"""The round loop and people's review of synthesized items (``RunHooks.review``)."""

import dataclasses

import pytest

from tests.engine.student_helpers import tiny_run_spec
from workers.engine import checkpoint as ckpt
from workers.engine.errors import WaitForReview
from workers.engine.loop import CHECKPOINTS, run_loop
from workers.engine.materialize import Materializer
from workers.engine.records import ReviewState, RunHooks


class Reviewers(RunHooks):
    """Answers ``review`` with ``decide(synthesized so far)``; keeps what it was asked."""

    def __init__(self, decide=None):
        self.decide = decide
        self.records, self.asked = [], []

    def on_round(self, record):
        self.records.append(record)

    def review(self, round):
        self.asked.append(round)
        made = [it for r in self.records for it in r.synthesized]
        return self.decide(made) if self.decide else None


def review_spec(**over):
    return tiny_run_spec(rounds=2, curriculum={"strategy": "stat_syn"},
                         synth_requires_review=True, **over)


def approve(item, **changes):
    decision = "edited" if changes else "approved"
    return dataclasses.replace(item, **changes, meta={**item.meta, "decision": decision})


def test_pending_items_make_the_next_round_wait(tmp_path):
    hooks = Reviewers(lambda made: ReviewState(pending=len(made), wait=True))
    with pytest.raises(WaitForReview) as exc:
        run_loop(review_spec(), artifacts_dir=tmp_path, hooks=hooks)
    made = hooks.records[1].synthesized
    assert made and exc.value.round == 2 and exc.value.pending == len(made)
    assert hooks.asked == [2]  # round 1 had nothing synthesized yet
    assert ckpt.complete_rounds(tmp_path / CHECKPOINTS) == [0, 1]


def test_resumed_run_trains_the_approved_items_as_edited_and_never_the_rejected(tmp_path):
    hooks = Reviewers(lambda made: ReviewState(pending=len(made), wait=True))
    with pytest.raises(WaitForReview):
        run_loop(review_spec(), artifacts_dir=tmp_path, hooks=hooks)
    made = list(hooks.records[1].synthesized)
    assert len(made) >= 3, "the test needs a few synthesized items"
    edited = approve(made[0], answer=made[0].answer)  # unchanged text, marked edited
    kept, rejected = [edited, approve(made[1])], {it.id for it in made[2:]}

    resumed = Reviewers(lambda _: ReviewState(approved=tuple(kept), rejected=frozenset(rejected)))
    summary = run_loop(review_spec(), artifacts_dir=tmp_path, hooks=resumed, resume_round=1)
    two = summary.rounds[2]
    trained = two.metrics["synth_trained"]
    assert set(trained["ids"]) == {it.id for it in kept}  # both fill the round's synth share
    assert not set(trained["ids"]) & rejected
    assert (trained["approved"], trained["edited"], trained["unreviewed"]) == (1, 1, 0)
    assert two.metrics["review"] == {"pending": 0, "approved": 2, "edited": 1,
                                     "rejected": len(rejected)}
    # round 1 trained on nothing synthesized: its items were pending
    assert summary.rounds[1].metrics["synth_trained"]["items"] == 0


def test_an_edit_is_what_gets_trained(tmp_path, monkeypatch):
    hooks = Reviewers(lambda made: ReviewState(pending=len(made), wait=True))
    with pytest.raises(WaitForReview):
        run_loop(review_spec(), artifacts_dir=tmp_path, hooks=hooks)
    item = hooks.records[1].synthesized[0]
    fixed = approve(item, answer=item.answer + "0")  # a person's version of the answer
    seen = []
    original = Materializer.materialize

    def spy(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        seen.extend(out[0])
        return out

    monkeypatch.setattr(Materializer, "materialize", spy)
    resumed = Reviewers(lambda _: ReviewState(approved=(fixed,)))
    run_loop(review_spec(), artifacts_dir=tmp_path, hooks=resumed, resume_round=1)
    trained = [it for it in seen if it.id == item.id]
    assert trained and all(it.answer == fixed.answer for it in trained)


def test_approved_only_goes_on_without_waiting(tmp_path):
    # the worker answers wait=False when the project uses approved items only
    hooks = Reviewers(lambda made: ReviewState(pending=len(made), wait=False))
    summary = run_loop(review_spec(), artifacts_dir=tmp_path, hooks=hooks)
    assert [r.round for r in summary.rounds] == [0, 1, 2]
    assert summary.rounds[2].metrics["synth_trained"]["items"] == 0
    assert summary.rounds[2].metrics["review"]["pending"] == len(hooks.records[1].synthesized)


def test_without_review_items_are_used_at_once_and_rejected_ones_dropped(tmp_path):
    spec = tiny_run_spec(rounds=2, curriculum={"strategy": "stat_syn"})
    rejected: set[str] = set()

    def decide(made):
        rejected.update(it.id for it in made)  # people reject everything round 1 made
        return ReviewState(rejected=frozenset(rejected))

    hooks = Reviewers(decide)
    summary = run_loop(spec, artifacts_dir=tmp_path, hooks=hooks)
    one, two = summary.rounds[1], summary.rounds[2]
    assert one.metrics["synth_trained"]["unreviewed"] == len(one.synthesized) > 0
    assert not set(two.metrics["synth_trained"]["ids"]) & rejected


def test_without_hooks_nothing_changes(tmp_path):
    summary = run_loop(review_spec(), artifacts_dir=tmp_path)
    assert [r.round for r in summary.rounds] == [0, 1, 2]
    assert summary.rounds[2].metrics["review"] is None
    assert summary.rounds[2].metrics["synth_trained"]["items"] == 0
