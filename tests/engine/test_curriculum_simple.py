import pytest

from tests.engine.curriculum_helpers import LEVELS, SKILLS, obs
from workers.engine.curriculum import get_strategy


def make(name, budget=30, **params):
    return get_strategy(name)(params=params, skills=SKILLS, levels=LEVELS, budget=budget,
                              seed=0)


def by_level(plan):
    return {e.level: e.count for e in plan.entries}


def test_uniform_is_one_entry():
    plan = make("uniform").plan(obs(1))
    assert [(e.skill, e.level, e.count, e.source) for e in plan.entries] == [
        (None, None, 30, "pool")]


def test_easy_to_hard_linear_pacing():
    s = make("easy_to_hard")
    # 5 rounds, 3 levels: c = 1 + t * 2 open levels with t = (r - 1) / 4
    assert by_level(s.plan(obs(1, 5))) == {1: 30}
    assert by_level(s.plan(obs(2, 5))) == {1: 20, 2: 10}  # weights 1, .5
    assert s.level_probabilities() == pytest.approx({1: 2 / 3, 2: 1 / 3, 3: 0.0})
    assert by_level(s.plan(obs(3, 5))) == {1: 15, 2: 15}
    assert by_level(s.plan(obs(4, 5))) == {1: 12, 2: 12, 3: 6}
    assert by_level(s.plan(obs(5, 5))) == {1: 10, 2: 10, 3: 10}


def test_easy_to_hard_step_pacing():
    s = make("easy_to_hard", pacing="step")
    # 6 rounds, 3 levels: 1 + floor((r - 1) * 3 / 6) open levels
    opened = [sorted(by_level(s.plan(obs(r, 6)))) for r in range(1, 7)]
    assert opened == [[1], [1], [1, 2], [1, 2], [1, 2, 3], [1, 2, 3]]


@pytest.mark.parametrize("pacing", ["linear", "step"])
def test_top_level_share_grows(pacing):
    s = make("easy_to_hard", budget=120, pacing=pacing)
    shares = [by_level(s.plan(obs(r, 8))).get(3, 0) for r in range(1, 9)]
    assert shares == sorted(shares)
    assert shares[0] == 0 and shares[-1] == 40


def test_hard_to_easy_reverses_the_order():
    s = make("hard_to_easy")
    assert s.level_probabilities() == {1: 0.0, 2: 0.0, 3: 1.0}
    assert by_level(s.plan(obs(1, 5))) == {3: 30}
    assert by_level(s.plan(obs(2, 5))) == {3: 20, 2: 10}


def test_open_level_without_items_is_skipped():
    pool = {(sk, lv): (0 if lv == 2 else 4) for sk in SKILLS for lv in LEVELS}
    assert by_level(make("easy_to_hard").plan(obs(3, 5, pool=pool))) == {1: 30}
