from tests.engine.curriculum_helpers import LEVELS, full_pool, obs, profile
from workers.engine.curriculum import get_strategy


def make(budget=21, **params):
    return get_strategy("mastery")(params=params, skills=["add", "carry"], levels=LEVELS,
                                   budget=budget, seed=0)


def test_starts_at_the_lowest_level():
    m = make()
    assert m.skill_levels == {"add": 1, "carry": 1}
    assert m.level_probabilities() == {1: 1.0, 2: 0.0, 3: 0.0}


def test_promotion_and_demotion():
    m = make()
    m.plan(obs(1, skill_level={("add", 1): (9, 10), ("carry", 1): (5, 10)}))
    assert m.skill_levels == {"add": 2, "carry": 1}  # .9 >= .8 up; .5 stays
    assert m.state()["moves"] == [{"skill": "add", "from": 1, "to": 2, "accuracy": 0.9}]
    m.plan(obs(2, skill_level={("add", 2): (3, 10), ("carry", 1): (8, 10)}))
    assert m.skill_levels == {"add": 1, "carry": 2}  # .3 < .4 down; .8 passes
    m.plan(obs(3, skill_level={("add", 1): (4, 10), ("carry", 2): (10, 10)}))
    m.plan(obs(4, skill_level={("carry", 3): (10, 10)}))
    assert m.skill_levels == {"add": 1, "carry": 3}  # .4 is not under .4; top level stays


def test_too_few_eval_items_do_not_move_a_skill():
    m = make(min_evaluated=4)
    m.plan(obs(1, skill_level={("add", 1): (3, 3)}))
    assert m.skill_levels["add"] == 1


def test_planning_the_same_round_twice_moves_once():
    m = make()
    o = obs(1, skill_level={("add", 1): (10, 10), ("add", 2): (10, 10)})
    first = m.plan(o)
    assert m.plan(o) == first
    assert m.skill_levels["add"] == 2


def test_promotion_skips_levels_without_items():
    m = make()
    m.plan(obs(1, skill_level={("carry", 1): (9, 10)}, pool=full_pool(carry_2=0)))
    assert m.skill_levels["carry"] == 3


def test_data_at_each_skills_level_weighted_by_the_profile_with_a_floor():
    m = make(budget=21, floor=0.05)
    plan = m.plan(obs(1, skill_level={("add", 1): (9, 10)}, prof=profile(carry=1.0)))
    # weights .05 and 1.0 -> 1 and 20 items
    assert {(e.skill, e.level): e.count for e in plan.entries} == {("add", 2): 1,
                                                                    ("carry", 1): 20}
    assert m.level_probabilities() == {1: 20 / 21, 2: 1 / 21, 3: 0.0}


def test_no_failures_share_equally():
    plan = make(budget=10).plan(obs(1))
    assert {e.skill: e.count for e in plan.entries} == {"add": 5, "carry": 5}
