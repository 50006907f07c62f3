"""The adapter is tested against a small fake ``reasoning_gym`` module that mimics the
package's documented API (``create_dataset(name, size=, seed=, **cfg)``, entries with
question/answer/metadata, ``dataset.score_answer(answer=, entry=)``): the real package is an
optional extra."""

import random
import sys
import types

import pytest

from workers.engine.errors import EngineError, SkillError, SpecError
from workers.engine.tasks import build_family


class FakeDataset:
    def __init__(self, size, seed, min_digits=1, max_digits=1, min_terms=2):
        if min_digits > max_digits:
            raise ValueError("min_digits must be <= max_digits")
        rng = random.Random(seed)
        self.entries = []
        for _ in range(size):
            nums = [rng.randint(10 ** (max_digits - 1), 10**max_digits - 1)
                    for _ in range(min_terms)]
            self.entries.append({
                "question": " + ".join(map(str, nums)) + " =",
                "answer": str(sum(nums)),
                "metadata": {"num_digits": max_digits, "expression": " + ".join(map(str, nums))},
            })

    def __iter__(self):
        return iter(self.entries)

    def __len__(self):
        return len(self.entries)

    def score_answer(self, answer, entry):
        if answer is None:
            return 0.0
        return 1.0 if answer.strip() == entry["answer"] else 0.01


FakeDataset.__module__ = "reasoning_gym.arithmetic.basic_arithmetic"


@pytest.fixture
def fake_rg(monkeypatch):
    module = types.ModuleType("reasoning_gym")
    calls = []

    def create_dataset(name, *, size, seed, **cfg):
        calls.append((name, size, seed, cfg))
        if name != "basic_arithmetic":
            raise ValueError(f"Dataset {name} not registered")
        return FakeDataset(size, seed, **cfg)

    module.create_dataset = create_dataset
    module.calls = calls
    monkeypatch.setitem(sys.modules, "reasoning_gym", module)
    return module


OPTIONS = {"dataset": "basic_arithmetic", "level_field": ["min_digits", "max_digits"],
           "levels": [1, 2, 3]}


def test_levels_skills_and_items(fake_rg):
    fam = build_family("reasoning_gym", OPTIONS)
    assert fam.levels() == [1, 2, 3]
    assert [s.name for s in fam.skills()] == ["basic_arithmetic"]
    items = fam.sample(n=30, rng=random.Random(0))
    assert len(items) == 30
    assert {it.level for it in items} == {1, 2, 3}
    for it in items:
        assert it.skills == ("basic_arithmetic",)
        assert it.meta["metadata"]["num_digits"] == it.level
        assert fam.verify(it, it.answer)
        assert not fam.verify(it, it.answer + "0")
    _, _, _, cfg = fake_rg.calls[-1]
    assert cfg["min_digits"] == cfg["max_digits"]


def test_sampling_is_reproducible(fake_rg):
    fam = build_family("reasoning_gym", OPTIONS)
    a = fam.sample(n=12, rng=random.Random(4))
    b = fam.sample(n=12, rng=random.Random(4))
    assert [i.id for i in a] == [i.id for i in b]


def test_category_skill_and_generate(fake_rg):
    fam = build_family("reasoning_gym", {**OPTIONS, "skill_from": "category"})
    assert [s.name for s in fam.skills()] == ["arithmetic"]
    assert fam.can_generate()
    items = fam.generate(skill="arithmetic", level=2, n=4, rng=random.Random(0))
    assert len(items) == 4 and all(it.level == 2 for it in items)
    with pytest.raises(SkillError):
        fam.generate(skill="arithmetic", level=9, n=1, rng=random.Random(0))
    with pytest.raises(SkillError):
        fam.generate(skill="logic", level=1, n=1, rng=random.Random(0))


def test_extra_config_is_passed_and_refusals_name_the_dataset(fake_rg):
    build_family("reasoning_gym", {**OPTIONS, "config": {"min_terms": 3}})
    assert fake_rg.calls[-1][3]["min_terms"] == 3
    with pytest.raises(SpecError) as exc:
        build_family("reasoning_gym", {"dataset": "nope"})
    assert exc.value.field == "spec.task.options.dataset"
    assert "nope" in str(exc.value)


def test_levels_without_field_are_refused(fake_rg):
    with pytest.raises(SpecError) as exc:
        build_family("reasoning_gym", {"dataset": "basic_arithmetic", "levels": [1, 2]})
    assert exc.value.field == "spec.task.options.level_field"


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "reasoning_gym", None)
    with pytest.raises(EngineError, match=r"pip install 'curriculum-studio\[reasoning-gym\]'"):
        build_family("reasoning_gym", {"dataset": "basic_arithmetic"})
