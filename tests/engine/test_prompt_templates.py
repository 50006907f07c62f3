import pytest

from workers.engine.tasks.base import Item, SkillInfo
from workers.engine.teachers import prompts
from workers.engine.teachers.prompts import TemplateError, render, validate_template


@pytest.mark.parametrize("role", prompts.ROLES)
def test_default_templates_validate_and_use_every_declared_variable(role):
    prompt = prompts.role_prompt(role)
    assert validate_template(role, prompt.template) == []
    used = {v for v in prompt.variable_names if "{{ " + v + " }}" in prompt.template}
    assert used == set(prompt.variable_names)
    assert all(v.help for v in prompt.variables)


@pytest.mark.parametrize("role", prompts.ROLES)
def test_example_context_renders_every_default(role):
    text = prompts.render_example(role)
    assert "{{" not in text and "}}" not in text
    assert set(prompts.role_prompt(role).example) == set(prompts.role_prompt(role).variable_names)


def test_unknown_variable_is_named_with_the_known_ones():
    errors = validate_template("solve", "Solve {{ question }} for {{ student_name }}")
    assert errors == [
        "line 1: unknown variable 'student_name' (known: task, question)"
    ]


def test_unknown_variable_reported_once_with_its_line():
    errors = validate_template("solve", "{{ x }}\n{{ x }}\n{{ question }}")
    assert errors == ["line 1: unknown variable 'x' (known: task, question)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ question", "line 1: unclosed '{{'"),
        ("a\n{{ question }} {{ task", "line 2: unclosed '{{'"),
        ("{{ question.upper }}", "attribute or item access is not allowed"),
        ("{{ question['x'] }}", "attribute or item access is not allowed"),
        ("{{ question|upper }}", "filters are not allowed"),
        ("{{ range(3) }}", "calls are not allowed"),
        ("{{ }}", "empty placeholder"),
        ("{% for x in y %}{{ question }}{% endfor %}", "template tags ({% ... %}) are not allowed"),
        ("{# note #}{{ question }}", "template comments ({# ... #}) are not allowed"),
        ("{{ a {{ question }}", "unclosed '{{' before"),
        ("   ", "the template is empty"),
    ],
)
def test_syntax_errors(text, expected):
    errors = validate_template("solve", text)
    assert any(expected in e for e in errors), errors


def test_unknown_role():
    assert validate_template("poem", "{{ x }}") == [
        "unknown role (known: extract_skills, label_skills, grade, synthesize, solve, "
        "rate_difficulty)"
    ]


def test_render_substitutes_plain_names_with_any_spacing():
    text = render("solve", "T={{task}} Q={{   question }}!", {"task": "sums", "question": "1+2="})
    assert text == "T=sums Q=1+2=!"


def test_render_formats_lists_before_substitution():
    items = [Item("a", "1+2=", "3", ("add",), 1), Item("b", "5+5=", "10", ("add", "carry"), 1)]
    skills = [SkillInfo("add", "add digits"), SkillInfo("carry")]
    out = render("extract_skills", "{{ items }}|{{ max_skills }}", {"items": items,
                                                                   "max_skills": 4})
    assert out == "Item 1:\n1+2=\nAnswer: 3\n\nItem 2:\n5+5=\nAnswer: 10|4"
    out = render("grade", "{{ skills }}", {"skills": skills})
    assert out == "- add: add digits\n- carry"
    assert render("rate_difficulty", "{{ levels }}", {"levels": [1, 2, 3]}) == "1, 2, 3"
    assert render("grade", "{{ skills }}", {"skills": ["add", "carry"]}) == "- add\n- carry"


def test_render_never_expands_placeholders_inside_values():
    out = render("grade", "{{ prediction }} / {{ reference }}",
                 {"prediction": "{{ reference }}", "reference": "42"})
    assert out == "{{ reference }} / 42"


def test_render_refuses_invalid_templates_and_missing_values():
    with pytest.raises(TemplateError, match="unknown variable 'secret'"):
        render("solve", "{{ secret }}", {"secret": "x"})
    with pytest.raises(TemplateError, match="no value given for variable 'question'"):
        render("solve", "{{ question }}", {})


def test_prompt_version_is_a_content_hash():
    a = prompts.prompt_version("x {{ question }}")
    assert a == prompts.prompt_version("x {{ question }}")
    assert a != prompts.prompt_version("y {{ question }}")
    assert len(a) == 12


def test_role_prompt_to_dict_lists_variables_for_the_editor():
    data = prompts.role_prompt("grade").to_dict()
    assert [v["name"] for v in data["variables"]] == [
        "task", "question", "reference", "prediction", "skills"]
    assert data["contract"].startswith("`<judge>")


# --- size limits: the check is linear and refuses huge templates first ----------------------

def test_a_template_over_the_size_limit_is_refused_naming_the_limit():
    text = "{{ question }}" + "x" * (prompts.MAX_TEMPLATE_CHARS - len("{{ question }}"))
    assert validate_template("solve", text) == []
    errors = validate_template("solve", text + "x")
    assert errors == [f"the template is {prompts.MAX_TEMPLATE_CHARS + 1:,} characters long; "
                      f"the limit is {prompts.MAX_TEMPLATE_CHARS:,} characters"]


def test_more_placeholders_than_the_limit_are_refused_naming_the_limit():
    limit = prompts.MAX_PLACEHOLDERS
    assert validate_template("solve", "{{ question }}" * limit) == []
    errors = validate_template("solve", "{{ question }}" * (limit + 1))
    assert errors == [f"the template has {limit + 1} placeholders; the limit is {limit} "
                      "placeholders"]
    with pytest.raises(TemplateError, match=f"the limit is {limit} placeholders"):
        render("solve", "{{ question }}" * (limit + 1), {"question": "q"})


@pytest.mark.parametrize("text", ["{{ x }}" * 200_000, "{{" * 200_000, "{{ a }}\n" * 200_000])
def test_200000_placeholders_are_refused(text):
    """A viewer's preview of such a text took a minute (the check was quadratic)."""
    errors = validate_template("grade", text)
    assert len(errors) == 1 and "the limit is 20,000 characters" in errors[0]
    with pytest.raises(TemplateError, match="the limit is 20,000 characters"):
        render("grade", text, {})


@pytest.mark.timeout(30)
def test_the_scan_is_one_linear_pass():
    """200,000 placeholders on as many lines: one pass (lines counted as it goes)."""
    found, unclosed = prompts._scan("{{ question }}\n" * 200_000 + "{{ tail")
    assert len(found) == 200_000 and found[-1].line == 200_000 and unclosed is not None
    found, unclosed = prompts._scan("{{" * 200_000 + "}}")
    assert len(found) == 1 and unclosed is None
