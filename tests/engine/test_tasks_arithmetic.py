import random

import pytest

from workers.engine.errors import SkillError, SpecError
from workers.engine.tasks import build_family
from workers.engine.tasks.arithmetic import (
    ArithmeticFamily,
    has_borrow,
    has_carry,
    item_id,
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
    assert fam.attribute(sub, "30") == ("sub", "borrow")
    no_borrow = _item("57-12=", "45", ("sub",))
    assert fam.attribute(no_borrow, "44") == ("sub",)
    mul = _item("12*34=", "408", ("mul_digit", "mul_multi", "add"))
    assert fam.attribute(mul, "84") == ("mul_multi",)  # partial products not shifted
    assert fam.attribute(mul, "400") == ("mul_digit", "mul_multi", "add")


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


def test_ids_are_unique_even_when_a_level_is_small():
    items = ArithmeticFamily(levels=[1], ops=["compare"]).sample(n=300, rng=random.Random(0))
    assert len({it.id for it in items}) == 300
    assert len({it.prompt for it in items}) == 100  # every 1-digit pair, then repeats


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
