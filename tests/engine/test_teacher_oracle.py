import random
import subprocess
import sys

import pytest

from tests.engine.teacher_helpers import SumFamily, make_item
from workers.engine.errors import SpecError, TeacherError
from workers.engine.spec import TeacherSpec
from workers.engine.tasks.base import Item
from workers.engine.teachers import build_teacher, parsers, prompts
from workers.engine.teachers.oracle import OracleTeacher


def oracle():
    return build_teacher(TeacherSpec(kind="oracle"), SumFamily())


def test_build_oracle():
    assert isinstance(oracle(), OracleTeacher)
    assert oracle().kind == "oracle"


def test_diagnose_uses_the_family_attribution():
    teacher = oracle()
    item = make_item(47, 38)
    assert teacher.diagnose(item, "75", ["add", "carry"]) == ("carry",)
    assert teacher.diagnose(item, "12", ["add", "carry"]) == ("add", "carry")
    assert teacher.diagnose_many([(item, "75"), (item, "12")], ["add", "carry"]) == [
        ("carry",), ("add", "carry")]
    assert teacher.failures == []


def test_diagnose_keeps_only_listed_skills_and_records_when_none_is():
    teacher = oracle()
    item = make_item(47, 38)
    assert teacher.diagnose(item, "12", ["carry"]) == ("carry",)
    assert teacher.diagnose(item, "75", ["add"]) == ()
    [failure] = teacher.failures
    assert "attributed skills ['carry'] are not in the skill list" in failure.message


def test_synthesize_generates_verified_items_with_lineage():
    teacher = oracle()
    refs = [make_item(47, 38)]
    items = teacher.synthesize(skill="carry", level=2, references=refs, n=5,
                               rng=random.Random(1))
    assert 1 <= len(items) <= 5
    family = SumFamily()
    for item in items:
        assert "carry" in item.skills and item.level == 2
        assert family.verify(item, item.answer)
        assert item.prompt != "47+38="
        assert item.meta["teacher"] == "oracle"
        assert item.meta["prompt_role"] == "synthesize"
        assert item.meta["prompt_version"] == "oracle"
        assert "carry" in item.meta["reason"]
    again = oracle().synthesize(skill="carry", level=2, references=refs, n=5,
                                rng=random.Random(1))
    assert [i.prompt for i in again] == [i.prompt for i in items]


def test_synthesize_drops_items_that_fail_the_verifier():
    class Broken(SumFamily):
        def generate(self, *, skill, level, n, rng):
            good = make_item(5, 6)
            bad = Item(id="bad", prompt="7+8=", answer="16", skills=("add", "carry"), level=1)
            return [good, bad]

    teacher = OracleTeacher(Broken())
    items = teacher.synthesize(skill="carry", level=1, references=[], n=2, rng=random.Random(0))
    assert [i.prompt for i in items] == ["5+6="]
    assert "differs from the family's solver ('15')" in teacher.rejected[0].message


def test_synthesize_without_a_generator_is_an_error():
    class NoGen(SumFamily):
        def can_generate(self):
            return False

    with pytest.raises(TeacherError, match="cannot generate items"):
        OracleTeacher(NoGen()).synthesize(skill="add", level=1, references=[], n=1,
                                          rng=random.Random(0))


def test_label_solve_rate_extract():
    teacher = oracle()
    item = make_item(47, 38)
    assert teacher.label_skills(item, ["add", "carry", "sub"]) == ("add", "carry")
    assert teacher.solve(item) == "85"
    assert teacher.rate_difficulty(item, [1, 2]) == 2
    assert [s.name for s in teacher.extract_skills([item])] == ["add", "carry"]
    with pytest.raises(TeacherError, match="level 2 is not on the scale"):
        teacher.rate_difficulty(item, [1])
    with pytest.raises(TeacherError, match="none of its skills"):
        teacher.label_skills(item, ["sub"])


@pytest.mark.parametrize("role", prompts.ROLES)
def test_call_raw_follows_each_output_contract_deterministically(role):
    teacher = oracle()
    skills = ["add", "carry"]
    parse = {
        "extract_skills": parsers.parse_extract_skills,
        "label_skills": lambda t: parsers.parse_label_skills(t, skills),
        "grade": lambda t: parsers.parse_grade(t, skills),
        "synthesize": parsers.parse_synthesize,
        "solve": parsers.parse_solve,
        "rate_difficulty": lambda t: parsers.parse_rate_difficulty(t, [1, 2]),
    }[role]
    prompt = prompts.render_example(role)
    raw = teacher.call_raw(role, prompt)
    assert parse(raw)
    assert teacher.call_raw(role, prompt) == raw


def test_unknown_kind_and_bad_prompts_are_spec_errors():
    with pytest.raises(SpecError, match="spec.teacher.kind"):
        build_teacher(TeacherSpec(kind="magic"), SumFamily())
    with pytest.raises(SpecError, match=r"spec.teacher.prompts.grade: line 1: unknown variable"):
        build_teacher(TeacherSpec(prompts={"grade": "{{ nope }}"}), SumFamily())
    with pytest.raises(SpecError, match="spec.teacher.prompts.poem: unknown role"):
        build_teacher(TeacherSpec(prompts={"poem": "hi"}), SumFamily())


def test_importing_teachers_loads_no_heavy_library():
    code = ("import sys, workers.engine.teachers, workers.engine.teachers.oracle;"
            "print(sorted(m for m in ('torch', 'transformers', 'openai') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_oracle_on_the_arithmetic_family():
    arithmetic = pytest.importorskip("workers.engine.tasks.arithmetic")
    columns = pytest.importorskip("workers.engine.tasks.arithmetic_columns")
    family = arithmetic.ArithmeticFamily(ops=["add", "sub"])
    teacher = build_teacher(TeacherSpec(kind="oracle"), family)
    skills = [s.name for s in family.skills()]
    item = next(i for i in family.generate(skill="carry", level=2, n=20, rng=random.Random(3))
                if "carry" in i.skills)
    a, b = (int(x) for x in item.prompt.rstrip("=").split("+"))
    assert teacher.diagnose(item, str(columns.sum_without_carries(a, b)), skills) == (
        "carry",)
    items = teacher.synthesize(skill="borrow", level=3, references=[], n=4,
                               rng=random.Random(0))
    assert len(items) == 4
    assert all("borrow" in i.skills and i.level == 3 and family.verify(i, i.answer)
               for i in items)
    assert teacher.synthesize(skill="borrow", level=1, references=[], n=2,
                              rng=random.Random(0)) == []
    assert "skill 'borrow'" in teacher.failures[-1].message
    for role in prompts.ROLES:
        assert teacher.call_raw(role, prompts.render_example(role))


def test_oracle_writes_items_like_its_references():
    """As STAT's teacher: shown additions without a carry, it writes additions without a
    carry, not whatever mix the generator draws (most 3-digit additions carry)."""
    arithmetic = pytest.importorskip("workers.engine.tasks.arithmetic")
    family = arithmetic.ArithmeticFamily(ops=["add", "sub"])
    teacher = build_teacher(TeacherSpec(kind="oracle"), family)
    plain = [i for i in family.generate(skill="add", level=3, n=200, rng=random.Random(1))
             if set(i.skills) == {"add"}][:2]
    carrying = next(i for i in family.generate(skill="add", level=3, n=50,
                                               rng=random.Random(2)) if "carry" in i.skills)
    assert len(plain) == 2
    like_plain = teacher.propose(skill="add", level=3, references=plain, n=6,
                                 rng=random.Random(0)).items
    assert len(like_plain) == 6 and all(set(i.skills) == {"add"} for i in like_plain)
    mixed = teacher.propose(skill="add", level=3, references=[plain[0], carrying], n=6,
                            rng=random.Random(0)).items
    assert sum("carry" in i.skills for i in mixed) == 3
    # references of another level say nothing about this one: the generator's own mix
    anything = teacher.propose(skill="add", level=2, references=plain, n=6,
                               rng=random.Random(0)).items
    assert len(anything) == 6 and all(i.level == 2 for i in anything)
    assert {i.prompt for i in like_plain}.isdisjoint(i.prompt for i in plain)
