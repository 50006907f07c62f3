import pytest

from tests.engine.curriculum_helpers import LEVELS, SKILLS, failure, full_pool, obs
from workers.engine.curriculum import get_strategy


def make(name, budget=100, **params):
    return get_strategy(name)(params=params, skills=SKILLS, levels=LEVELS, budget=budget,
                              seed=0)


FAILURES = [
    failure(2, "carry", item_id="a"),
    failure(3, "carry", "add", item_id="b"),
    failure(2, "borrow", item_id="c"),  # no borrow items at level 2: nearest level is 3
]


def cells(plan, source="pool"):
    return {(e.skill, e.level): e.count for e in plan.entries if e.source == source}


def test_stat_sel_proportions_and_uniform_floor():
    s = make("stat_sel")
    plan = s.plan(obs(1, failures=FAILURES, pool=full_pool(borrow_2=0)))
    # four (failure, skill) pairs x k=5 = 20 wanted, scaled to the 90 non-floor items
    assert cells(plan) == {("add", 3): 23, ("carry", 2): 23, ("carry", 3): 22,
                           ("borrow", 3): 22, (None, None): 10}
    assert plan.total == 100
    weights = s.state()["skill_weights"]
    assert weights["carry"] == pytest.approx(0.45)  # 2 of 4 pairs -> half of the 90
    assert weights["add"] + weights["borrow"] == pytest.approx(0.45)


def test_stat_sel_shares_follow_the_profile_frequency():
    failures = [failure(1, "carry", item_id=str(i)) for i in range(3)] + [failure(1, "sub")]
    plan = make("stat_sel", budget=200, uniform_floor=0.0).plan(obs(1, failures=failures))
    assert cells(plan) == {("carry", 1): 150, ("sub", 1): 50}


def test_stat_sel_no_failures_is_all_uniform():
    plan = make("stat_sel").plan(obs(1))
    assert cells(plan) == {(None, None): 100}


def test_stat_sel_skill_without_items_anywhere_is_dropped_and_counted():
    pool = full_pool(borrow_2=0, borrow_3=0)
    s = make("stat_sel", uniform_floor=0.2)
    plan = s.plan(obs(1, failures=[failure(2, "borrow"), failure(1, "add")], pool=pool))
    assert cells(plan) == {("add", 1): 80, (None, None): 20}
    assert s.state()["unplaced_pairs"] == 1


def test_stat_syn_synthesizes_within_max_synth_and_fills_from_pool():
    s = make("stat_syn", max_synth=20)
    plan = s.plan(obs(1, failures=FAILURES, pool=full_pool(borrow_2=0)))
    synth = cells(plan, "synth")
    # 4 pairs x 2 proposed = 8 to synthesize, spread like the targeted counts
    assert synth == {("add", 3): 2, ("carry", 2): 2, ("carry", 3): 2, ("borrow", 2): 2}
    pool = cells(plan)
    assert pool[("borrow", 3)] == 20  # the rest of the borrow share, from level 3 items
    assert pool[(None, None)] == 10
    assert plan.total == 100 == make("stat_sel").plan(
        obs(1, failures=FAILURES, pool=full_pool(borrow_2=0))).total


def test_stat_syn_cap():
    plan = make("stat_syn", max_synth=3).plan(obs(1, failures=FAILURES))
    assert sum(cells(plan, "synth").values()) == 3
    plan = make("stat_syn", max_synth=0).plan(obs(1, failures=FAILURES))
    assert cells(plan, "synth") == {}
    assert plan.total == 100
