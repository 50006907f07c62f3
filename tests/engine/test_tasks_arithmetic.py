import random

import pytest

from workers.engine.errors import SkillError, SpecError
from workers.engine.tasks import build_family
from workers.engine.tasks.arithmetic import (
    ArithmeticFamily,
    column_error_skills,
    has_borrow,
    has_carry,
    item_id,
    solve_prompt,
)
from workers.engine.tasks.base import Item


def _item(prompt: str, answer: str, skills: tuple[str, ...], level: int = 2) -> Item:
    return Item(id=item_id(prompt, answer), prompt=prompt, answer=answer, skills=skills,
                level=level)


def test_same_seed_same_pool_and_different_seed_differs():
    fam = ArithmeticFamily()
    a = fam.sample(n=200, rng=random.Random(7))
    b = fam.sample(n=200, rng=random.Random(7))
    c = fam.sample(n=200, rng=random.Random(8))
    assert [i.to_dict() for i in a] == [i.to_dict() for i in b]
    assert [i.id for i in a] != [i.id for i in c]


def test_items_are_short_plain_and_correct():
    fam = ArithmeticFamily()
    for it in fam.sample(n=400, rng=random.Random(1)):
        a_s, rest = it.prompt[:-1], it.prompt[-1]
        assert rest == "="
        for sym, fn in (("+", int.__add__), ("-", int.__sub__), ("*", int.__mul__)):
            if sym in a_s:
                x, y = (int(p) for p in a_s.split(sym))
                assert it.answer == str(fn(x, y))
                assert int(it.answer) >= 0
        if "?" in a_s:
            x, y = (int(p) for p in a_s.split("?"))
            assert it.answer == ("<" if x < y else ">" if x > y else "=")
        assert max(len(p) for p in a_s.replace("?", "+").replace("-", "+").replace("*", "+")
                   .split("+")) == it.level
        assert 1 <= len(it.skills) <= 5
        assert fam.verify(it, f"  {it.answer} ")


def test_skills_are_labelled_by_construction():
    fam = ArithmeticFamily(ops=["add", "sub"])
    for it in fam.sample(n=300, rng=random.Random(2)):
        x, y = (int(p) for p in it.prompt[:-1].replace("-", "+").split("+"))
        if "+" in it.prompt:
            assert it.skills == (("add", "carry") if has_carry(x, y) else ("add",))
        else:
            assert it.skills == (("sub", "borrow") if has_borrow(x, y) else ("sub",))
    assert has_carry(47, 38) and not has_carry(41, 38)
    assert has_borrow(52, 17) and not has_borrow(57, 12)


def test_multi_digit_products_compose_skills():
    items = ArithmeticFamily().generate(skill="mul_multi", level=3, n=20, rng=random.Random(0))
    for it in items:
        assert it.skills[:3] == ("mul_digit", "mul_multi", "add")
        assert it.level == 3


def test_verify_is_exact_after_stripping():
    fam = ArithmeticFamily()
    it = _item("47+38=", "85", ("add", "carry"))
    assert fam.verify(it, "85\n")
    assert not fam.verify(it, "85.0")
    assert not fam.verify(it, "8 5")


def test_attribute_by_error_analysis():
    fam = ArithmeticFamily()
    add = _item("47+38=", "85", ("add", "carry"))
    assert fam.attribute(add, "75") == ("carry",)  # digit-wise sum, carries dropped
    assert fam.attribute(add, "85") == ()
    assert fam.attribute(add, "12") == ("add", "carry")
    final = _item("75+48=", "123", ("add", "carry"))
    assert fam.attribute(final, "23") == ("carry",)  # the last carry dropped
    sub = _item("52-17=", "35", ("sub", "borrow"))
    assert fam.attribute(sub, "45") == ("borrow",)
    assert fam.attribute(sub, "30") == ("borrow",)  # the units column borrows
    assert fam.attribute(sub, "25") == ("borrow",)  # the tens column lends
    assert fam.attribute(sub, "x") == ("sub",)  # not a number: the operation failed
    no_borrow = _item("57-12=", "45", ("sub",))
    assert fam.attribute(no_borrow, "44") == ("sub",)
    mul = _item("12*34=", "408", ("mul_digit", "mul_multi", "add"))
    assert fam.attribute(mul, "84") == ("mul_multi",)  # partial products not shifted
    assert fam.attribute(mul, "400") == ("mul_digit", "mul_multi", "add")


@pytest.mark.parametrize(("a", "b", "op", "prediction", "blamed"), [
    (47, 38, "add", "85", ()),  # right
    (47, 38, "add", "75", ("carry",)),  # tens (takes the carry) wrong
    (47, 38, "add", "86", ("add",)),  # units (no carry in) wrong
    (47, 38, "add", "74", ("add", "carry")),  # both columns wrong
    (47, 38, "add", "95", ("carry",)),  # the carry added twice
    (58, 67, "add", "25", ("carry",)),  # the final carry's extra digit dropped
    (58, 67, "add", "115", ("carry",)),
    (58, 67, "add", "1125", ("add",)),  # a digit where the answer has none
    (12, 13, "add", "35", ("add",)),  # no column carries: add only
    (999, 1, "add", "1000", ()),
    (999, 1, "add", "990", ("carry",)),  # every column but the units takes a carry
    (999, 1, "add", "1001", ("add",)),
    (52, 17, "sub", "45", ("borrow",)),  # the lending tens column not decremented
    (52, 17, "sub", "25", ("borrow",)),  # smaller digit from larger in the units
    (52, 17, "sub", "34", ("borrow",)),
    (54, 21, "sub", "43", ("sub",)),  # no borrow anywhere
    (154, 21, "sub", "143", ("sub",)),
    (150, 21, "sub", "139", ("borrow",)),  # units borrow, tens lends; hundreds is plain
    (150, 21, "sub", "229", ("sub",)),
    (100, 1, "sub", "109", ("borrow",)),  # a borrow through a zero
    (47, 38, "add", "", ("add",)),  # no number at all: the operation failed
    (47, 38, "add", "8 5", ("add",)),
    (52, 17, "sub", "-35", ("sub",)),
    (47, 38, "add", "085", ("add",)),  # right digits, written differently
])
def test_column_error_analysis(a, b, op, prediction, blamed):
    assert column_error_skills(a, b, op, prediction) == blamed


def test_column_error_analysis_covers_add_and_sub_only():
    with pytest.raises(ValueError, match="add and sub"):
        column_error_skills(2, 3, "mul", "5")


def test_solver_computes_the_answer_from_the_prompt():
    assert [solve_prompt(p) for p in ("47+38=", "52-17=", "12*34=", "3?7=", "5?5=", " 9+1= ")] \
        == ["85", "35", "408", "<", "=", "10"]
    assert solve_prompt("what is 2+2?") is None
    fam = ArithmeticFamily()
    wrong = _item("47+38=", "84", ("add", "carry"))
    assert fam.solve(wrong) == "85"  # never read from the item's answer


def test_attribution_blames_only_skills_on_the_item():
    fam = ArithmeticFamily()
    rng = random.Random(0)
    for item in fam.sample(n=300, rng=rng):
        for prediction in ("", "0", "1", item.answer + "1", item.answer[:-1] or "7"):
            blamed = fam.attribute(item, prediction)
            assert set(blamed) <= set(item.skills)
            assert blamed == () if prediction == item.answer else blamed


def test_generate_requires_the_skill_at_the_level():
    fam = ArithmeticFamily()
    rng = random.Random(3)
    for skill in ("add", "carry", "sub", "borrow", "mul_digit", "mul_multi", "compare"):
        for level in (2, 4):
            items = fam.generate(skill=skill, level=level, n=10, rng=rng)
            assert len(items) == 10
            assert all(skill in it.skills and it.level == level for it in items)
    carries = fam.generate(skill="carry", level=1, n=10, rng=rng)
    assert all(int(it.answer) >= 10 for it in carries)


@pytest.mark.parametrize("skill", ["borrow", "mul_multi"])
def test_generate_impossible_combination_names_skill_and_level(skill):
    with pytest.raises(SkillError) as exc:
        ArithmeticFamily().generate(skill=skill, level=1, n=3, rng=random.Random(0))
    assert exc.value.skill == skill
    assert "level 1" in str(exc.value)


def test_generate_unknown_skill_or_level():
    fam = ArithmeticFamily(ops=["add"], levels=[1, 2])
    with pytest.raises(SkillError, match="sub"):
        fam.generate(skill="sub", level=1, n=1, rng=random.Random(0))
    with pytest.raises(SkillError, match="level 3"):
        fam.generate(skill="add", level=3, n=1, rng=random.Random(0))


def _share(items, skill):
    return sum(skill in it.skills for it in items) / len(items)


def test_skill_weights_make_skills_rare():
    rng = random.Random(5)
    plain = ArithmeticFamily().sample(n=2000, rng=rng)
    rare = build_family("arithmetic", {"skill_weights": {"borrow": 0.03, "mul_multi": 0.03}})
    pool = rare.sample(n=2000, rng=random.Random(5))
    assert _share(plain, "borrow") > 0.12
    assert _share(plain, "mul_multi") > 0.08
    assert 0 < _share(pool, "borrow") < 0.03
    assert 0 < _share(pool, "mul_multi") < 0.03
    assert _share(pool, "carry") > 0.1  # other skills untouched


def test_a_small_level_gives_every_problem_once_and_refuses_more():
    fam = ArithmeticFamily(levels=[1], ops=["compare"])
    items = fam.sample(n=100, rng=random.Random(0))
    assert len({it.prompt for it in items}) == len({it.id for it in items}) == 100
    with pytest.raises(SpecError) as err:  # never a repeat: the pool size is refused
        fam.sample(n=300, rng=random.Random(0))
    assert err.value.field == "spec.task.pool_size"
    assert "100 distinct problems" in str(err.value)


def test_sample_restricted_levels_and_ops():
    fam = build_family("arithmetic", {"levels": [2, 3], "ops": ["add", "compare"]})
    assert fam.levels() == [2, 3]
    assert {s.name for s in fam.skills()} == {"add", "carry", "compare"}
    items = fam.sample(n=100, rng=random.Random(0), levels=[3])
    assert {it.level for it in items} == {3}
    assert all("-" not in it.prompt and "*" not in it.prompt for it in items)
    with pytest.raises(SpecError):
        fam.sample(n=1, rng=random.Random(0), levels=[5])


def test_skills_have_descriptions_and_parents():
    skills = {s.name: s for s in ArithmeticFamily().skills()}
    assert all(s.description for s in skills.values())
    assert skills["carry"].parent == "add"
    assert skills["borrow"].parent == "sub"


@pytest.mark.parametrize(("options", "field"), [
    ({"levels": [0, 7]}, "spec.task.options.levels"),
    ({"levels": []}, "spec.task.options.levels"),
    ({"ops": ["div"]}, "spec.task.options.ops"),
    ({"skill_weights": {"flying": 0.5}}, "spec.task.options.skill_weights.flying"),
    ({"skill_weights": {"borrow": 2}}, "spec.task.options.skill_weights.borrow"),
])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(SpecError) as exc:
        build_family("arithmetic", options)
    assert exc.value.field == field


def test_weights_that_exclude_everything_fail_clearly():
    fam = ArithmeticFamily(ops=["compare"], skill_weights={"compare": 0.0})
    with pytest.raises(SpecError, match="skill_weights"):
        fam.sample(n=1, rng=random.Random(0))
