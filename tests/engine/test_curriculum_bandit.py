import math

import pytest

from tests.engine.curriculum_helpers import LEVELS, SKILLS, obs
from workers.engine.curriculum import ArmSignal, get_strategy
from workers.engine.curriculum.bandit import learning_signal
from workers.engine.errors import EngineError


def make(name, budget=100, **params):
    return get_strategy(name)(params=params, skills=SKILLS, levels=LEVELS, budget=budget,
                              seed=1)


def sig(level, correct, samples=10, trained=None):
    return ArmSignal(level=level, correct=correct, samples=samples,
                     trained=samples if trained is None else trained)


def test_learning_signal_peaks_at_one_half():
    assert learning_signal(0.5) == 1.0
    assert learning_signal(0.8) == pytest.approx(0.8)  # 2 * sqrt(0.16)
    assert learning_signal(0.0) == learning_signal(1.0) == 0.0


def test_sec_starts_uniform():
    s = make("sec")
    assert s.level_scores() == {1: 0.0, 2: 0.0, 3: 0.0}
    assert s.level_probabilities() == pytest.approx({1: 1 / 3, 2: 1 / 3, 3: 1 / 3})


def test_sec_update_and_softmax_by_hand():
    s = make("sec", tau=1.0)  # the hand-worked numbers below are at tau = 1
    s.update(round=1, signals={1: sig(1, 8), 2: sig(2, 5), 3: sig(3, 0, samples=0)})
    # r1 = 2*sqrt(.8*.2) = .8 -> Q1 = .5*.8 = .4; r2 = 1 -> Q2 = .5; level 3 not sampled
    assert s.level_scores() == pytest.approx({1: 0.4, 2: 0.5, 3: 0.0})
    # exp(.4) = 1.491825, exp(.5) = 1.648721, exp(0) = 1; sum 4.140546
    assert s.level_probabilities() == pytest.approx(
        {1: 0.360297, 2: 0.398190, 3: 0.241514}, abs=1e-6)
    s.update(round=2, signals={1: sig(1, 10)})
    # r1 = 0 -> Q1 = .5*0 + .5*.4 = .2; Q2 and Q3 kept
    assert s.level_scores() == pytest.approx({1: 0.2, 2: 0.5, 3: 0.0})


def test_sec_default_temperature_is_the_papers_low_one():
    s = make("sec")
    assert s.config["tau"] == 0.1
    s.update(round=1, signals={1: sig(1, 8), 2: sig(2, 5), 3: sig(3, 0, samples=0)})
    # Q = .4, .5, 0 -> exp(4), exp(5), exp(0) over their sum: the best arm clearly leads
    assert s.level_probabilities() == pytest.approx(
        {1: 0.267623, 2: 0.727475, 3: 0.004902}, abs=1e-6)


def test_sec_temperature_and_alpha():
    s = make("sec", tau=0.5, alpha=1.0)
    s.update(round=1, signals={2: sig(2, 5)})
    assert s.level_scores()[2] == 1.0
    e = math.exp(1.0 / 0.5)
    assert s.level_probabilities()[2] == pytest.approx(e / (e + 2))


def test_sec_refuses_signals_for_unknown_levels():
    with pytest.raises(EngineError, match="level 9"):
        make("sec").update(round=1, signals={9: sig(9, 1)})


def test_sec_plan_follows_probabilities_and_is_seeded():
    s = make("sec", budget=1000, alpha=1.0, tau=0.2)
    s.update(round=1, signals={2: sig(2, 5)})
    plan = s.plan(obs(2))
    counts = {e.level: e.count for e in plan.entries}
    assert plan.total == 1000
    assert counts[2] > 900  # p2 = e^5 / (e^5 + 2) = 0.987
    again = make("sec", budget=1000, alpha=1.0, tau=0.2)
    again.update(round=1, signals={2: sig(2, 5)})
    assert again.plan(obs(2)) == plan
    assert again.plan(obs(3)) != plan  # a new round draws anew


def test_proportional_sampling_is_largest_remainder():
    s = make("sec", budget=10, sampling="proportional")
    plan = s.plan(obs(1))
    assert sorted(e.count for e in plan.entries) == [3, 3, 4]


def test_bandit_skips_levels_without_items_and_renormalizes():
    pool = {(sk, lv): (0 if lv == 3 else 5) for sk in SKILLS for lv in LEVELS}
    plan = make("sec", budget=10, sampling="proportional").plan(obs(1, pool=pool))
    assert {e.level: e.count for e in plan.entries} == {1: 5, 2: 5}


def test_dump_ucb_score_by_hand():
    d = make("dump")
    # no data: every score is 0 + sqrt(2 ln 1 / 1) = 0
    assert d.level_scores() == {1: 0.0, 2: 0.0, 3: 0.0}
    d.update(round=1, signals={1: sig(1, 8), 2: sig(2, 0, samples=0)})
    # N = 10, n1 = 10: .8 + sqrt(2 ln 11 / 11) = .8 + .660288; n2 = n3 = 0: sqrt(2 ln 11)
    scores = d.level_scores()
    assert scores[1] == pytest.approx(1.460288, abs=1e-6)
    assert scores[2] == scores[3] == pytest.approx(2.189929, abs=1e-6)
    # tau = 0.1: p1 = 1 / (1 + 2 exp(7.29641))
    assert d.level_probabilities()[1] == pytest.approx(1 / (1 + 2 * math.exp(7.29641)),
                                                       rel=1e-4)


def test_dump_window_slides_over_training_items():
    d = make("dump", window=5)
    for correct, trained in ((5, 4), (10, 2), (8, 2)):  # signals 1.0, 0.0, 0.8
        d.update(round=1, signals={1: sig(1, correct, trained=trained)})
    # the level's last 5 training items: 1 of the first round, 2 of each later one
    assert list(d.windows[1]) == pytest.approx([1.0, 0.0, 0.0, 0.8, 0.8])
    assert d.counts[1] == 8
    assert d.level_scores()[1] == pytest.approx(0.52 + math.sqrt(2 * math.log(9) / 9))


def test_dump_keeps_exploring_a_level_that_gets_few_items():
    d = make("dump")
    # level 1 trained on 9,500 items at signal 0.8, level 2 on 100 at signal 0
    d.update(round=1, signals={1: sig(1, 8, trained=9500), 2: sig(2, 0, trained=100)})
    scores = d.level_scores()
    bonus = {lv: scores[lv] - m for lv, m in ((1, 0.8), (2, 0.0))}
    assert bonus[1] == pytest.approx(math.sqrt(2 * math.log(9601) / 9501))
    assert bonus[2] == pytest.approx(math.sqrt(2 * math.log(9601) / 101))
    assert bonus[2] > 9 * bonus[1]


def test_dump_ignores_eval_results():
    d = make("dump")
    before = d.state()
    d.plan(obs(1))  # the observation carries eval stats; they must not move the scores
    assert d.state() == before


@pytest.mark.parametrize("name", ["sec", "dump"])
def test_signal_unit_token_reads_the_share_of_answer_tokens_right(name):
    """By answer, a level solved on no item has signal 0; by token the same level, with 30
    of its 40 answer tokens right, has signal 2 * sqrt(.75 * .25)."""
    never = ArmSignal(level=3, correct=0, samples=10, trained=10, token_hits=30, tokens=40)
    by_answer, by_token = make(name), make(name, signal_unit="token")
    assert by_answer.config["signal_unit"] == "answer"  # the papers' outcome reward
    for s in (by_answer, by_token):
        s.update(round=1, signals={3: never})
    if name == "sec":
        assert by_answer.q[3] == 0.0
        assert by_token.q[3] == pytest.approx(0.5 * 2 * math.sqrt(0.75 * 0.25))
    else:
        assert list(by_answer.windows[3]) == [0.0] * 10
        assert list(by_token.windows[3]) == pytest.approx([2 * math.sqrt(0.75 * 0.25)] * 10)


@pytest.mark.parametrize("name", ["sec", "dump"])
def test_signal_unit_gradient_is_largest_where_the_reference_is_least_likely(name):
    """As a gradient, a level the student gives the reference tokens a mean probability of
    0.1 has signal 0.9 (the papers' answer signal: 0, never solved), a mastered one 0.05."""
    unknown = ArmSignal(level=3, correct=0, samples=10, trained=10, token_hits=2, tokens=40,
                        token_prob=4.0)
    mastered = ArmSignal(level=1, correct=10, samples=10, trained=10, token_hits=40,
                         tokens=40, token_prob=38.0)
    s = make(name, signal_unit="gradient")
    s.update(round=1, signals={1: mastered, 3: unknown})
    if name == "sec":
        assert s.q[3] == pytest.approx(0.5 * 0.9)
        assert s.q[1] == pytest.approx(0.5 * 0.05)
    else:
        assert list(s.windows[3]) == pytest.approx([0.9] * 10)
        assert list(s.windows[1]) == pytest.approx([0.05] * 10)
    probs = s.level_probabilities()
    assert probs[3] > 10 * probs[1]


def test_signal_unit_is_a_choice():
    with pytest.raises(EngineError, match="signal_unit"):
        make("sec", signal_unit="tokens")


def cell(skill, level, correct, samples=10, trained=None):
    return ArmSignal(level=level, skill=skill, correct=correct, samples=samples,
                     trained=samples if trained is None else trained)


@pytest.mark.parametrize("name", ["sec", "dump"])
def test_skill_level_arms_are_the_cells_with_pool_items(name):
    """With ``arms`` skill_level every (skill, level) cell is an arm; a plan draws from the
    cells the pool has items of (borrow at level 1 has none), and the dashboard's level
    probabilities are the sums over each level's cells."""
    s = make(name, budget=1100, arms="skill_level", sampling="proportional")
    assert s.arms_of(2, ("sub", "borrow")) == [("sub", 2), ("borrow", 2)]
    plan = s.plan(obs(1))
    cells = {(e.skill, e.level): e.count for e in plan.entries}
    assert set(cells) == {(sk, lv) for sk in SKILLS for lv in LEVELS} - {("borrow", 1)}
    assert set(cells.values()) == {100}  # 11 cells, equal scores
    assert plan.total == 1100
    probs = s.level_probabilities()
    assert probs == pytest.approx({1: 3 / 11, 2: 4 / 11, 3: 4 / 11})
    assert sum(probs.values()) == pytest.approx(1.0)


def test_sec_skill_level_arms_favour_the_cell_with_the_signal():
    s = make("sec", budget=1000, arms="skill_level", alpha=1.0)
    s.update(round=1, signals={("carry", 3): cell("carry", 3, 5), ("add", 3): cell("add", 3, 10)})
    assert s.q[("carry", 3)] == 1.0 and s.q[("add", 3)] == 0.0  # p .5: signal 1; p 1: 0
    plan = s.plan(obs(2))
    counts = {(e.skill, e.level): e.count for e in plan.entries}
    assert counts[("carry", 3)] > 900
    assert all(e.skill is not None for e in plan.entries)
    # level 3's score is the mean of its four cells' values
    assert s.level_scores()[3] == pytest.approx(0.25)


def test_dump_skill_level_arms_count_training_items_per_cell():
    d = make("dump", arms="skill_level", window=5)
    d.update(round=1, signals={("borrow", 2): cell("borrow", 2, 5, trained=7)})
    assert d.counts[("borrow", 2)] == 7 and d.counts[("sub", 2)] == 0
    assert list(d.windows[("borrow", 2)]) == [1.0] * 5


@pytest.mark.parametrize("name", ["sec", "dump"])
def test_skill_level_state_round_trips_through_json(name):
    import json

    a = make(name, arms="skill_level")
    a.plan(obs(1))
    a.update(round=1, signals={("carry", 2): cell("carry", 2, 3), ("sub", 1): cell("sub", 1, 9)})
    saved = json.loads(json.dumps(a.state()))
    assert "carry@2" in saved["probabilities"] and "borrow@1" not in saved["probabilities"]
    b = make(name, arms="skill_level")
    b.load_state(saved)
    assert b.state() == a.state()
    assert b.level_probabilities() == a.level_probabilities()


def test_skill_level_arms_refuse_a_signal_for_a_cell_that_is_not_an_arm():
    with pytest.raises(EngineError, match="skill mul at level 2"):
        make("sec", arms="skill_level").update(round=1, signals={("mul", 2): cell("mul", 2, 1)})
    with pytest.raises(EngineError, match="level 2, which is not an arm"):
        make("sec", arms="skill_level").update(round=1, signals={2: sig(2, 1)})
