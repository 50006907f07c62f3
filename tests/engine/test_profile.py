import pytest

from workers.engine.profile import Verdict, build_level_stats, build_profile


def v(skills, level, correct, missing=()):
    return Verdict(item_id="i", skills=tuple(skills), level=level, correct=correct,
                   prediction="", missing_skills=tuple(missing))


VERDICTS = [
    v(["add", "carry"], 2, False, ["carry"]),
    v(["add", "carry"], 3, False, ["add", "carry"]),
    v(["add"], 1, True),
    v(["sub"], 1, False, ["sub"]),
    v(["sub", "borrow"], 2, True),
]


def test_profile_rows():
    rows = {r.skill: r for r in build_profile(VERDICTS, ["add", "carry", "sub", "borrow",
                                                          "compare"])}
    assert rows["carry"].evaluated == 2 and rows["carry"].failed == 2
    assert rows["carry"].miss_rate == 1.0
    assert rows["carry"].miss_share == pytest.approx(2 / 4)
    assert rows["add"].evaluated == 3 and rows["add"].failed == 1
    assert rows["add"].accuracy == pytest.approx(1 / 3)
    assert rows["sub"].miss_share == pytest.approx(1 / 4)
    assert rows["borrow"].failed == 0 and rows["borrow"].accuracy == 1.0
    assert rows["compare"].evaluated == 0 and rows["compare"].miss_rate == 0.0
    assert sum(r.miss_share for r in rows.values()) == pytest.approx(1.0)


def test_profile_order_follows_the_skill_list():
    assert [r.skill for r in build_profile(VERDICTS, ["sub", "add"])] == ["sub", "add"]


def test_level_stats():
    stats = build_level_stats(VERDICTS)
    assert [(s.level, s.evaluated, s.correct) for s in stats] == [(1, 2, 1), (2, 2, 1),
                                                                 (3, 1, 0)]
    assert stats[0].success_rate == 0.5


def test_no_failures_gives_zero_shares():
    rows = build_profile([v(["add"], 1, True)], ["add"])
    assert rows[0].miss_share == 0.0 and rows[0].accuracy == 1.0
