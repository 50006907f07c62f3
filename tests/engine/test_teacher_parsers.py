import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.engine.errors import EngineError
from workers.engine.teachers import parsers
from workers.engine.teachers.parsers import (
    Grade,
    ParseError,
    Proposal,
    parse_extract_skills,
    parse_grade,
    parse_label_skills,
    parse_rate_difficulty,
    parse_solve,
    parse_synthesize,
)

SKILLS = ["add", "carry", "Long Division"]


def test_parse_error_is_an_engine_error_naming_the_role():
    err = ParseError("grade", "boom", raw="xyz")
    assert isinstance(err, EngineError)
    assert str(err) == "grade: boom"
    assert err.raw == "xyz"


# -- extract_skills -----------------------------------------------------------------------

def test_extract_skills_numbered_list():
    text = "1. add: add digits\n\n2. carry_over: carry a ten: to the left\n3) Long Division: x\n"
    assert parse_extract_skills(text) == [
        ("add", "add digits"), ("carry_over", "carry a ten: to the left"),
        ("Long Division", "x"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the answer is empty"),
        ("Here are the skills:\n1. add: x", "line 1 'Here are the skills:' is not of the form"),
        ("1. add: x\n3. carry: y", "line 2 is numbered 3; expected 2"),
        ("1. add:", "line 1: skill 'add' has no description"),
        ("1. add:   ", "line 1: skill 'add' has no description"),
        ("1. add: x\n2. ADD: y", "skill 'ADD' is listed twice"),
        ("1. **add**: x", "is not a valid skill name"),
        ("1. add x", "is not of the form"),
    ],
)
def test_extract_skills_errors(text, message):
    with pytest.raises(ParseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_extract_skills(text)


# -- label_skills -------------------------------------------------------------------------

def test_label_skills_matches_case_insensitively_and_returns_list_spelling():
    assert parse_label_skills("  <skill> ADD ,long division </skill>\n", SKILLS) == (
        "add", "Long Division")
    assert parse_label_skills("<SKILL>carry, Carry</SKILL>", SKILLS) == ("carry",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<skill>add, foo</skill>", "skill 'foo' is not in the skill list"),
        ("<skill></skill>", "no skill named"),
        ("<skill>add,,carry</skill>", "empty skill name"),
        ("The skills are <skill>add</skill>", "unexpected text 'The skills are"),
        ("<skill>add</skill> because", "unexpected text 'because'"),
        ("<skill>add</skill><skill>carry</skill>", "expected one <skill> tag, got 2"),
        ("<skill>add", "tag <skill> is not closed properly"),
        ("<skill>a<skill>b</skill>", "tags may not be nested"),
        ("add, carry", "unexpected text"),
    ],
)
def test_label_skills_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse_label_skills(text, SKILLS)


def test_label_skills_at_most_five():
    many = [f"s{i}" for i in range(6)]
    with pytest.raises(ParseError, match="6 skills named; at most 5"):
        parse_label_skills(f"<skill>{', '.join(many)}</skill>", many)


# -- grade --------------------------------------------------------------------------------

def test_grade_incorrect_with_missing_skills():
    text = "<judge>incorrect</judge>\n<reason>dropped the carry</reason>\n<skill>Carry</skill>"
    assert parse_grade(text, SKILLS) == Grade(False, "dropped the carry", ("carry",))


def test_grade_correct_may_name_no_skill():
    assert parse_grade("<judge> Correct </judge><reason>ok</reason><skill></skill>", SKILLS) == (
        Grade(True, "ok", ()))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<judge>incorrect</judge><reason>r</reason><skill></skill>", "at least one missing"),
        ("<judge>incorrect</judge><reason>r</reason><skill>foo</skill>",
         "skill 'foo' is not in the skill list"),
        ("<judge>maybe</judge><reason>r</reason><skill>add</skill>",
         "<judge> must be 'correct' or 'incorrect'"),
        ("<reason>r</reason><judge>incorrect</judge><skill>add</skill>", "in that order"),
        ("<judge>incorrect</judge><skill>add</skill>", "in that order"),
        ("<judge>incorrect</judge><reason>r</reason><skill>add</skill><skill>add</skill>",
         "in that order"),
    ],
)
def test_grade_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse_grade(text, SKILLS)


# -- synthesize ---------------------------------------------------------------------------

def test_synthesize_repeated_pairs():
    text = "<reason>two carries</reason><question>58+67=</question>\n" \
           "<reason>one carry</reason>\n<question>19+3=</question>"
    assert parse_synthesize(text) == [Proposal("two carries", "58+67="),
                                      Proposal("one carry", "19+3=")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<reason>r</reason>", "every <reason> must be followed by its <question>"),
        ("<question>q</question><reason>r</reason>", "item 1: expected <reason> then"),
        ("<reason>r</reason><question> </question>", "item 1: the question is empty"),
        ("<reason></reason><question>q</question>", "item 1: the reason is empty"),
        ("Sure! <reason>r</reason><question>q</question>", "unexpected text"),
    ],
)
def test_synthesize_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse_synthesize(text)


# -- solve --------------------------------------------------------------------------------

def test_solve_worked_answer():
    solution = parse_solve("7+5 is 12, write 2 carry 1.\n<answer> 12 </answer>\n")
    assert solution.answer == "12"
    assert solution.work == "7+5 is 12, write 2 carry 1."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("the answer is 12", "no <answer>"),
        ("<answer>12</answer> done", "must end with <answer>"),
        ("<answer>1</answer><answer>2</answer>", "expected one <answer> tag, got 2"),
        ("<answer>  </answer>", "the <answer> tag is empty"),
        ("<answer>12", "must end with"),
    ],
)
def test_solve_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse_solve(text)


# -- rate_difficulty ----------------------------------------------------------------------

def test_rate_difficulty():
    assert parse_rate_difficulty("<level> 3 </level>", [1, 2, 3]) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<level>4</level>", r"level 4 is not on the scale \(1, 2, 3\)"),
        ("<level>two</level>", "must hold a whole number"),
        ("<level>2.5</level>", "must hold a whole number"),
        ("<level>" + "9" * 5000 + "</level>", "must hold a whole number"),
        ("Level: 2", "unexpected text"),
    ],
)
def test_rate_difficulty_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse_rate_difficulty(text, [1, 2, 3])


# -- no answer crashes a parser -----------------------------------------------------------

_TAGGY = st.lists(
    st.one_of(
        st.sampled_from([
            "<skill>", "</skill>", "<judge>", "</judge>", "<reason>", "</reason>",
            "<question>", "</question>", "<answer>", "</answer>", "<level>", "</level>",
            "correct", "incorrect", "add", "carry", "Long Division", ", ", "\n", "1. ", ": ",
            "2) ", "3", "-1", "٣", "  ", "<", ">", "/",
        ]),
        st.text(max_size=8),
    ),
    max_size=25,
).map("".join)
ANSWERS = st.one_of(st.text(max_size=200), _TAGGY)

PARSERS = {
    "extract_skills": parse_extract_skills,
    "label_skills": lambda t: parse_label_skills(t, SKILLS),
    "grade": lambda t: parse_grade(t, SKILLS),
    "synthesize": parse_synthesize,
    "solve": parse_solve,
    "rate_difficulty": lambda t: parse_rate_difficulty(t, [1, 2, 3]),
}


def _check_valid(role, result):
    lower = {s.casefold() for s in SKILLS}
    if role == "extract_skills":
        assert result and all(name and desc for name, desc in result)
    elif role == "label_skills":
        assert 1 <= len(result) <= 5 and all(s in SKILLS for s in result)
    elif role == "grade":
        assert all(s in SKILLS for s in result.missing_skills)
        assert result.correct or result.missing_skills
        assert {s.casefold() for s in result.missing_skills} <= lower
    elif role == "synthesize":
        assert result and all(p.question and p.reason for p in result)
    elif role == "solve":
        assert result.answer
    else:
        assert result in (1, 2, 3)


@pytest.mark.parametrize("role", sorted(PARSERS))
@settings(max_examples=300, deadline=None)
@given(text=ANSWERS)
def test_no_answer_crashes_a_parser(role, text):
    try:
        result = PARSERS[role](text)
    except ParseError as exc:
        assert exc.role == role and exc.message
    else:
        _check_valid(role, result)


def test_normalize_answer():
    assert parsers.normalize_answer("  The  Answer\n12 ") == "the answer 12"
