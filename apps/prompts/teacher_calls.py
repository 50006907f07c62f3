"""Calls to a teacher: "test connection" and "try it" (made while a person waits) and the
skill extraction job (made by the default-queue worker).

The web builds only the oracle and OpenAI-compatible teachers: a local model (hf_local)
needs torch, which the web process never loads, so for it the web checks the model
directory and leaves loading to the workers. Interactive calls get no retries and a
timeout of at most ``CALL_TIMEOUT_CAP`` seconds.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from apps.accounts.models import Role
from apps.accounts.permissions import require_role
from apps.projects.models import Example, Project, Skill
from apps.prompts.models import TeacherConfig, TeacherKind
from apps.prompts.selectors import (
    example_for_preview,
    prompt_context,
    prompt_versions_current,
    task_text,
)
from apps.prompts.services import check_teacher_fields, stored_key_usable
from apps.runs.model_paths import MODEL_DIR_REFUSED, model_dir_for_worker, model_dir_resolve
from workers.engine.api import (
    MAX_ATTEMPTS,
    EngineError,
    Item,
    ParseError,
    TaskFamily,
    Teacher,
    TeacherError,
    TeacherSpec,
    TemplateError,
    build_family,
    build_interactive_teacher,
    default_template,
    parsers,
    render,
)

logger = logging.getLogger(__name__)

CALL_TIMEOUT_CAP = 15.0
STORED_KEY_WITHHELD = ("The stored API key goes only to the base URL it was saved with, so "
                       "this call was made without a key. Type the key to use it with this "
                       "URL; saving without one removes the stored key.")
TEACHER_FIELDS = ("kind", "base_url", "model", "api_key", "model_dir", "timeout_s",
                  "max_retries", "concurrency")

TeacherBuilder = Callable[[TeacherSpec, TaskFamily], Teacher]


@dataclass(frozen=True)
class TeacherCall:
    """One teacher call as the page shows it: the prompt sent, the raw answer, and what
    the role's parser made of it (or why it could not)."""

    role: str
    prompt: str = ""
    raw: str = ""
    parsed: list[str] = field(default_factory=list)
    error: str = ""
    parse_error: str = ""
    seconds: float = 0.0
    note: str = ""
    warning: str = ""  # shown above the result, e.g. that the stored key was not sent

    @property
    def ok(self) -> bool:
        return not self.error and not self.parse_error


def teacher_spec(
    teacher: TeacherConfig | Mapping[str, Any], *, prompts: Mapping[str, str] | None = None,
    interactive: bool = False,
) -> TeacherSpec:
    """The engine's TeacherSpec for a stored teacher (or the fields of a form), with the
    outbound allow list of ``STUDIO_TEACHER_ALLOWED_HOSTS``."""
    if isinstance(teacher, TeacherConfig):
        values = {name: getattr(teacher, name) for name in TEACHER_FIELDS}
    else:
        values = {name: teacher[name] for name in TEACHER_FIELDS if name in teacher}
    spec = TeacherSpec(**values, prompts=dict(prompts or {}),
                       allowed_hosts=tuple(getattr(settings, "STUDIO_TEACHER_ALLOWED_HOSTS",
                                                   ())))
    if interactive:
        spec = TeacherSpec(**{**spec.__dict__, "timeout_s": min(spec.timeout_s, CALL_TIMEOUT_CAP),
                              "max_retries": 0})
    return spec


def redact(text: str, secret: str) -> str:
    """``text`` with every occurrence of ``secret`` replaced (an error or answer that echoes
    the request's headers must not show the key). A "key" of a few characters is no secret
    (local servers take any) and replacing it would mangle ordinary text."""
    return text.replace(secret, "[redacted]") if len(secret) >= 8 and text else text


def build_web_teacher(spec: TeacherSpec, family: TaskFamily) -> Teacher:
    """An oracle or OpenAI-compatible teacher (the kinds the web may call itself), with no
    back-off between attempts: a person is waiting."""
    return build_interactive_teacher(spec, family, backoff_base=0.0)


def parse_for_role(role: str, raw: str, *, skills: list[str], levels: list[int]) -> list[str]:
    """What the role's strict parser reads in ``raw``, as lines of text."""
    if role == "extract_skills":
        return [f"{name}: {description}" for name, description
                in parsers.parse_extract_skills(raw)]
    if role == "label_skills":
        return [f"skills: {', '.join(parsers.parse_label_skills(raw, skills))}"]
    if role == "grade":
        grade = parsers.parse_grade(raw, skills)
        return [f"judge: {'correct' if grade.correct else 'incorrect'}",
                f"reason: {grade.reason}",
                f"missing skills: {', '.join(grade.missing_skills) or '(none)'}"]
    if role == "synthesize":
        return [f"question: {p.question} (reason: {p.reason})"
                for p in parsers.parse_synthesize(raw)]
    if role == "solve":
        return [f"answer: {parsers.parse_solve(raw).answer}"]
    if role == "rate_difficulty":
        return [f"level: {parsers.parse_rate_difficulty(raw, levels)}"]
    raise TemplateError(role, ["unknown role"])


def _names_and_levels(project: Project) -> tuple[list[str], list[int]]:
    names = list(Skill.objects.filter(project=project).order_by("name")
                 .values_list("name", flat=True))
    levels = sorted(set(Example.objects.filter(project=project)
                        .values_list("level", flat=True).distinct()))
    return names, levels


def _call(
    *, spec: TeacherSpec, project: Project, role: str, prompt: str,
    build: TeacherBuilder = build_web_teacher,
) -> TeacherCall:
    started = time.monotonic()

    def clean(text: str) -> str:  # the key never reaches the page or the log
        return redact(text, spec.api_key)

    try:
        family = build_family(project.task_family, project.task_options)
        raw = clean(build(spec, family).call_raw(role, prompt))
    except EngineError as exc:
        # A failed call shows its error (HTTP status and error class, or the outbound
        # refusal), never the body it got back: a page must not relay what a server said.
        return TeacherCall(role, prompt, error=clean(str(exc)),
                           seconds=time.monotonic() - started)
    except Exception as exc:  # a client error the engine does not wrap: show it, log it
        logger.error("teacher call for project %s failed: %s", project.pk,
                     clean("".join(traceback.format_exception(exc))))
        return TeacherCall(role, prompt, error=clean(f"{type(exc).__name__}: {exc}"),
                           seconds=time.monotonic() - started)
    seconds = time.monotonic() - started
    skills, levels = _names_and_levels(project)
    try:
        parsed = parse_for_role(role, raw, skills=skills, levels=levels)
    except ParseError as exc:
        return TeacherCall(role, prompt, raw=raw, parse_error=exc.message, seconds=seconds)
    return TeacherCall(role, prompt, raw=raw, parsed=parsed, seconds=seconds)


def _check_model_dir(model_dir: str, *, team_id: int) -> TeacherCall:
    path = model_dir_resolve(model_dir, team_id=team_id)
    if path is None:  # one answer for missing and forbidden: no probing of the filesystem
        return TeacherCall("solve", error=MODEL_DIR_REFUSED)
    if not (path / "config.json").is_file():
        return TeacherCall("solve", error=f"model directory {model_dir!r} has no config.json; "
                                          "is it a Hugging Face model directory?")
    files = sorted(p.name for p in path.iterdir())[:12]
    return TeacherCall("solve", note=f"found a model in {model_dir}: {', '.join(files)}. "
                                     "The workers load it when a job needs it.")


def teacher_test_connection(
    *, user, project: Project, fields: Mapping[str, Any], teacher: TeacherConfig | None = None
) -> TeacherCall:
    """One real ``solve`` call with the given settings, on a real example of the project.

    A blank API key uses the key stored on ``teacher`` (when editing one) only while kind
    and base URL are the stored ones; with another endpoint the call goes without a key and
    the result says so (the stored key is never sent to a URL it was not saved for).
    Saves nothing.
    """
    require_role(user, project.team, Role.EDITOR)
    values = {name: fields[name] for name in TEACHER_FIELDS if name in fields}
    check_teacher_fields(**{k: values.get(k, d) for k, d in (
        ("kind", TeacherKind.ORACLE), ("base_url", ""), ("model", ""), ("model_dir", ""),
        ("timeout_s", 60.0), ("max_retries", 3), ("concurrency", 4))})
    warning = ""
    if not values.get("api_key") and teacher is not None and teacher.has_api_key:
        if stored_key_usable(teacher, kind=values.get("kind", TeacherKind.ORACLE),
                             base_url=values.get("base_url", "")):
            values["api_key"] = teacher.api_key
        else:
            warning = STORED_KEY_WITHHELD
    if values.get("kind") == TeacherKind.HF_LOCAL:
        return _check_model_dir(values.get("model_dir", ""), team_id=project.team_id)
    example = example_for_preview(project=project)
    if example is None:
        context = {"task": project.task_family, "question": "What is 2+3?"}
    else:
        context = prompt_context(project=project, role="solve", example=example)
    current = prompt_versions_current(project=project).get("solve")
    template = current.template if current else default_template("solve")
    prompt = render("solve", template, context)
    result = _call(spec=teacher_spec(values, interactive=True), project=project, role="solve",
                   prompt=prompt)
    return replace(result, warning=warning) if warning else result


def prompt_try(
    *, user, project: Project, teacher: TeacherConfig, role: str, template: str,
    example: Example, prediction: str = "",
) -> TeacherCall:
    """Render ``template`` on ``example``, call ``teacher`` once, parse the answer."""
    require_role(user, project.team, Role.EDITOR)
    if teacher.project_id != project.pk:
        raise ValidationError({"teacher": f"teacher {teacher.name!r} belongs to another project"})
    context = prompt_context(project=project, role=role, example=example, prediction=prediction)
    try:
        prompt = render(role, template, context)
    except TemplateError as exc:
        raise ValidationError({"template": exc.errors}) from None
    if teacher.kind == TeacherKind.HF_LOCAL:
        return TeacherCall(role, prompt, error="a local model (hf_local) is loaded by the "
                                               "workers; try the prompt with an oracle or "
                                               "OpenAI-compatible teacher")
    spec = teacher_spec(teacher, prompts={role: template}, interactive=True)
    return _call(spec=spec, project=project, role=role, prompt=prompt)


def extract_skill_proposals(
    *, project: Project, teacher: TeacherConfig, template: str, items: list[Item],
    build: TeacherBuilder = build_web_teacher, max_skills: int = 12,
) -> tuple[list[tuple[str, str]], str]:
    """``([(name, description)], raw)`` from the ``extract_skills`` role on ``items``.

    An unparsable answer is asked again, up to the engine's attempt limit; then a
    :class:`TeacherError` carries the last raw text.
    """
    family = build_family(project.task_family, project.task_options)
    context = prompt_context_for_items(project=project, items=items, max_skills=max_skills)
    prompt = render("extract_skills", template, context)
    spec = teacher_spec(teacher, prompts={"extract_skills": template})
    if spec.kind == TeacherKind.HF_LOCAL:  # checked again right before the worker loads it
        spec = replace(spec, model_dir=model_dir_for_worker(spec.model_dir,
                                                            team_id=project.team_id))
    teacher_obj = build(spec, family)
    raw, message = "", ""
    for _ in range(MAX_ATTEMPTS):
        raw = redact(teacher_obj.call_raw("extract_skills", prompt), spec.api_key)
        try:
            return parsers.parse_extract_skills(raw), raw
        except ParseError as exc:
            message = exc.message
    raise TeacherError("extract_skills",
                       f"no valid answer after {MAX_ATTEMPTS} attempts: {message}", raw)


def prompt_context_for_items(*, project: Project, items: list[Item], max_skills: int) -> dict:
    return {"task": task_text(project), "items": items, "max_skills": max_skills}
