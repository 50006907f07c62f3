"""Teachers (oracle, openai, hf_local), prompt templates and strict output parsers.

``build_teacher(spec, family)`` is the one entry point; importing this package never imports
torch, transformers or the openai client (they are loaded when such a teacher is built).
"""

from __future__ import annotations

from workers.engine.errors import SpecError
from workers.engine.spec import TeacherSpec
from workers.engine.tasks.base import TaskFamily
from workers.engine.teachers import prompts
from workers.engine.teachers.base import (
    LLMTeacher,
    Teacher,
    TeacherFailure,
    TeacherUsage,
    map_concurrent,
)
from workers.engine.teachers.parsers import ParseError

TEACHER_KINDS = ("oracle", "openai", "hf_local")

__all__ = [
    "TEACHER_KINDS",
    "LLMTeacher",
    "ParseError",
    "Teacher",
    "TeacherFailure",
    "TeacherUsage",
    "build_teacher",
    "check_prompts",
    "map_concurrent",
]


def check_prompts(custom: dict) -> None:
    """Raise :class:`SpecError` naming the first bad role or template in ``custom``."""
    for role, text in custom.items():
        field = f"spec.teacher.prompts.{role}"
        if role not in prompts.ROLES:
            raise SpecError(field, f"unknown role (known: {', '.join(prompts.ROLES)})")
        if not isinstance(text, str):
            raise SpecError(field, "must be template text")
        errors = prompts.validate_template(role, text)
        if errors:
            raise SpecError(field, "; ".join(errors))


def build_teacher(spec: TeacherSpec, family: TaskFamily, **options) -> Teacher:
    """The teacher ``spec`` describes, for ``family``.

    ``options`` go to the teacher class (e.g. ``backoff_base`` for openai, ``max_new_tokens``
    and ``device`` for hf_local).
    """
    check_prompts(spec.prompts)
    if spec.kind == "oracle":
        from workers.engine.teachers.oracle import OracleTeacher

        return OracleTeacher(family, concurrency=spec.concurrency, **options)
    if spec.kind == "openai":
        from workers.engine.teachers.openai_teacher import OpenAITeacher

        return OpenAITeacher(spec, family, **options)
    if spec.kind == "hf_local":
        from workers.engine.teachers.hf_local import HFLocalTeacher

        return HFLocalTeacher(spec, family, **options)
    raise SpecError("spec.teacher.kind", f"unknown teacher {spec.kind!r} "
                                         f"(known: {', '.join(TEACHER_KINDS)})")
