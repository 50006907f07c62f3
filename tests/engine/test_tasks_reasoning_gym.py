"""The reasoning-gym adapter against the real package (a dev dependency): several datasets
in one project, skills and sub-skills, levels from each dataset's own knobs, answers judged
by the dataset's ``score_answer``, and items without a reference answer skipped."""

import random
import sys

import pytest

from workers.engine.errors import EngineError, SkillError, SpecError
from workers.engine.tasks import build_family
from workers.engine.tasks.reasoning_gym import LEVEL_TABLES, SKIP_NONE, SUB_SKILLS

TWO = {"datasets": {"chain_sum": {}, "complex_arithmetic": {"levels": [1, 2]}}}


@pytest.fixture(scope="module")
def two():
    return build_family("reasoning_gym", TWO)


def test_two_datasets_give_skills_sub_skills_and_the_union_of_their_levels(two):
    skills = {s.name: s.parent for s in two.skills()}
    assert skills["chain_sum"] is None and skills["complex_arithmetic"] is None
    assert {name for name, parent in skills.items() if parent == "complex_arithmetic"} == {
        "complex_arithmetic/add", "complex_arithmetic/subtract",
        "complex_arithmetic/multiply", "complex_arithmetic/divide"}
    assert not any(parent == "chain_sum" for parent in skills.values())  # no sub-types
    assert two.levels() == [1, 2, 3, 4, 5]  # chain_sum's five, complex_arithmetic's 1 and 2
    items = two.sample(n=60, rng=random.Random(0))
    assert len(items) == 60
    by_dataset = {it.meta["dataset"] for it in items}
    assert by_dataset == {"chain_sum", "complex_arithmetic"}
    assert {it.level for it in items if it.meta["dataset"] == "complex_arithmetic"} <= {1, 2}
    for it in items:
        if it.meta["dataset"] == "complex_arithmetic":
            op = SUB_SKILLS["complex_arithmetic"].suffix(it.meta["metadata"]["operation"])
            assert it.skills == ("complex_arithmetic", f"complex_arithmetic/{op}")
        else:
            assert it.skills == ("chain_sum",)
        assert it.answer not in ("", "None")
        assert two.verify(it, it.answer)


def test_levels_write_the_datasets_own_knobs(two):
    items = two.sample(n=80, rng=random.Random(1))
    table = LEVEL_TABLES["chain_sum"]
    for it in items:
        meta = it.meta["metadata"]
        if it.meta["dataset"] == "chain_sum":
            assert meta["num_terms"] == table[it.level - 1]["min_terms"]
            assert meta["num_digits"] == table[it.level - 1]["min_digits"]
        else:
            bound = LEVEL_TABLES["complex_arithmetic"][it.level - 1]["max_real"]
            assert meta["difficulty"]["max_real"] == bound
    # harder levels are longer problems
    level1 = [len(it.prompt) for it in items if it.level == 1 and "chain" in it.meta["dataset"]]
    level5 = [len(it.prompt) for it in items if it.level == 5]
    assert max(level1) < min(level5)


def test_answers_are_judged_by_the_datasets_own_scorer(two):
    items = two.sample(n=40, rng=random.Random(2))
    chain = next(it for it in items if it.meta["dataset"] == "chain_sum"
                 and abs(int(it.answer)) >= 1000)
    formatted = f"{int(chain.answer):+,}.00"  # e.g. "+1,234.00" for "1234"
    assert formatted != chain.answer and two.verify(chain, formatted)
    assert not two.verify(chain, str(int(chain.answer) + 1))
    cplx = next(it for it in items if it.meta["dataset"] == "complex_arithmetic")
    real, imag = cplx.meta["metadata"]["result"]
    assert two.verify(cplx, f"({real}{imag:+}i)")  # "(8+3i)" for "8.0 + 3.0i"
    assert not two.verify(cplx, f"{real + 1} + {imag}i")  # a partial score is not correct
    assert not two.verify(cplx, "not a number")


def test_sub_skill_generation_draws_only_that_sub_type(two):
    items = two.generate(skill="complex_arithmetic/multiply", level=2, n=5,
                         rng=random.Random(0))
    assert len(items) == 5
    assert all(it.meta["metadata"]["operation"] == "*" and it.level == 2 for it in items)
    assert all("×" in it.prompt for it in items)  # a character beyond printable ASCII
    assert all(two.verify(it, it.answer) for it in items)
    whole = two.generate(skill="chain_sum", level=4, n=3, rng=random.Random(0))
    assert [it.level for it in whole] == [4, 4, 4]
    with pytest.raises(SkillError):
        two.generate(skill="complex_arithmetic/add", level=5, n=1, rng=random.Random(0))
    with pytest.raises(SkillError):
        two.generate(skill="logic", level=1, n=1, rng=random.Random(0))


def test_sampling_is_reproducible(two):
    a = two.sample(n=12, rng=random.Random(4))
    b = two.sample(n=12, rng=random.Random(4))
    assert [i.id for i in a] == [i.id for i in b]


def test_an_unsupported_dataset_takes_its_levels_from_reasoning_gyms_curriculum():
    fam = build_family("reasoning_gym", {"datasets": ["spell_backward"]})
    assert "word_len" in fam.sources["spell_backward"].how
    configs = fam.level_sources()["spell_backward"]
    assert len(configs) >= 3
    for it in fam.sample(n=12, rng=random.Random(0)):
        assert it.meta["metadata"]["word_len"] == configs[it.level]["max_word_len"]


def test_a_dataset_without_a_difficulty_knob_has_one_level():
    fam = build_family("reasoning_gym", {"datasets": {"list_functions": {}}})
    assert fam.levels() == [1]


def test_items_without_a_reference_answer_are_skipped_and_counted(monkeypatch):
    from reasoning_gym.arithmetic.chain_sum import ChainSumDataset

    real = ChainSumDataset.__getitem__

    def some_without_answer(self, idx):
        entry = real(self, idx)
        if idx % 3 == 0:
            entry["answer"] = None
        elif idx % 3 == 1:
            entry["answer"] = "None"
        return entry

    monkeypatch.setattr(ChainSumDataset, "__getitem__", some_without_answer)
    fam = build_family("reasoning_gym", {"datasets": {"chain_sum": {"levels": [1, 2]}}})
    items = fam.sample(n=10, rng=random.Random(0))
    assert len(items) == 10  # topped up from further draws
    assert all(it.answer != "None" for it in items)
    skipped = fam.skipped_items()
    assert skipped[f"chain_sum: {SKIP_NONE}"] >= 20  # two of every three drawn


def test_a_dataset_that_never_gives_a_reference_answer_is_refused():
    with pytest.raises(SpecError) as exc:
        build_family("reasoning_gym", {"datasets": {"chain_sum": {}, "graph_color": {}}})
    assert exc.value.field == "spec.task.options.datasets.graph_color"
    assert "no reference answers" in str(exc.value)


def test_the_single_dataset_form_still_works():
    fam = build_family("reasoning_gym", {"dataset": "chain_sum",
                                         "level_field": ["min_digits", "max_digits"],
                                         "levels": [1, 3], "config": {"min_terms": 2,
                                                                      "max_terms": 2}})
    assert fam.levels() == [1, 3]
    for it in fam.sample(n=10, rng=random.Random(0)):
        assert it.meta["metadata"]["num_digits"] == it.level
        assert it.meta["metadata"]["num_terms"] == 2
    fam = build_family("reasoning_gym", {"dataset": "basic_arithmetic", "levels": [1, 2],
                                         "skill_from": "category"})
    assert fam.levels() == [1, 2]
    assert [s.name for s in fam.skills()] == ["arithmetic"]


@pytest.mark.parametrize("options, field", [
    ({"dataset": "nope"}, "spec.task.options.dataset"),
    ({"datasets": {"nope": {}}}, "spec.task.options.datasets.nope"),
    ({"datasets": {"chain_sum": {"config": {"max_digits": 3}}}},
     "spec.task.options.datasets.chain_sum.config.max_digits"),
    ({"datasets": {"chain_sum": {"levels": [9]}}}, "spec.task.options.datasets.chain_sum.levels"),
    ({"datasets": {"chain_sum": {"level": [1]}}}, "spec.task.options.datasets.chain_sum.level"),
    ({"datasets": {"chain_sum": {"config": {"seed": 1}}}},
     "spec.task.options.datasets.chain_sum.config.seed"),
    ({"datasets": {"chain_sum": {}}, "dataset": "products"}, "spec.task.options.datasets"),
    ({"datasets": {"chain_sum": {"level_field": "max_digits"}}},
     "spec.task.options.datasets.chain_sum.levels"),
    ({"datasets": {"chain_sum": {"level_field": "min_digits", "levels": [5]}}},
     "spec.task.options.datasets.chain_sum"),  # min_digits 5 > max_digits 4: the dataset's
])
def test_bad_options_name_their_field(options, field):
    with pytest.raises(SpecError) as exc:
        build_family("reasoning_gym", options)
    assert exc.value.field == field


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "reasoning_gym", None)
    with pytest.raises(EngineError, match=r"pip install 'curriculum-studio\[reasoning-gym\]'"):
        build_family("reasoning_gym", {"dataset": "basic_arithmetic"})
