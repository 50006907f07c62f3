"""Properties every strategy keeps: exact totals, no empty cells, schemas, state round trip."""

import json
import random

import pytest

from tests.engine.curriculum_helpers import LEVELS, SKILLS, failure, full_pool, obs, profile
from workers.engine.curriculum import (
    STRATEGIES,
    ArmSignal,
    ParamError,
    Strategy,
    get_strategy,
    strategy_schema,
)
from workers.engine.errors import SpecError


def make(name: str, budget: int = 50, **params) -> Strategy:
    return get_strategy(name)(params=params, skills=SKILLS, levels=LEVELS, budget=budget,
                              seed=3)


def random_obs(rng: random.Random, round_: int):
    pool = {k: (0 if rng.random() < 0.3 else rng.randint(1, 20)) for k in full_pool()}
    failures = [failure(rng.choice([1, 2, 3, 4]), *rng.sample(SKILLS, rng.randint(0, 2)))
                for _ in range(rng.randint(0, 8))]
    skill_level = {(s, lv): (rng.randint(0, 8), 8) for s in SKILLS for lv in LEVELS}
    shares = {s: rng.random() for s in SKILLS}
    return obs(round_, 6, failures=failures, pool=pool, skill_level=skill_level,
               prof=profile(**shares))


def signals(rng: random.Random) -> dict[int, ArmSignal]:
    out = {}
    for lv in LEVELS:
        n = rng.choice([0, 8])
        out[lv] = ArmSignal(level=lv, correct=rng.randint(0, n), samples=n)
    return out


def test_all_strategies_are_registered():
    assert set(STRATEGIES) == {"uniform", "easy_to_hard", "hard_to_easy", "stat_sel",
                               "stat_syn", "sec", "dump", "mastery"}
    for name, cls in STRATEGIES.items():
        assert cls.name == name and cls.description


def test_unknown_strategy():
    with pytest.raises(SpecError) as exc:
        get_strategy("annealing")
    assert exc.value.field == "spec.curriculum.strategy"


def test_schema_for_the_browser():
    schema = {p["name"]: p for p in strategy_schema("sec")}
    assert schema["tau"]["default"] == 0.1 and schema["alpha"]["default"] == 0.5
    assert {p["name"]: p["default"] for p in strategy_schema("dump")} == {
        "window": 300, "tau": 0.1, "signal_samples": 64, "signal_unit": "answer", "arms": "level",
        "sampling": "multinomial"}
    assert schema["signal_samples"]["default"] == 64
    assert {p["name"]: p["default"] for p in strategy_schema("stat_sel")} == {
        "k": 5, "uniform_floor": 0.10}
    syn = {p["name"]: p["default"] for p in strategy_schema("stat_syn")}
    assert (syn["n_new"], syn["n_references"], syn["n_solutions"], syn["n_agree"],
            syn["drop_solved"], syn["max_synth"]) == (2, 3, 3, 2, True, 0)
    mastery = {p["name"]: p["default"] for p in strategy_schema("mastery")}
    assert (mastery["promote"], mastery["demote"]) == (0.8, 0.4)
    assert strategy_schema("easy_to_hard")[0]["choices"] == ["linear", "step"]
    for name in STRATEGIES:
        for p in strategy_schema(name):
            assert p["help"]
    json.dumps([strategy_schema(n) for n in STRATEGIES])


@pytest.mark.parametrize(("name", "params", "field", "message"), [
    ("sec", {"temperature": 1}, "temperature", "unknown parameter"),
    ("sec", {"tau": 0}, "tau", "at least"),
    ("sec", {"alpha": 1.5}, "alpha", "at most"),
    ("sec", {"alpha": "abc"}, "alpha", "must be a number"),
    ("stat_sel", {"k": 2.5}, "k", "whole number"),
    ("stat_sel", {"uniform_floor": -0.1}, "uniform_floor", "at least"),
    ("easy_to_hard", {"pacing": "cosine"}, "pacing", "one of linear, step"),
    ("dump", {"window": 0}, "window", "at least"),
    ("stat_syn", {"n_agree": 4, "n_solutions": 3}, "n_agree", "n_solutions"),
    ("mastery", {"promote": 0.3, "demote": 0.5}, "demote", "lower than promote"),
])
def test_validate_params_errors(name, params, field, message):
    with pytest.raises(ParamError) as exc:
        make(name, **params)
    assert message in exc.value.errors[field]


def test_params_from_a_form_are_coerced():
    s = make("sec", tau="0.5", alpha="", sampling="proportional")
    assert s.config == {"tau": 0.5, "alpha": 0.5, "signal_samples": 64,
                        "signal_unit": "answer", "arms": "level", "sampling": "proportional"}


@pytest.mark.parametrize("name", sorted(STRATEGIES))
@pytest.mark.parametrize("budget", [1, 7, 64])
def test_plans_total_the_budget_and_skip_empty_cells(name, budget):
    rng = random.Random(f"{name}:{budget}")
    strategy = make(name, budget=budget)
    for r in range(1, 7):
        o = random_obs(rng, r)
        plan = strategy.plan(o)
        assert plan.total == budget
        for e in plan.entries:
            assert e.count > 0
            if e.source == "pool" and e.skill is not None:
                assert o.pool_counts[(e.skill, e.level)] > 0, e
            if e.source == "pool" and e.skill is None and e.level is not None:
                assert any(n for (_, lv), n in o.pool_counts.items() if lv == e.level), e
        strategy.update(round=r, signals=signals(rng))
        probs = strategy.level_probabilities()
        assert set(probs) <= set(LEVELS)
        assert sum(probs.values()) == pytest.approx(1.0)
        json.dumps(plan.to_dict())


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_state_round_trip_resumes_identically(name):
    rng = random.Random(11)
    observations = [random_obs(rng, r) for r in range(1, 7)]
    sigs = [signals(rng) for _ in range(6)]
    a = make(name, budget=40)
    for r in range(3):
        a.plan(observations[r])
        a.update(round=r + 1, signals=sigs[r])
    saved = json.loads(json.dumps(a.state()))
    b = make(name, budget=40)
    b.load_state(saved)
    assert b.state() == a.state()
    assert b.level_probabilities() == a.level_probabilities()
    assert b.level_scores() == a.level_scores()
    for r in range(3, 6):
        assert a.plan(observations[r]) == b.plan(observations[r])
        a.update(round=r + 1, signals=sigs[r])
        b.update(round=r + 1, signals=sigs[r])
        assert json.dumps(a.state(), sort_keys=True) == json.dumps(b.state(), sort_keys=True)


def test_mastery_refuses_promote_at_or_below_demote_naming_both():
    from workers.engine.curriculum import get_strategy

    for promote, demote in ((0.3, 0.5), (0.4, 0.4)):
        with pytest.raises(ParamError) as exc:
            get_strategy("mastery").clean_params({"promote": promote, "demote": demote})
        message = exc.value.errors["demote"]
        assert "demote" in message and "promote" in message and f"{promote:g}" in message
    assert get_strategy("mastery").clean_params({"promote": 0.5, "demote": 0.4})["demote"] == 0.4
