"""The engine's one public surface: everything outside ``workers/engine/`` uses this module
and nothing else of the engine (import-linter checks it for ``apps`` and ``workers.tasks``).

Three parts:

- **the catalog**: task families, curriculum strategies with their parameter schemas,
  teacher roles with their templates and output contracts (parsers);
- **specs**: building and validating the frozen ``RunSpec`` a run is launched with, and the
  errors that name the wrong field;
- **run entry points**: the round loop, the hooks a worker implements and the records it
  receives, and the teacher builder for worker-side teacher jobs.

Importing this module never imports torch: the web imports it. The entry points that need
torch (``run_loop``, ``build_teacher`` for a local model) import it when called, and only
workers call them; ``tests/apps/test_web_imports.py`` checks that a web process that has
imported every app still has no torch loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.engine.checkpoint import is_complete as checkpoint_is_complete
from workers.engine.curriculum import STRATEGIES, get_strategy
from workers.engine.curriculum.base import Param, ParamError, Strategy, validate_params
from workers.engine.errors import (
    EngineError,
    ItemError,
    ModelLoadError,
    OutboundBlocked,
    RunCancelled,
    SkillError,
    SpecError,
    TeacherError,
    WaitForReview,
)
from workers.engine.profile import LevelStat, SkillStat
from workers.engine.records import ProgressEvent, ReviewState, RoundRecord, RunHooks, RunSummary
from workers.engine.spec import RunSpec, TeacherSpec
from workers.engine.splits import normalize_prompt, overlap, problem_key
from workers.engine.tasks.base import Item, SkillInfo, TaskFamily
from workers.engine.tasks.jsonl import ANSWER_MODES, parse_jsonl
from workers.engine.tasks.registry import FAMILIES, FamilyInfo, build_family
from workers.engine.teachers import parsers
from workers.engine.teachers.base import MAX_ATTEMPTS, Teacher
from workers.engine.teachers.outbound import check_url
from workers.engine.teachers.parsers import ParseError
from workers.engine.teachers.prompts import (
    ROLES,
    TemplateError,
    default_template,
    render,
    role_prompt,
    validate_template,
)

__all__ = [
    "checkpoint_is_complete",
    # catalog: task families
    "ANSWER_MODES", "FAMILIES", "FamilyInfo", "Item", "SkillInfo", "TaskFamily",
    "build_family", "family_skills", "parse_jsonl",
    # disjoint splits: one notion of "the same problem" for the engine and the web
    "normalize_prompt", "overlap", "problem_key",
    # catalog: curriculum strategies
    "STRATEGIES", "Param", "ParamError", "Strategy", "StrategyInfo", "get_strategy",
    "strategy_catalog", "validate_params",
    # catalog: teacher roles, templates, output contracts
    "MAX_ATTEMPTS", "ROLES", "ParseError", "Teacher", "TemplateError", "build_interactive_teacher",
    "build_teacher", "default_template", "parsers", "render", "role_prompt",
    "validate_template",
    # the outbound policy of teacher calls
    "OutboundBlocked", "check_url",
    # specs and errors
    "EngineError", "ItemError", "ModelLoadError", "RunCancelled", "RunSpec", "SkillError",
    "SpecError", "TeacherError", "TeacherSpec",
    # run entry points and what they report
    "LevelStat", "ProgressEvent", "ReviewState", "RoundRecord", "RunHooks", "RunSummary",
    "SkillStat", "WaitForReview", "run_loop",
]


# -- catalog ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StrategyInfo:
    """A curriculum strategy as the browser shows it: name, description, parameter form."""

    name: str
    description: str
    params: tuple[dict, ...]


def strategy_catalog() -> list[StrategyInfo]:
    """Every strategy the engine knows, by name."""
    return [StrategyInfo(name, cls.description, tuple(p.to_dict() for p in cls.params))
            for name, cls in sorted(STRATEGIES.items())]


def family_skills(family_name: str, options: dict[str, Any] | None = None) -> list[dict]:
    """The skills a task family builds in, as ``{name, description, parent}`` rows."""
    family = build_family(family_name, dict(options or {}))
    return [{"name": s.name, "description": s.description, "parent": s.parent}
            for s in family.skills()]


def build_interactive_teacher(spec: TeacherSpec, family: TaskFamily,
                              **options: Any) -> Teacher:
    """An oracle or OpenAI-compatible teacher: the kinds a web page may call while a person
    waits. A local model (``hf_local``) needs torch and is loaded by the workers only."""
    if spec.kind == "oracle":
        from workers.engine.teachers.oracle import OracleTeacher

        return OracleTeacher(family)
    if spec.kind == "openai":
        from workers.engine.teachers.openai_teacher import OpenAITeacher

        return OpenAITeacher(spec, family, **options)
    raise TeacherError("call", f"a {spec.kind} teacher is loaded by the workers, not by the "
                               "web page; its model directory is checked instead")


# -- run entry points (workers only: these may import torch) -----------------------------
def build_teacher(spec: TeacherSpec, family: TaskFamily, **options: Any) -> Teacher:
    """Any teacher ``spec`` describes, local models included (worker-side teacher jobs)."""
    from workers.engine.teachers import build_teacher as build

    return build(spec, family, **options)


def run_loop(spec: RunSpec, *, artifacts_dir: Path, hooks: RunHooks | None = None,
             resume_round: int | None = None, pool: list[Item] | None = None,
             eval_items: list[Item] | None = None) -> RunSummary:
    """Run (or resume after ``resume_round``) the whole round loop of ``spec``; see
    :func:`workers.engine.loop.run_loop`."""
    from workers.engine.loop import run_loop as loop

    return loop(spec, artifacts_dir=artifacts_dir, hooks=hooks, resume_round=resume_round,
                pool=pool, eval_items=eval_items)


def preload() -> None:
    """Import torch and the round loop now (a GPU worker's pool process at start-up), so a
    launched run reaches its first step without the import wait."""
    import workers.engine.loop  # noqa: F401
