import json

import pytest
import torch

from tests.engine.student_helpers import tiny_run_spec
from workers.engine import checkpoint as ckpt
from workers.engine.curriculum.base import DataPlan, PlanEntry
from workers.engine.errors import RunCancelled, SkillError, SpecError
from workers.engine.loop import CHECKPOINTS, _Run, run_loop
from workers.engine.records import RoundRecord, RunHooks
from workers.engine.student import Student

TIMING = ("seconds", "train_seconds", "tokens_per_s")


class Recorder(RunHooks):
    def __init__(self, stop_after_round=None):
        self.records, self.events = [], []
        self.stop_after_round = stop_after_round

    def on_progress(self, event):
        self.events.append(event)

    def on_round(self, record):
        assert ckpt.is_complete(record.checkpoint_dir)  # the checkpoint is on disk first
        self.records.append(record)

    def should_stop(self):
        return self.stop_after_round is not None and bool(self.records) and \
            self.records[-1].round >= self.stop_after_round


def _comparable(record: RoundRecord) -> dict:
    d = record.to_dict()
    d["metrics"] = {k: v for k, v in d["metrics"].items() if k not in TIMING}
    d.pop("checkpoint_dir")
    return d


def test_rounds_zero_to_r_with_profile_plan_and_checkpoints(tmp_path):
    hooks = Recorder()
    summary = run_loop(tiny_run_spec(), artifacts_dir=tmp_path, hooks=hooks)
    assert [r.round for r in summary.rounds] == [0, 1, 2] == [r.round for r in hooks.records]
    zero, one = summary.rounds[0], summary.rounds[1]
    assert zero.metrics["steps"] == 0 and zero.plan == {"entries": []}
    assert one.metrics["steps"] == 3 and one.metrics["train_loss"] is not None
    assert sum(one.level_samples.values()) == 3 * 8  # budget = steps x batch size
    assert {s.skill for s in one.profile} == {"add", "carry", "sub", "borrow"}
    assert ckpt.complete_rounds(tmp_path / CHECKPOINTS) == [0, 1, 2]
    json.dumps(summary.to_dict())  # JSON-friendly
    phases = {e.phase for e in hooks.events}
    assert {"evaluate", "diagnose", "plan", "train", "checkpoint"} <= phases
    # a record read back from the checkpoint equals the one reported
    state = ckpt.read_state(tmp_path / CHECKPOINTS / "round-002")
    assert RoundRecord.from_dict(state["record"]).to_dict() == summary.rounds[2].to_dict()


@pytest.mark.parametrize("strategy", ["stat_sel", "stat_syn", "sec"])
def test_resume_continues_exactly_like_an_undisturbed_run(tmp_path, strategy):
    spec = tiny_run_spec(rounds=3, curriculum={"strategy": strategy})
    whole = run_loop(spec, artifacts_dir=tmp_path / "whole")
    hooks = Recorder(stop_after_round=1)
    with pytest.raises(RunCancelled):
        run_loop(spec, artifacts_dir=tmp_path / "cut", hooks=hooks)
    assert ckpt.latest_complete(tmp_path / "cut" / CHECKPOINTS)[0] == 1
    resumed = run_loop(spec, artifacts_dir=tmp_path / "cut", resume_round=1)
    assert [r.round for r in resumed.rounds] == [0, 1, 2, 3]
    assert [_comparable(r) for r in resumed.rounds] == [_comparable(r) for r in whole.rounds]
    a = torch.load(tmp_path / "whole" / CHECKPOINTS / "round-003" / "optimizer.pt")
    b = torch.load(tmp_path / "cut" / CHECKPOINTS / "round-003" / "optimizer.pt")
    assert a["global_step"] == b["global_step"] == 9


def test_failing_round_leaves_no_complete_looking_checkpoint(tmp_path, monkeypatch):
    calls = []
    real_save = Student.save

    def save(self, path, **kwargs):
        calls.append(path)
        if len(calls) == 2:  # round 1's checkpoint dies half-written
            (path / "config.json").write_text("{}")
            raise OSError("disk full")
        real_save(self, path, **kwargs)

    monkeypatch.setattr(Student, "save", save)
    hooks = Recorder()
    with pytest.raises(OSError, match="disk full"):
        run_loop(tiny_run_spec(), artifacts_dir=tmp_path, hooks=hooks)
    root = tmp_path / CHECKPOINTS
    assert [r.round for r in hooks.records] == [0]  # round 1 was never announced
    assert ckpt.latest_complete(root)[0] == 0
    assert sorted(p.name for p in root.iterdir()) == ["round-000"]


def test_should_stop_cancels_before_training(tmp_path):
    class StopNow(RunHooks):
        def should_stop(self):
            return True

    with pytest.raises(RunCancelled):
        run_loop(tiny_run_spec(), artifacts_dir=tmp_path, hooks=StopNow())
    assert ckpt.latest_complete(tmp_path / CHECKPOINTS) is None


def test_stat_syn_synthesizes_with_lineage_and_grows_the_pool(tmp_path):
    spec = tiny_run_spec(rounds=1, curriculum={"strategy": "stat_syn"})
    summary = run_loop(spec, artifacts_dir=tmp_path)
    record = summary.rounds[1]
    assert record.synthesized, record.plan
    failed = {v["item_id"] for v in ckpt.read_state(tmp_path / CHECKPOINTS / "round-000")[
        "verdicts"] if not v["correct"]}
    for item in record.synthesized:
        assert item.meta["source"] == "synth"
        assert item.meta["teacher"] == "oracle" and item.meta["round"] == 1
        assert item.meta["trigger_item"] in failed and item.meta["review"] == "approved"
    state = ckpt.read_state(tmp_path / CHECKPOINTS / "round-001")
    assert len(state["synthesized"]) == len(record.synthesized)
    synthesis = record.metrics["synthesis"]
    assert synthesis["requested"] == synthesis["kept"] + sum(synthesis["rejected"].values())
    assert synthesis["kept"] == len(record.synthesized)
    assert record.metrics["attribution"] == "oracle error analysis"
    assert summary.rounds[0].metrics["synthesis"] is None


def test_stat_syn_drops_what_the_student_already_solves(tmp_path, monkeypatch):
    asked = []

    def solves(self, items):
        asked.append(len(items))
        return [True] * len(items)

    monkeypatch.setattr(_Run, "student_solves", solves)
    spec = tiny_run_spec(rounds=1, curriculum={"strategy": "stat_syn"})
    record = run_loop(spec, artifacts_dir=tmp_path).rounds[1]
    assert asked and record.synthesized == ()
    assert record.metrics["synthesis"]["rejected"]["already_solved"] == asked[0]
    assert sum(record.level_samples.values()) == 3 * 8  # the budget is kept with pool items


def test_synthesized_items_wait_for_review(tmp_path):
    spec = tiny_run_spec(rounds=1, curriculum={"strategy": "stat_syn"},
                         synth_requires_review=True)
    summary = run_loop(spec, artifacts_dir=tmp_path)
    record = summary.rounds[1]
    assert record.synthesized
    assert all(it.meta["review"] == "pending" for it in record.synthesized)
    assert sum(record.level_samples.values()) == 3 * 8  # the budget is kept with pool items


def test_empty_planned_cell_names_the_skill(tmp_path):
    run = _Run(tiny_run_spec(), tmp_path, RunHooks(), None, None)
    plan = DataPlan(entries=(PlanEntry("borrow", 1, 4),))  # 1-digit subtraction never borrows
    with pytest.raises(SkillError, match="borrow"):
        run.materialize(1, plan)


def test_held_out_levels_stay_out_of_training_and_are_reported_apart(tmp_path):
    spec = tiny_run_spec(rounds=1, task={"held_out_levels": [2]})
    summary = run_loop(spec, artifacts_dir=tmp_path)
    record = summary.rounds[1]
    assert set(record.level_samples) == {1}
    assert [lv.level for lv in record.held_out] == [2]
    assert [lv.level for lv in record.levels] == [1]
    assert record.metrics["held_out_accuracy"] is not None


def test_bad_strategy_and_params_are_spec_errors(tmp_path):
    with pytest.raises(SpecError, match="spec.curriculum.strategy"):
        run_loop(tiny_run_spec(curriculum={"strategy": "nope"}), artifacts_dir=tmp_path)
    with pytest.raises(SpecError, match="spec.curriculum.params.k"):
        run_loop(tiny_run_spec(curriculum={"strategy": "stat_sel", "params": {"k": 0}}),
                 artifacts_dir=tmp_path)


def test_web_supplied_pool_and_eval_items_are_used(tmp_path):
    from tests.engine.student_helpers import add_items

    pool, evals = add_items(40, seed=1), add_items(6, seed=2)
    summary = run_loop(tiny_run_spec(rounds=1), artifacts_dir=tmp_path, pool=pool,
                       eval_items=evals)
    assert sum(lv.evaluated for lv in summary.rounds[1].levels) == 6
    profile = {s.skill: s.evaluated for s in summary.rounds[1].profile}
    assert profile["sub"] == 0  # the web's eval items are additions only


def _share(items, skill):
    return sum(skill in it.skills for it in items) / len(items)


def test_pool_options_skew_the_pool_only_and_the_eval_split_stays_natural(tmp_path):
    rare = {"skill_weights": {"carry": 0.05, "borrow": 0.05}}
    spec = tiny_run_spec(task={"pool_size": 300, "eval_size": 300, "pool_options": rare})
    run = _Run(spec, tmp_path, RunHooks(), None, None)
    plain = _Run(tiny_run_spec(task={"pool_size": 300, "eval_size": 300}), tmp_path,
                 RunHooks(), None, None)
    for skill in ("carry", "borrow"):
        # rare but present in the seed pool, measured fairly on the eval split
        assert 0 < _share(run.pool, skill) < 0.5 * _share(run.eval_items, skill)
        assert _share(run.eval_items, skill) > 0.07  # natural shares: ~0.28 carry, ~0.10 borrow
    assert [it.id for it in run.eval_items] == [it.id for it in plain.eval_items]
    # skill_weights in options (not pool_options) skew the eval split as well
    both = _Run(tiny_run_spec(task={"pool_size": 300, "eval_size": 300,
                                    "options": {"levels": [1, 2], "ops": ["add", "sub"],
                                                **rare}}),
                tmp_path, RunHooks(), None, None)
    assert _share(both.eval_items, "carry") < 0.5 * _share(run.eval_items, "carry")


@pytest.mark.parametrize(("pool_options", "field"), [
    ({"skill_weights": {"flying": 0.5}}, "spec.task.pool_options.skill_weights.flying"),
    ({"colour": "red"}, "spec.task.pool_options.colour"),
    ({"levels": [1]}, "spec.task.pool_options"),
    ({"ops": ["add"]}, "spec.task.pool_options"),
])
def test_bad_pool_options_name_their_field(tmp_path, pool_options, field):
    with pytest.raises(SpecError) as err:
        _Run(tiny_run_spec(task={"pool_options": pool_options}), tmp_path, RunHooks(), None,
             None)
    assert err.value.field == field


def test_pool_options_must_be_a_mapping():
    with pytest.raises(SpecError, match="spec.task.pool_options"):
        tiny_run_spec(task={"pool_options": ["skill_weights"]})


def test_the_launch_eval_size_caps_the_eval_items_the_data_sets_aside(tmp_path):
    """A project's eval split of 30 and a launch asking for 8: 8 items are evaluated (and
    logged), the same 8 for the same seed, in the split's order."""
    from tests.engine.student_helpers import add_items
    from workers.engine.assemble import eval_subset

    evals = add_items(30, seed=2)
    spec = tiny_run_spec(rounds=1, task={"eval_size": 8})
    chosen = eval_subset(spec, evals)
    assert len(chosen) == 8 and chosen == eval_subset(spec, evals)
    assert [evals.index(it) for it in chosen] == sorted(evals.index(it) for it in chosen)
    assert eval_subset(tiny_run_spec(task={"eval_size": 50}), evals) == evals
    messages = []

    class Hooks(RunHooks):
        def on_progress(self, event):
            if event.phase == "evaluate":
                messages.append(event.message)

    summary = run_loop(spec, artifacts_dir=tmp_path, pool=add_items(40, seed=1),
                       eval_items=evals, hooks=Hooks())
    assert sum(lv.evaluated for lv in summary.rounds[1].levels) == 8
    assert set(messages) == {"8 items"}


def test_a_round_records_the_curriculum_state_it_sampled_with(tmp_path):
    """The run page's state table and its sampling column agree: the state of round r is
    the one round r planned with (for sec: the probabilities its levels were drawn by)."""
    spec = tiny_run_spec(rounds=3, curriculum={"strategy": "sec", "params": {"tau": 0.05}})
    summary = run_loop(spec, artifacts_dir=tmp_path)
    for record in summary.rounds[1:]:
        state = record.curriculum_state["probabilities"]
        assert {int(k): v for k, v in state.items()} == pytest.approx(
            record.level_probabilities)
    assert summary.rounds[1].curriculum_state["updates"] == 0  # round 1: before any update
    assert summary.rounds[3].curriculum_state["updates"] == 2


def test_the_bandits_read_their_signal_from_signal_samples_items_a_level(tmp_path, monkeypatch):
    from collections import Counter

    from workers.engine import loop

    asked = []
    real = loop.evaluate_items

    def counting(student, family, items, *, split, **kwargs):
        if split == "train":  # the signal's items (dump has no other training-split answers)
            asked.append(Counter(it.level for it in items))
        return real(student, family, items, split=split, **kwargs)

    monkeypatch.setattr(loop, "evaluate_items", counting)
    spec = tiny_run_spec(rounds=2, curriculum={"strategy": "dump",
                                               "params": {"signal_samples": 5}})
    summary = run_loop(spec, artifacts_dir=tmp_path)
    assert len(asked) == 2  # one reading a round, 5 items of each level it trains on
    for record, counts in zip(summary.rounds[1:], asked, strict=True):
        assert counts == dict.fromkeys(record.level_samples, 5)


def test_skill_level_arms_read_their_signal_per_cell(tmp_path, monkeypatch):
    """With ``arms`` skill_level the loop samples up to ``signal_samples`` training items of
    each (skill, level) cell, answers an item of two cells once, and hands the bandit one
    signal per cell, with the number of the round's items in the cell as ``trained``."""
    from collections import Counter

    from workers.engine import loop
    from workers.engine.curriculum.bandit import Sec

    got, asked, trained = [], [], []
    real_update, real_eval, real_train = Sec.update, loop.evaluate_items, loop._Run.train

    def spying_update(self, *, round, signals):
        got.append(dict(signals))
        return real_update(self, round=round, signals=signals)

    def counting(student, family, items, *, split, **kwargs):
        if split == "train":
            asked.append(list(items))
        return real_eval(student, family, items, split=split, **kwargs)

    def train(self, round_, items):
        trained.append(list(items))
        return real_train(self, round_, items)

    monkeypatch.setattr(Sec, "update", spying_update)
    monkeypatch.setattr(loop, "evaluate_items", counting)
    monkeypatch.setattr(loop._Run, "train", train)
    spec = tiny_run_spec(rounds=2, curriculum={"strategy": "sec", "params": {
        "signal_samples": 3, "arms": "skill_level", "signal_unit": "gradient"}})
    summary = run_loop(spec, artifacts_dir=tmp_path)
    assert len(got) == len(asked) == len(trained) == 2
    for signals, items, train in zip(got, asked, trained, strict=True):
        cells = Counter((s, it.level) for it in train for s in it.skills)
        assert set(signals) == set(cells)  # one signal per cell trained on
        assert len({it.id for it in items}) == len(items)  # each item answered once
        for (skill, level), sig in signals.items():
            assert (sig.skill, sig.level) == (skill, level)
            assert sig.trained == cells[(skill, level)]
            distinct = {it.id for it in train if it.level == level and skill in it.skills}
            assert sig.samples == min(3, len(distinct))
            assert sig.tokens > 0
    state = summary.rounds[2].curriculum_state
    assert set(state["last_rewards"]) == {f"{s}@{lv}" for s, lv in got[0]}
    entries = summary.rounds[2].plan["entries"]
    assert entries and all(e["skill"] is not None for e in entries)
    assert sum(summary.rounds[2].level_probabilities.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("unit", ["answer", "token", "gradient"])
def test_sec_reads_its_signal_by_answer_by_token_or_as_a_gradient(tmp_path, monkeypatch, unit):
    """By token (or as a gradient), the loop scores the same signal items teacher-forced,
    and each level's reward is the learning signal of its share of answer tokens right (or
    1 - the mean probability of the reference tokens); by answer, no token is scored."""
    from workers.engine import loop
    from workers.engine.curriculum.bandit import learning_signal

    scored = []
    real = loop.answer_token_scores

    def counting(student, items, **kwargs):
        scores = real(student, items, **kwargs)
        scored.append((items, scores))
        return scores

    monkeypatch.setattr(loop, "answer_token_scores", counting)
    spec = tiny_run_spec(rounds=2, curriculum={"strategy": "sec", "params": {
        "signal_samples": 6, "signal_unit": unit}})
    summary = run_loop(spec, artifacts_dir=tmp_path)
    if unit == "answer":
        assert scored == []
        return
    assert len(scored) == 2  # one reading a round, of 6 items a level
    items, scores = scored[0]
    rewards = summary.rounds[2].curriculum_state["last_rewards"]  # after round 1's reading
    for level in {it.level for it in items}:
        mine = [sc for it, sc in zip(items, scores, strict=True) if it.level == level]
        assert len(mine) == 6
        tokens = sum(sc.tokens for sc in mine)
        want = (1 - sum(sc.prob for sc in mine) / tokens if unit == "gradient"
                else learning_signal(sum(sc.hits for sc in mine) / tokens))
        assert 0.0 <= want <= 1.0
        assert rewards[str(level)] == pytest.approx(want)
