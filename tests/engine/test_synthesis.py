"""STAT-Syn as published: self-consistency with n_solutions/n_agree, the oracle's own solver,
deduplication against the run's splits, drop_solved, and the per-round accounting; and
attribution that only blames skills on the item."""

import random
import re
from collections import Counter
from dataclasses import dataclass

import pytest

from tests.engine.teacher_helpers import ScriptedTeacher, SumFamily, make_item
from workers.engine.curriculum import Observation, get_strategy
from workers.engine.curriculum.base import DataPlan, PlanEntry
from workers.engine.materialize import Materializer
from workers.engine.profile import LevelStat, Verdict, build_profile
from workers.engine.records import RoundStart, build_record
from workers.engine.spec import RunSpec
from workers.engine.splits import SplitGuard
from workers.engine.tasks.arithmetic import ArithmeticFamily
from workers.engine.tasks.base import (
    ATTRIBUTION_ALL,
    ATTRIBUTION_ERROR_ANALYSIS,
    ATTRIBUTION_GRADE,
    Item,
)
from workers.engine.teachers.base import MAX_ATTEMPTS
from workers.engine.teachers.oracle import OracleTeacher
from workers.engine.teachers.synthesis import REJECT_REASONS, Synthesis

SPEC = RunSpec.from_dict({"task": {"family": "arithmetic"}, "seed": 0})
SKILLS = ["add", "carry"]
POOL = SumFamily().sample(n=40, rng=random.Random(5))
FAILED = (
    Verdict(item_id="e1", skills=("add", "carry"), level=2, correct=False, prediction="75",
            missing_skills=("carry",)),
    Verdict(item_id="e2", skills=("add",), level=1, correct=False, prediction="9",
            missing_skills=("add",)),
)


class Backend:
    """Scripted LLM: ``synthesize`` proposes fresh 3-digit sums (never in the pool);
    ``solve`` answers the k-th solution of a question with ``answer(a, b, k)``."""

    def __init__(self, answer, questions=None):
        self.answer = answer
        self.questions = questions  # fixed questions to propose, in order, instead
        self.next = 100
        self.solves: Counter = Counter()

    def __call__(self, role, prompt):
        if role == "synthesize":
            n = int(re.search(r"Write (\d+) new item", prompt).group(1))
            out = ""
            for _ in range(n):
                if self.questions:
                    q = self.questions.pop(0)
                else:
                    q = f"{self.next}+{self.next + 7}="
                    self.next += 1
                out += f"<reason>new</reason><question>{q}</question>"
            return out
        q = re.search(r"\n(\d+ ?\+ ?\d+ ?=)\n", prompt).group(1)
        k = self.solves[q]
        self.solves[q] += 1
        a, b = (int(x) for x in re.findall(r"\d+", q))
        return self.answer(a, b, k)


def stat_syn_plan(budget=20, **params) -> DataPlan:
    strategy = get_strategy("stat_syn")(params={"uniform_floor": 0.0, "k": 3, **params},
                                        skills=SKILLS, levels=[1, 2], budget=budget, seed=0)
    obs = Observation(round=1, total_rounds=2, profile=(), levels=(), failures=FAILED)
    return strategy.plan(obs)


def materializer(teacher, *, guard=None, **config) -> Materializer:
    params = get_strategy("stat_syn")(params=config, skills=SKILLS, levels=[1, 2], budget=1,
                                      seed=0).config
    return Materializer(SPEC, teacher, skills=SKILLS, train_levels=[1, 2], pool=list(POOL),
                        config=params, guard=guard)


def test_stat_syn_with_disagreeing_solutions_keeps_nothing_and_counts_why():
    teacher = ScriptedTeacher(Backend(lambda a, b, k: f"<answer>{a + b + k}</answer>"))
    plan = stat_syn_plan()
    data = materializer(teacher)
    train, synthesized, notes = data.materialize(1, plan, list(FAILED))
    assert synthesized == []
    assert len(train) == plan.total == 20  # the budget is kept with pool items
    assert data.synthesis.to_dict() == {
        "requested": 6, "proposed": 6, "kept": 0,
        "rejected": {"disagreement": 6, "duplicate": 0, "already_solved": 0,
                     "unparsable": 0, "teacher_error": 0, "unfit": 0}}
    assert any("were not kept: drawn from the pool" in n for n in notes)
    assert all(r.message.startswith("disagreement") for r in teacher.rejected)


def test_every_asked_item_is_kept_or_rejected_for_one_reason():
    def answer(a, b, k):
        kind = a % 4
        if kind == 0:
            return f"<answer>{a + b}</answer>"  # agree and right: kept
        if kind == 1:
            return f"<answer>{a + b + k}</answer>"  # disagree
        if kind == 2:
            return f"<answer>{a + b + 1}</answer>"  # agree, but the family's solver says no
        return "I would rather not."  # never parses

    teacher = ScriptedTeacher(Backend(answer))
    data = materializer(teacher, n_new=4)
    plan = DataPlan((PlanEntry("carry", 2, 8, source="synth", triggers=("e1",)),))
    train, synthesized, _ = data.materialize(1, plan, list(FAILED))
    counts = data.synthesis.to_dict()
    assert counts["requested"] == 8 == counts["kept"] + sum(counts["rejected"].values())
    assert counts["kept"] == 2 and len(synthesized) == 2
    assert counts["rejected"]["disagreement"] == 4  # 2 disagree + 2 refused by the solver
    assert counts["rejected"]["unparsable"] == 2
    assert len(train) == 8
    for item in synthesized:
        assert item.answer == SumFamily().solve(item)
        assert item.meta["trigger_item"] == "e1" and item.meta["agreement"] == 3
        assert item.meta["verification"] == "3 of 3 solutions agree; the family's solver agrees"
        assert len(item.meta["references"]) == 3  # n_references pool items with the skill
    # two requests of n_new=4, each shown its own references
    assert [r for r, _ in teacher.prompts_seen].count("synthesize") == 2


def test_a_failed_synthesize_call_counts_its_items():
    teacher = ScriptedTeacher(["not the contract"] * 10)
    result = teacher.propose(skill="add", level=1, references=[], n=3, rng=random.Random(0))
    assert (result.requested, result.proposed, result.items) == (3, 0, [])
    assert result.rejected == Counter({"unparsable": 3})
    assert teacher.failures[0].attempts == MAX_ATTEMPTS


@pytest.mark.parametrize(("solutions", "kept"), [
    (["85", "85", "85", "85", "84"], "85"),
    (["84", "85", "85", "85", "85"], "85"),  # the majority answer, not the first
    (["85", "85", "85", "84", "84"], None),  # 3 of 5 agree: not enough for 4
])
def test_n_solutions_and_n_agree_are_honoured(solutions, kept):
    backend = Backend(lambda a, b, k: f"<answer>{solutions[k]}</answer>",
                      questions=["47+38="])
    teacher = ScriptedTeacher(backend)
    result = teacher.propose(skill="carry", level=2, references=[], n=1,
                             rng=random.Random(0), n_solutions=5, n_agree=4)
    assert backend.solves["47+38="] == 5
    if kept is None:
        assert result.items == [] and result.rejected == Counter({"disagreement": 1})
    else:
        [item] = result.items
        assert item.answer == kept and item.meta["agreement"] == 4
        assert item.meta["n_solutions"] == 5


def test_the_materializer_passes_n_solutions_and_n_agree():
    backend = Backend(lambda a, b, k: f"<answer>{a + b if k < 4 else 0}</answer>")
    teacher = ScriptedTeacher(backend)
    data = materializer(teacher, n_solutions=5, n_agree=4)
    plan = DataPlan((PlanEntry("add", 1, 2, source="synth", triggers=("e2",)),))
    _, synthesized, _ = data.materialize(1, plan, list(FAILED))
    assert len(synthesized) == 2
    assert set(backend.solves.values()) == {5}


class WrongAnswers(ArithmeticFamily):
    """A generator whose stated answers are off by one for every other item."""

    def generate(self, *, skill, level, n, rng, **kw):
        items = super().generate(skill=skill, level=level, n=n, rng=rng, **kw)
        return [it if i % 2 else Item(id=it.id, prompt=it.prompt, answer=str(int(it.answer) + 1),
                                      skills=it.skills, level=it.level, meta=it.meta)
                for i, it in enumerate(items)]


def test_the_oracle_checks_its_generator_with_its_own_solver():
    family = WrongAnswers(ops=["add"])
    teacher = OracleTeacher(family)
    result = teacher.propose(skill="carry", level=2, references=[], n=6, rng=random.Random(1))
    assert result.requested == result.proposed == 6
    assert result.rejected == Counter({"disagreement": 3}) and len(result.items) == 3
    for item in result.items:
        assert item.answer == family.solve(item)
        assert item.meta["verification"] == "the family's solver agrees"
    # the verifier alone would have passed them: it compares the answer with itself
    bad = family.generate(skill="carry", level=2, n=1, rng=random.Random(1))[0]
    assert family.verify(bad, bad.answer) and family.solve(bad) != bad.answer
    assert "differs from the family's solver" in teacher.rejected[0].message


def test_the_oracle_says_when_its_family_has_no_solver():
    class NoSolver(SumFamily):
        def solve(self, item):
            return None

    result = OracleTeacher(NoSolver()).propose(skill="add", level=1, references=[], n=2,
                                               rng=random.Random(0))
    assert len(result.items) == 2
    assert all(it.meta["verification"].startswith("none") for it in result.items)


def test_drop_solved_drops_items_the_student_answers():
    asked: list[list[Item]] = []

    def solves(items):
        asked.append(items)
        return [int(it.answer) % 2 == 0 for it in items]

    plan = DataPlan((PlanEntry("carry", 2, 6, source="synth", triggers=("e1",)),))
    data = materializer(OracleTeacher(SumFamily()))
    _, synthesized, _ = data.materialize(1, plan, list(FAILED), solves=solves)
    [candidates] = asked
    even = sum(int(it.answer) % 2 == 0 for it in candidates)
    assert even > 0
    assert data.synthesis.rejected["already_solved"] == even
    assert all(int(it.answer) % 2 for it in synthesized)
    assert len(synthesized) == len(candidates) - even

    asked.clear()
    kept_all = materializer(OracleTeacher(SumFamily()), drop_solved=False)
    _, synthesized, _ = kept_all.materialize(1, plan, list(FAILED), solves=solves)
    assert asked == []  # the student is not asked at all
    assert kept_all.synthesis.rejected["already_solved"] == 0
    assert len(synthesized) == len(candidates)


def test_new_items_the_student_cannot_take_whole_are_dropped_as_unfit():
    asked: list[list[Item]] = []

    def fits(items):
        asked.append(items)
        return [None if int(it.answer) % 2 else "longer than the context" for it in items]

    plan = DataPlan((PlanEntry("carry", 2, 6, source="synth", triggers=("e1",)),))
    data = materializer(OracleTeacher(SumFamily()), drop_solved=False)
    _, synthesized, notes = data.materialize(1, plan, list(FAILED), fits=fits)
    [candidates] = asked
    even = sum(int(it.answer) % 2 == 0 for it in candidates)
    assert even > 0
    assert data.synthesis.rejected["unfit"] == even
    assert len(synthesized) == len(candidates) - even
    assert all(int(it.answer) % 2 for it in synthesized)
    assert any("do not fit the student" in n for n in notes)


def test_synthesized_items_never_repeat_eval_pool_or_each_other():
    eval_item = make_item(300, 400)
    pool_item = POOL[0]
    questions = ["300+400=", pool_item.prompt, "301+401=", "301 + 401 =", "302+402="]
    teacher = ScriptedTeacher(Backend(lambda a, b, k: f"<answer>{a + b}</answer>",
                                      questions=list(questions)))
    guard = SplitGuard([eval_item])
    guard.record(POOL)
    data = materializer(teacher, guard=guard, n_new=1, n_references=0)
    plan = DataPlan((PlanEntry("add", 1, 5, source="synth", triggers=("e2",)),))
    _, synthesized, _ = data.materialize(1, plan, list(FAILED))
    assert [it.prompt for it in synthesized] == ["301+401=", "302+402="]
    assert data.synthesis.rejected["duplicate"] == 3
    # and not in a later round either
    again = ScriptedTeacher(Backend(lambda a, b, k: f"<answer>{a + b}</answer>",
                                    questions=["302+402=", "303+403="]))
    data.teacher = again
    plan = DataPlan((PlanEntry("add", 1, 2, source="synth", triggers=("e2",)),))
    _, synthesized, _ = data.materialize(2, plan, list(FAILED))
    assert [it.prompt for it in synthesized] == ["303+403="]


def test_synthesis_accounting_adds_up():
    s = Synthesis(requested=5, proposed=4)
    s.reject("unparsable")
    s.reject("duplicate", 2)
    with pytest.raises(ValueError):
        s.reject("boredom")
    d = s.to_dict()
    assert list(d["rejected"]) == list(REJECT_REASONS)
    assert d["kept"] == 0 and sum(d["rejected"].values()) == 3


# -- attribution -----------------------------------------------------------------------------

def test_a_grade_that_blames_a_skill_not_on_the_item_is_a_teacher_error():
    item = make_item(12, 13)  # 25: add only, no carry
    blame_carry = "<judge>incorrect</judge><reason>forgot to carry</reason><skill>carry</skill>"
    teacher = ScriptedTeacher([blame_carry] * MAX_ATTEMPTS)
    assert teacher.diagnose(item, "35", ["add", "carry"]) == ()
    [failure] = teacher.failures
    assert failure.role == "grade" and failure.raw == blame_carry
    assert "'carry' is not in the skill list" in failure.message
    # the grade was only offered the item's own skills
    assert all("- carry" not in prompt for _, prompt in teacher.prompts_seen)
    verdict = Verdict(item_id=item.id, skills=item.skills, level=2, correct=False,
                      prediction="35", missing_skills=())
    rows = {r.skill: r for r in build_profile([verdict], ["add", "carry"])}
    assert rows["carry"].failed == 0 and rows["add"].miss_rate <= 1.0


def test_the_profile_never_counts_a_skill_the_item_lacks():
    verdicts = [Verdict(item_id=str(i), skills=("add",), level=1, correct=False,
                        prediction="", missing_skills=("add", "carry", "carry"))
                for i in range(3)]
    rows = {r.skill: r for r in build_profile(verdicts, ["add", "carry"])}
    assert rows["carry"].failed == 0 and rows["carry"].miss_rate == 0.0
    assert rows["add"].failed == 3 and rows["add"].miss_rate == 1.0


def test_the_oracle_records_blame_off_the_item():
    class Wild(SumFamily):
        def attribute(self, item, prediction):
            return ("add", "borrow")

    teacher = OracleTeacher(Wild())
    item = make_item(12, 13)
    assert teacher.diagnose(item, "35", ["add", "carry", "borrow"]) == ("add",)
    [failure] = teacher.failures
    assert "['borrow'] are not skills of the item" in failure.message
    assert failure.raw == "add, borrow"


def test_the_attribution_is_named():
    class Plain(SumFamily):
        attribution = ATTRIBUTION_ALL

    assert ScriptedTeacher([]).attribution == ATTRIBUTION_GRADE == "teacher grade"
    assert OracleTeacher(SumFamily()).attribution == ATTRIBUTION_ERROR_ANALYSIS
    assert OracleTeacher(ArithmeticFamily()).attribution == "oracle error analysis"
    assert OracleTeacher(Plain()).attribution == "all skills of failed items"


@dataclass
class _Report:
    verdicts: tuple

    levels = (LevelStat(level=1, evaluated=1, correct=0, success_rate=0.0),)
    held_out_levels = ()
    accuracy = 0.0
    held_out_accuracy = None

    def profile(self, skills):
        return tuple(build_profile(list(self.verdicts), skills))


def test_the_record_names_attribution_teacher_errors_and_synthesis():
    teacher = ScriptedTeacher(["nonsense"] * MAX_ATTEMPTS)
    start = RoundStart.take(teacher)
    teacher.diagnose(make_item(47, 38), "75", SKILLS)  # never parses: one teacher error
    synthesis = Synthesis(requested=4, proposed=4)
    synthesis.reject("disagreement", 3)
    record = build_record(1, _Report(FAILED), start, skills=SKILLS, teacher=teacher,
                          curriculum_state={}, plan={"entries": []}, probabilities={},
                          scores={}, samples={1: 4}, train_result=None, synthesized=[],
                          notes=[], synthesis=synthesis)
    m = record.metrics
    assert m["attribution"] == "teacher grade"
    assert m["teacher_errors"] == 1 and m["teacher_errors_by_role"] == {"grade": 1}
    assert record.teacher_failures[0]["raw"] == "nonsense"
    assert m["synthesis"]["rejected"]["disagreement"] == 3 and m["synthesis"]["kept"] == 0
    none = build_record(0, _Report(FAILED), RoundStart.take(teacher), skills=SKILLS,
                        teacher=teacher, curriculum_state={}, plan={"entries": []},
                        probabilities={}, scores={}, samples={}, train_result=None,
                        synthesized=[], notes=[])
    assert none.metrics["synthesis"] is None and none.metrics["teacher_errors"] == 0
