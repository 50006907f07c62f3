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


def test_stat_sel_k_items_per_pair_and_the_rest_uniform():
    s = make("stat_sel")
    plan = s.plan(obs(1, failures=FAILURES, pool=full_pool(borrow_2=0)))
    # four (failure, skill) pairs x k=5 = 20 wanted: well under the 90 non-floor items
    assert cells(plan) == {("add", 3): 5, ("carry", 2): 5, ("carry", 3): 5,
                           ("borrow", 3): 5, (None, None): 80}
    assert plan.total == 100
    assert s.state()["skill_weights"]["carry"] == pytest.approx(0.10)


def test_stat_sel_scales_pairs_down_to_the_budget():
    s = make("stat_sel", k=50)
    plan = s.plan(obs(1, failures=FAILURES, pool=full_pool(borrow_2=0)))
    # four pairs x k=50 = 200 wanted, scaled to the 90 non-floor items
    assert cells(plan) == {("add", 3): 23, ("carry", 2): 23, ("carry", 3): 22,
                           ("borrow", 3): 22, (None, None): 10}
    weights = s.state()["skill_weights"]
    assert weights["carry"] == pytest.approx(0.45)  # 2 of 4 pairs -> half of the 90
    assert weights["add"] + weights["borrow"] == pytest.approx(0.45)


@pytest.mark.parametrize(("k", "targeted"), [(1, 4), (5, 20), (22, 88), (23, 90), (500, 90)])
def test_k_changes_the_plan(k, targeted):
    plan = make("stat_sel", k=k).plan(obs(1, failures=FAILURES, pool=full_pool(borrow_2=0)))
    got = cells(plan)
    assert sum(n for (skill, _), n in got.items() if skill is not None) == targeted
    assert got[(None, None)] == 100 - targeted
    assert plan.total == 100


def test_stat_sel_shares_follow_the_profile_frequency():
    failures = [failure(1, "carry", item_id=str(i)) for i in range(3)] + [failure(1, "sub")]
    plan = make("stat_sel", budget=200, k=100, uniform_floor=0.0).plan(
        obs(1, failures=failures))
    assert cells(plan) == {("carry", 1): 150, ("sub", 1): 50}


def test_stat_sel_no_failures_is_all_uniform():
    plan = make("stat_sel").plan(obs(1))
    assert cells(plan) == {(None, None): 100}


def test_stat_sel_skill_without_items_anywhere_is_dropped_and_counted():
    pool = full_pool(borrow_2=0, borrow_3=0)
    s = make("stat_sel", k=1000, uniform_floor=0.2)
    plan = s.plan(obs(1, failures=[failure(2, "borrow"), failure(1, "add")], pool=pool))
    assert cells(plan) == {("add", 1): 80, (None, None): 20}
    assert s.state()["unplaced_pairs"] == 1


def test_stat_syn_synthesizes_what_stat_sel_selects_with_its_triggers():
    s = make("stat_syn")
    plan = s.plan(obs(1, failures=FAILURES, pool=full_pool(borrow_2=0)))
    # at the failed item's own level (no pool needed), k=5 per pair
    assert cells(plan, "synth") == {("add", 3): 5, ("carry", 2): 5, ("carry", 3): 5,
                                    ("borrow", 2): 5}
    assert cells(plan) == {(None, None): 80}
    triggers = {(e.skill, e.level): e.triggers for e in plan.entries if e.source == "synth"}
    assert triggers == {("add", 3): ("b",), ("carry", 2): ("a",), ("carry", 3): ("b",),
                        ("borrow", 2): ("c",)}
    stored = [e for e in plan.to_dict()["entries"] if e["source"] == "synth"]
    assert stored[0]["triggers"] == ["b"]


@pytest.mark.parametrize("k", [1, 5, 30, 1000])
def test_stat_syn_has_stat_sel_budget(k):
    o = obs(1, failures=FAILURES)
    sel, syn = make("stat_sel", k=k).plan(o), make("stat_syn", k=k).plan(o)
    assert sum(cells(syn, "synth").values()) == sum(
        n for (skill, _), n in cells(sel).items() if skill is not None)
    assert sel.total == syn.total == 100


def test_stat_syn_cap_fills_from_pool():
    s = make("stat_syn", k=50, max_synth=20)
    plan = s.plan(obs(1, failures=FAILURES, pool=full_pool(borrow_2=0)))
    synth = cells(plan, "synth")
    assert sum(synth.values()) == 20
    assert synth == {("add", 3): 5, ("carry", 2): 5, ("carry", 3): 5, ("borrow", 2): 5}
    pool = cells(plan)
    assert pool[("borrow", 3)] == 22 - 5  # the rest of the borrow share, from level 3 items
    assert pool[(None, None)] == 10
    assert plan.total == 100


def test_stat_syn_cap():
    plan = make("stat_syn", max_synth=3).plan(obs(1, failures=FAILURES))
    assert sum(cells(plan, "synth").values()) == 3
    plan = make("stat_syn", max_synth=0).plan(obs(1, failures=FAILURES))
    assert sum(cells(plan, "synth").values()) == 20  # 0: no cap
    assert plan.total == 100
