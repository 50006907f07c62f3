import random
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.engine.teacher_helpers import ScriptedTeacher, make_item
from workers.engine.errors import TeacherError
from workers.engine.teachers import prompts
from workers.engine.teachers.base import MAX_ATTEMPTS, map_concurrent

ITEM = make_item(47, 38)  # 85, needs add and carry
GOOD_GRADE = "<judge>incorrect</judge><reason>no carry</reason><skill>carry</skill>"


def test_diagnose_parses_the_grade():
    teacher = ScriptedTeacher([GOOD_GRADE])
    assert teacher.diagnose(ITEM, "75", ["add", "carry"]) == ("carry",)
    role, prompt = teacher.prompts_seen[0]
    assert role == "grade"
    assert "Student answer: 75" in prompt and "Reference answer: 85" in prompt
    assert "- carry: carry a ten" in prompt
    assert teacher.failures == []


def test_diagnose_retries_a_skill_not_on_the_list_then_succeeds():
    bad = "<judge>incorrect</judge><reason>r</reason><skill>subtraction</skill>"
    teacher = ScriptedTeacher([bad, GOOD_GRADE])
    assert teacher.diagnose(ITEM, "75", ["add", "carry"]) == ("carry",)
    assert len(teacher.prompts_seen) == 2
    assert teacher.failures == []


def test_diagnose_records_a_failure_after_three_attempts_and_returns_nothing():
    bad = "<judge>incorrect</judge><reason>r</reason><skill>subtraction</skill>"
    teacher = ScriptedTeacher([bad] * 5)
    assert teacher.diagnose(ITEM, "75", ["add", "carry"]) == ()
    assert len(teacher.prompts_seen) == MAX_ATTEMPTS
    [failure] = teacher.failures
    assert failure.role == "grade"
    assert failure.attempts == 3
    assert failure.raw == bad
    assert "skill 'subtraction' is not in the skill list" in failure.message


def test_diagnose_judged_correct_attributes_nothing_without_failure():
    teacher = ScriptedTeacher(["<judge>correct</judge><reason>same</reason><skill></skill>"])
    assert teacher.diagnose(ITEM, "85 ", ["add", "carry"]) == ()
    assert teacher.failures == []


def test_label_solve_rate_extract():
    def answer(role, prompt):
        return {
            "label_skills": "<skill>ADD, carry</skill>",
            "solve": "7+8=15, carry 1; 4+3+1=8.\n<answer>85</answer>",
            "rate_difficulty": "<level>2</level>",
            "extract_skills": "1. add: add digits\n2. carry: carry tens",
        }[role]

    teacher = ScriptedTeacher(answer)
    assert teacher.label_skills(ITEM, ["add", "carry"]) == ("add", "carry")
    assert teacher.solve(ITEM) == "85"
    assert teacher.rate_difficulty(ITEM, [1, 2]) == 2
    skills = teacher.extract_skills([ITEM])
    assert [(s.name, s.description) for s in skills] == [("add", "add digits"),
                                                        ("carry", "carry tens")]
    assert teacher.usage.calls == 4


def test_methods_without_an_empty_result_raise_after_recording():
    teacher = ScriptedTeacher(["I think it is 85."])
    with pytest.raises(TeacherError, match="no valid answer after 3 attempts") as info:
        teacher.solve(ITEM)
    assert info.value.raw == "I think it is 85."
    assert teacher.failures[0].role == "solve"
    with pytest.raises(TeacherError):
        teacher.rate_difficulty(ITEM, [1, 2])
    assert [f.role for f in teacher.failures] == ["solve", "rate_difficulty"]


def test_custom_prompt_is_rendered_and_versioned():
    custom = "Q: {{ question }} -> <answer>?"
    teacher = ScriptedTeacher(["<answer>85</answer>"], prompts_by_role={"solve": custom})
    teacher.solve(ITEM)
    assert teacher.prompts_seen[0][1] == "Q: 47+38= -> <answer>?"
    assert teacher.prompt_version("solve") == prompts.prompt_version(custom)


def test_invalid_custom_prompt_is_refused():
    with pytest.raises(prompts.TemplateError, match="unknown variable 'answer'"):
        ScriptedTeacher([], prompts_by_role={"solve": "{{ answer }}"})
    with pytest.raises(prompts.TemplateError, match="unknown role"):
        ScriptedTeacher([], prompts_by_role={"poem": "{{ x }}"})


# -- synthesis: self-consistency ----------------------------------------------------------

def _synth_backend(proposals: str, solutions: dict[str, list[str]]):
    served: dict[str, int] = {}

    def answer(role, prompt):
        if role == "synthesize":
            return proposals
        question = next(q for q in solutions if f"\n{q}\n" in prompt)
        i = served.get(question, 0)
        served[question] = i + 1
        return f"work\n<answer>{solutions[question][i % len(solutions[question])]}</answer>"

    return answer


def test_synthesize_keeps_items_whose_solutions_agree_and_verify():
    proposals = (
        "<reason>carry twice</reason><question>58+67=</question>"
        "<reason>disagree</reason><question>19+23=</question>"
        "<reason>wrong but agreed</reason><question>36+46=</question>"
        "<reason>copy</reason><question>47+38=</question>"
    )
    solutions = {
        "58+67=": ["125", "125 ", "124"],
        "19+23=": ["42", "41", "40"],
        "36+46=": ["81", "81", "81"],  # agreed, but the family's verifier says 82
        "47+38=": ["85"],
    }
    teacher = ScriptedTeacher(_synth_backend(proposals, solutions))
    items = teacher.synthesize(skill="carry", level=2, references=[ITEM], n=4,
                               rng=random.Random(0))
    [item] = items
    assert (item.prompt, item.answer, item.skills, item.level) == ("58+67=", "125", ("carry",), 2)
    assert item.id.startswith("syn-")
    assert item.meta["teacher"] == "scripted"
    assert item.meta["prompt_role"] == "synthesize"
    assert item.meta["prompt_version"] == prompts.prompt_version(
        prompts.default_template("synthesize"))
    assert item.meta["reason"] == "carry twice"
    assert item.meta["agreement"] == 2
    reasons = [r.message for r in teacher.rejected]
    assert any(m.startswith("disagreement: 1 of 3 solutions agree") for m in reasons)
    assert any("differs from the family's solver ('82')" in m for m in reasons)
    assert any("repeats a reference" in m for m in reasons)
    synth_prompt = teacher.prompts_seen[0][1]
    assert "'carry': carry a ten" in synth_prompt and "47+38=" in synth_prompt
    assert "Write 4 new items" in synth_prompt


def test_synthesize_records_a_failure_when_proposals_never_parse():
    teacher = ScriptedTeacher(["Here are two new items: 1+1=, 2+2="])
    assert teacher.synthesize(skill="add", level=1, references=[], n=2,
                              rng=random.Random(0)) == []
    assert teacher.failures[0].role == "synthesize"
    assert teacher.failures[0].attempts == 3


def test_synthesize_takes_at_most_n():
    proposals = "".join(f"<reason>r</reason><question>{a}+1=</question>" for a in range(5))
    solutions = {f"{a}+1=": [str(a + 1)] for a in range(5)}
    teacher = ScriptedTeacher(_synth_backend(proposals, solutions))
    items = teacher.synthesize(skill="add", level=1, references=[], n=2, rng=random.Random(0))
    assert [i.prompt for i in items] == ["0+1=", "1+1="]


# -- concurrency --------------------------------------------------------------------------

def test_map_concurrent_keeps_order_and_bounds_parallelism():
    live, peak, lock = [0], [0], threading.Lock()

    def work(x):
        with lock:
            live[0] += 1
            peak[0] = max(peak[0], live[0])
        time.sleep(0.02)
        with lock:
            live[0] -= 1
        return x * 2

    assert map_concurrent(work, range(10), 3) == [x * 2 for x in range(10)]
    assert 1 < peak[0] <= 3


def test_diagnose_many_runs_in_parallel_and_keeps_order():
    def answer(role, prompt):
        time.sleep(0.01)
        skill = "carry" if "Student answer: 75" in prompt else "add"
        return f"<judge>incorrect</judge><reason>r</reason><skill>{skill}</skill>"

    teacher = ScriptedTeacher(answer, concurrency=4)
    pairs = [(ITEM, "75"), (ITEM, "99")] * 4
    assert teacher.diagnose_many(pairs, ["add", "carry"]) == [("carry",), ("add",)] * 4
    assert teacher.usage.calls == 8


# -- arbitrary backend text ---------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(answers=st.lists(st.one_of(st.text(max_size=80), st.just(GOOD_GRADE)),
                        min_size=1, max_size=4))
def test_arbitrary_backend_text_parses_retries_or_is_recorded(answers):
    teacher = ScriptedTeacher(answers)
    result = teacher.diagnose(ITEM, "75", ["add", "carry"])
    calls = len(teacher.prompts_seen)
    assert 1 <= calls <= MAX_ATTEMPTS
    if teacher.failures:
        [failure] = teacher.failures
        assert result == () and calls == MAX_ATTEMPTS and failure.attempts == MAX_ATTEMPTS
        assert failure.raw == answers[min(calls, len(answers)) - 1]
    else:
        assert set(result) <= {"add", "carry"}


def test_grade_returns_the_raw_text_with_the_result():
    teacher = ScriptedTeacher([GOOD_GRADE])
    grade, raw = teacher.grade(ITEM, "75", ["add", "carry"])
    assert grade.missing_skills == ("carry",) and grade.reason == "no carry"
    assert raw == GOOD_GRADE
