"""Teacher prompt roles: default templates, declared variables, and a sandboxed renderer.

Templates use ``{{ name }}`` placeholders and nothing else: no attribute access, no filters,
no calls, no ``{% %}`` tags. Lists (skills, reference items) are formatted into text before
substitution, so a template never sees an object.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workers.engine.errors import EngineError
from workers.engine.tasks.base import Item, SkillInfo

ROLES = ("extract_skills", "label_skills", "grade", "synthesize", "solve", "rate_difficulty")

# A template longer than this, or with more placeholders, is refused before anything else
# (a preview or a "try it" call checks the text on every click).
MAX_TEMPLATE_CHARS = 20_000
MAX_PLACEHOLDERS = 200

_BRACES = re.compile(r"\{\{|\}\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class TemplateError(EngineError):
    """A template that does not validate or render; ``errors`` lists every problem."""

    def __init__(self, role: str, errors: list[str]):
        self.role = role
        self.errors = errors
        super().__init__(f"template for role {role!r}: " + "; ".join(errors))


@dataclass(frozen=True)
class Variable:
    name: str
    help: str

    def to_dict(self) -> dict:
        return {"name": self.name, "help": self.help}


@dataclass(frozen=True)
class RolePrompt:
    """One teacher role: what it is for, its output contract, its variables and default."""

    role: str
    title: str
    contract: str
    variables: tuple[Variable, ...]
    template: str
    example: dict[str, Any] = field(default_factory=dict)

    @property
    def variable_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    def to_dict(self) -> dict:
        return {
            "role": self.role,
            "title": self.title,
            "contract": self.contract,
            "variables": [v.to_dict() for v in self.variables],
            "template": self.template,
        }


_TASK = Variable("task", "The task family's name and description.")
_SKILLS = Variable("skills", "The skill list, one '- name: description' line per skill.")
_QUESTION = Variable("question", "The item's prompt, as the student sees it.")

_EXAMPLE_ITEMS = [
    Item(id="ex-1", prompt="37+45=", answer="82", skills=("add_with_carry",), level=2),
    Item(id="ex-2", prompt="52-17=", answer="35", skills=("subtract_with_borrow",), level=2),
    Item(id="ex-3", prompt="6*7=", answer="42", skills=("multiply_single_digit",), level=1),
]
_EXAMPLE_SKILLS = [
    SkillInfo("add_no_carry", "Add digits whose sum stays below ten."),
    SkillInfo("add_with_carry", "Carry a one into the next column when a column sums to ten+."),
    SkillInfo("subtract_with_borrow", "Borrow from the next column when a digit is too small."),
    SkillInfo("multiply_single_digit", "Multiply two one-digit numbers."),
]
_EXAMPLE_TASK = "arithmetic: multi-digit addition, subtraction and multiplication"

_DEFINITIONS = [
    RolePrompt(
        role="extract_skills",
        title="Extract skills",
        contract="A numbered list, one skill per line: `N. skill_name: description`.",
        variables=(
            _TASK,
            Variable("items", "Sample items of the task (prompt and reference answer)."),
            Variable("max_skills", "The most skills the list may have."),
        ),
        template=(
            "You are an expert teacher. Here are sample items of a task ({{ task }}).\n\n"
            "{{ items }}\n\n"
            "List the distinct skills a student needs to solve items like these, at most "
            "{{ max_skills }} of them. Name each skill in snake_case and describe it in one "
            "sentence.\n"
            "Answer with only a numbered list, one skill per line, exactly like:\n"
            "1. skill_name: description\n"
            "2. other_skill: description"
        ),
        example={"task": _EXAMPLE_TASK, "items": _EXAMPLE_ITEMS, "max_skills": 8},
    ),
    RolePrompt(
        role="label_skills",
        title="Label an item's skills",
        contract="`<skill>a, b</skill>` with 1 to 5 names from the skill list.",
        variables=(
            _TASK,
            _QUESTION,
            Variable("answer", "The item's reference answer."),
            _SKILLS,
        ),
        template=(
            "Task: {{ task }}\n\n"
            "Skills:\n{{ skills }}\n\n"
            "Item:\n{{ question }}\nReference answer: {{ answer }}\n\n"
            "Which skills from the list does this item require? Choose 1 to 5 names, "
            "spelled exactly as in the list.\n"
            "Answer with only: <skill>name_one, name_two</skill>"
        ),
        example={
            "task": _EXAMPLE_TASK,
            "question": "37+45=",
            "answer": "82",
            "skills": _EXAMPLE_SKILLS,
        },
    ),
    RolePrompt(
        role="grade",
        title="Grade a student answer",
        contract=(
            "`<judge>correct|incorrect</judge><reason>...</reason><skill>a, b</skill>` "
            "(the missing skills; at least one when incorrect)."
        ),
        variables=(
            _TASK,
            _QUESTION,
            Variable("reference", "The reference answer."),
            Variable("prediction", "The student's answer."),
            _SKILLS,
        ),
        template=(
            "Task: {{ task }}\n\n"
            "Skills:\n{{ skills }}\n\n"
            "Question:\n{{ question }}\n"
            "Reference answer: {{ reference }}\n"
            "Student answer: {{ prediction }}\n\n"
            "Judge whether the student answer is correct. If it is incorrect, name the skills "
            "from the list the student failed to apply (1 to 5 names, spelled exactly as in "
            "the list); if it is correct, leave the skill tag empty.\n"
            "Answer with only:\n"
            "<judge>correct or incorrect</judge><reason>one or two sentences</reason>"
            "<skill>name_one, name_two</skill>"
        ),
        example={
            "task": _EXAMPLE_TASK,
            "question": "37+45=",
            "reference": "82",
            "prediction": "72",
            "skills": _EXAMPLE_SKILLS,
        },
    ),
    RolePrompt(
        role="synthesize",
        title="Synthesize new items",
        contract="`<reason>...</reason><question>...</question>` repeated once per new item.",
        variables=(
            _TASK,
            Variable("skill", "The skill the new items must require."),
            Variable("skill_description", "That skill's description."),
            Variable("level", "The difficulty level the new items must have."),
            Variable("references", "Reference items with that skill, at that level."),
            Variable("n", "How many new items to propose."),
        ),
        template=(
            "Task: {{ task }}\n\n"
            "A student is weak at the skill '{{ skill }}': {{ skill_description }}\n"
            "Here are items that require it at difficulty level {{ level }}:\n\n"
            "{{ references }}\n\n"
            "Write {{ n }} new items that require the same skill at the same difficulty. "
            "They must be genuinely new problems, not trivial variations of the references, "
            "and written in the same format.\n"
            "For each new item answer with:\n"
            "<reason>why it exercises the skill</reason><question>the new item</question>"
        ),
        example={
            "task": _EXAMPLE_TASK,
            "skill": "add_with_carry",
            "skill_description": _EXAMPLE_SKILLS[1].description,
            "level": 2,
            "references": _EXAMPLE_ITEMS[:1],
            "n": 2,
        },
    ),
    RolePrompt(
        role="solve",
        title="Solve an item",
        contract="A worked answer ending in `<answer>...</answer>`.",
        variables=(_TASK, _QUESTION),
        template=(
            "Task: {{ task }}\n\n"
            "Solve this item step by step:\n{{ question }}\n\n"
            "End with the final answer alone, in the same format the item asks for, as: "
            "<answer>final answer</answer>"
        ),
        example={"task": _EXAMPLE_TASK, "question": "37+45="},
    ),
    RolePrompt(
        role="rate_difficulty",
        title="Rate an item's difficulty",
        contract="`<level>N</level>` with N one of the allowed levels.",
        variables=(
            _TASK,
            _QUESTION,
            Variable("answer", "The item's reference answer."),
            Variable("levels", "The allowed difficulty levels, easiest first."),
        ),
        template=(
            "Task: {{ task }}\n\n"
            "Item:\n{{ question }}\nReference answer: {{ answer }}\n\n"
            "Rate the item's difficulty on this scale (easiest first): {{ levels }}.\n"
            "Answer with only: <level>N</level>"
        ),
        example={"task": _EXAMPLE_TASK, "question": "37+45=", "answer": "82",
                 "levels": [1, 2, 3, 4]},
    ),
]

PROMPTS: dict[str, RolePrompt] = {p.role: p for p in _DEFINITIONS}


def role_prompt(role: str) -> RolePrompt:
    try:
        return PROMPTS[role]
    except KeyError:
        raise TemplateError(role, [f"unknown role (known: {', '.join(ROLES)})"]) from None


def default_template(role: str) -> str:
    return role_prompt(role).template


def prompt_version(text: str) -> str:
    """A short content hash of a template: the version recorded in item lineage."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


@dataclass(frozen=True)
class _Placeholder:
    start: int  # index of its '{{'
    end: int  # index after its '}}'
    inner: str  # the text between them
    line: int


def _scan(text: str) -> tuple[list[_Placeholder], int | None]:
    """Every ``{{ ... }}`` of ``text`` (from a '{{' to the first '}}' after it, so an inner
    '{{' is part of it) and the position of a '{{' left unclosed at the end (or None).

    One pass of one regular expression over the text, lines counted as it goes: linear in
    the length of the text, however many braces it holds."""
    found: list[_Placeholder] = []
    opened: int | None = None
    line, counted = 1, 0
    for match in _BRACES.finditer(text):
        if match.group() == "{{":
            if opened is None:
                opened = match.start()
        elif opened is not None:
            line += text.count("\n", counted, opened)
            counted = opened
            found.append(_Placeholder(opened, match.end(), text[opened + 2:match.start()], line))
            opened = None
    return found, opened


def _size_errors(text: str) -> tuple[list[str], list[_Placeholder], int | None]:
    """The size limits (checked first, before any other work), then the scan."""
    if len(text) > MAX_TEMPLATE_CHARS:
        return [f"the template is {len(text):,} characters long; the limit is "
                f"{MAX_TEMPLATE_CHARS:,} characters"], [], None
    placeholders, unclosed = _scan(text)
    if len(placeholders) > MAX_PLACEHOLDERS:
        return [f"the template has {len(placeholders):,} placeholders; the limit is "
                f"{MAX_PLACEHOLDERS} placeholders"], [], None
    return [], placeholders, unclosed


def _placeholder_error(inner: str) -> str | None:
    name = inner.strip()
    if _NAME.fullmatch(name):
        return None
    shown = "{{" + inner + "}}"
    if not name:
        return f"empty placeholder {shown}"
    if "." in name or "[" in name:
        return f"attribute or item access is not allowed in {shown}; use a plain {{{{ name }}}}"
    if "|" in name:
        return f"filters are not allowed in {shown}"
    if "(" in name:
        return f"calls are not allowed in {shown}"
    if "{{" in name:
        return f"unclosed '{{{{' before {shown}"
    return f"invalid placeholder {shown}; use a plain {{{{ name }}}}"


def validate_template(role: str, text: str) -> list[str]:
    """Every problem with ``text`` as a template for ``role``; empty when it is valid."""
    try:
        known = role_prompt(role).variable_names
    except TemplateError as exc:
        return exc.errors
    errors, placeholders, unclosed = _size_errors(text)
    if errors:
        return errors
    if not text.strip():
        errors.append("the template is empty")
    for tag, what in (("{%", "template tags ({% ... %})"), ("{#", "template comments ({# ... #})")):
        pos = text.find(tag)
        if pos >= 0:
            errors.append(f"line {_line(text, pos)}: {what} are not allowed; only {{{{ name }}}}")
    unknown: list[str] = []
    for placeholder in placeholders:
        inner, line = placeholder.inner, placeholder.line
        problem = _placeholder_error(inner)
        if problem:
            errors.append(f"line {line}: {problem}")
            continue
        name = inner.strip()
        if name not in known and name not in unknown:
            unknown.append(name)
            errors.append(
                f"line {line}: unknown variable '{name}' (known: {', '.join(known)})"
            )
    if unclosed is not None:
        errors.append(f"line {_line(text, unclosed)}: unclosed '{{{{'")
    return errors


def format_value(value: Any) -> str:
    """Turn a context value into the text substituted for its placeholder."""
    if isinstance(value, str):
        return value
    if isinstance(value, (Item, SkillInfo)):
        return format_value([value])
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, Item) for v in value):
            return "\n\n".join(
                f"Item {i}:\n{it.prompt}\nAnswer: {it.answer}" for i, it in enumerate(value, 1)
            )
        if value and all(isinstance(v, SkillInfo) for v in value):
            return "\n".join(
                f"- {s.name}: {s.description}" if s.description else f"- {s.name}" for s in value
            )
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return ", ".join(str(v) for v in value)
        return "\n".join(f"- {v}" for v in value)
    if value is None:
        return ""
    return str(value)


def render(role: str, text: str, context: Mapping[str, Any]) -> str:
    """Render ``text`` for ``role``; raises :class:`TemplateError` naming every problem."""
    errors = validate_template(role, text)
    if errors:
        raise TemplateError(role, errors)
    placeholders, _ = _scan(text)
    used = {p.inner.strip() for p in placeholders}
    missing = sorted(used - set(context))
    if missing:
        raise TemplateError(role, [f"no value given for variable '{n}'" for n in missing])
    values = {name: format_value(context[name]) for name in used}
    # One pass over the original text: substituted values are never re-scanned, so a value
    # that itself contains '{{ x }}' (a student answer, say) is inserted literally.
    parts, pos = [], 0
    for p in placeholders:
        parts += [text[pos:p.start], values[p.inner.strip()]]
        pos = p.end
    parts.append(text[pos:])
    return "".join(parts)


def render_example(role: str, text: str | None = None) -> str:
    """Preview: ``text`` (or the default) rendered with the role's example context."""
    prompt = role_prompt(role)
    return render(role, prompt.template if text is None else text, prompt.example)
