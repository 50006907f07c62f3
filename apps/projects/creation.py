"""Creating a project from a task family in one step.

The project, its skills and its seed examples are saved together or not at all. A JSONL
upload is checked first (every bad line reported, nothing saved) and kept under
``STUDIO_DATA_DIR/uploads`` by a random token until the person confirms it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import Role, Team
from apps.accounts.permissions import require_role
from apps.common.db import INT32_MAX, INT32_MIN
from apps.common.safejson import json_problem
from apps.projects.models import Example, Project, Skill
from apps.projects.services import example_bulk_create, project_create
from apps.projects.uploads import PROJECT_UPLOADS
from workers.engine.api import (
    ANSWER_MODES,
    FAMILIES,
    EngineError,
    Item,
    ItemError,
    SkillInfo,
    SpecError,
    build_family,
    parse_jsonl,
    problem_key,
)

MAX_TRAIN = 50_000
MAX_EVAL = 10_000
# An upload neither confirmed nor cancelled (the page was closed) is removed after this long.


def _family_error(exc: EngineError) -> ValidationError:
    """The engine's error as a form error on the field it names."""
    field = getattr(exc, "field", "")
    if field == "spec.task.family":
        return ValidationError({"task_family": str(exc)})
    if field == "spec.task.pool_size":  # more examples than the task has distinct problems
        return ValidationError({"train_size": str(exc)[len(field) + 2:]})
    if field.startswith("spec.task.options") or isinstance(exc, ItemError):
        return ValidationError({"task_options": str(exc)})
    return ValidationError({"task_family": str(exc)})


def _create_skills(project: Project, infos: Iterable[SkillInfo], origin: str) -> dict[str, Skill]:
    infos = list(infos)
    Skill.objects.bulk_create([
        Skill(project=project, name=info.name, description=info.description, origin=origin)
        for info in infos
    ])
    skills = {s.name: s for s in Skill.objects.filter(project=project)}
    children = []
    for info in infos:
        if info.parent and info.parent in skills:
            skills[info.name].parent = skills[info.parent]
            children.append(skills[info.name])
    Skill.objects.bulk_update(children, ["parent"])
    return skills


def _rows(items: Iterable[Item], skills: dict[str, Skill], split_of, origin: str) -> list[dict]:
    return [
        {
            "key": item.id, "prompt": item.prompt, "answer": item.answer, "level": item.level,
            "skills": [skills[name] for name in item.skills], "meta": dict(item.meta),
            "split": split_of(i, item), "origin": origin,
            "review_status": Example.ReviewStatus.APPROVED,
        }
        for i, item in enumerate(items)
    ]


@transaction.atomic
def project_create_from_family(
    *, user, team: Team, name: str, task_family: str, description: str = "",
    task_options: dict | None = None, train_size: int = 500, eval_size: int = 200,
    seed: int = 0, require_review: bool = True, approved_only: bool = False,
    pool_options: dict | None = None,
) -> Project:
    """A project on a built-in task family with its skills and a seed pool drawn from it:
    ``train_size`` train and ``eval_size`` eval examples from one seeded draw (so no eval
    item is also in the train split).

    ``pool_options`` (family options laid over ``task_options`` for the train split only,
    e.g. ``{"skill_weights": {"carry": 0.05}}`` to make a skill rare in training) draw the
    eval split first from the plain family, then the train split around its problems: every
    skill is still measured on its natural share."""
    require_role(user, team, Role.EDITOR)
    if task_family == "jsonl":
        raise ValidationError({"task_family": "a JSONL project is created from an upload"})
    errors = {}
    if not 1 <= train_size <= MAX_TRAIN:
        errors["train_size"] = f"must be between 1 and {MAX_TRAIN}"
    if not 0 <= eval_size <= MAX_EVAL:
        errors["eval_size"] = f"must be between 0 and {MAX_EVAL}"
    if errors:
        raise ValidationError(errors)
    options = task_options or {}
    try:
        family = build_family(task_family, options)
        infos = family.skills()
        if pool_options:
            rng = random.Random(seed)
            evals = family.sample(n=eval_size, rng=rng)
            trainer = build_family(task_family, {**options, **pool_options})
            train = trainer.sample_excluding(n=train_size, rng=rng,
                                             exclude={problem_key(it) for it in evals})
            items = [*train, *evals]
            train_size = len(train)
        else:
            items = family.sample(n=train_size + eval_size, rng=random.Random(seed))
    except EngineError as exc:
        raise _family_error(exc) from None
    project = project_create(
        user=user, team=team, name=name, description=description, task_family=task_family,
        task_options=options, require_review=require_review,
        approved_only=approved_only,
    )
    skills = _create_skills(project, infos, Skill.Origin.BUILTIN)
    for item in items:  # a family may use a skill it does not list
        for skill_name in item.skills:
            if skill_name not in skills:
                skills[skill_name] = Skill.objects.create(
                    project=project, name=skill_name, origin=Skill.Origin.BUILTIN
                )

    def split_of(i: int, item: Item) -> str:
        return Example.Split.TRAIN if i < train_size else Example.Split.EVAL

    example_bulk_create(project=project, rows=_rows(items, skills, split_of,
                                                    Example.Origin.SEED))
    return project


# --- JSONL uploads --------------------------------------------------------------------------

def upload_store(*, data: bytes) -> str:
    """Keep an uploaded file until it is confirmed or cancelled; returns its token."""
    return PROJECT_UPLOADS.store([data])


def upload_read(*, token: str) -> str:
    try:
        return PROJECT_UPLOADS.path(token).read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError({"file": f"the file is not UTF-8 text: {exc.reason}"}) from None


def upload_discard(*, token) -> None:
    """Remove the upload ``token`` names, if there is one: after the project is created,
    when creating it failed, and when the person cancels."""
    PROJECT_UPLOADS.discard(token)


def _storage_problems(item: Item) -> list[str]:
    """Why a row the engine accepts cannot be stored: an id or skill name longer than its
    column, a NUL character (PostgreSQL keeps none), a level beyond an integer column, extra
    fields that a JSON column cannot hold (deep nesting, NaN)."""
    problems = []
    key_length = Example._meta.get_field("key").max_length
    name_length = Skill._meta.get_field("name").max_length
    if len(item.id) > key_length:
        problems.append(f"id is longer than {key_length} characters")
    if any(len(name) > name_length for name in item.skills):
        problems.append(f"a skill name is longer than {name_length} characters")
    if any("\x00" in text for text in (item.id, item.prompt, item.answer, *item.skills)):
        problems.append("id, prompt, answer and skills must not hold a NUL character (\\u0000)")
    if not INT32_MIN <= item.level <= INT32_MAX:
        problems.append(f"level must be at most {INT32_MAX}")
    extra = json_problem({k: v for k, v in item.meta.items() if k != "line"})
    if extra:
        problems.append(f"extra fields: {extra}")
    return problems


def jsonl_check(text: str, *, answer_mode: str) -> tuple[list[Item], list[tuple[int, str]]]:
    """Every item and every bad line of ``text`` (the preview); raises on a bad mode. A
    line the engine accepts but the database could not store is a bad line too."""
    if answer_mode not in ANSWER_MODES:
        raise ValidationError({"answer_mode": f"must be one of {', '.join(ANSWER_MODES)}"})
    try:
        parsed, errors = parse_jsonl(text, answer_mode=answer_mode)
    except SpecError as exc:
        raise ValidationError({"answer_mode": str(exc)}) from None
    items = []
    for item in parsed:
        problems = _storage_problems(item)
        if problems:
            errors.append((item.meta.get("line", 0), "; ".join(problems)))
        else:
            items.append(item)
    errors.sort(key=lambda error: error[0])
    return items, errors


def _in_eval(key: str, share: float) -> bool:
    digest = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16)
    return digest / 0x1_0000_0000 < share


def jsonl_split_of(item: Item, eval_share: float) -> str:
    """The split of an uploaded row: the one it declares, else eval with probability
    ``eval_share``, decided by a hash of its problem (normalized prompt), so the same file
    splits the same way and rows repeating one prompt land in the same split."""
    declared = item.meta.get("split")
    if declared:
        return declared
    return Example.Split.EVAL if _in_eval(problem_key(item), eval_share) else \
        Example.Split.TRAIN


def jsonl_eval_duplicates(items: list[Item], *, eval_share: float) -> list[Item]:
    """The train rows whose prompt (whitespace normalized) is also an eval or held-out row's:
    training on them would measure memory, not skill."""
    splits = [jsonl_split_of(it, eval_share) for it in items]
    protected = {problem_key(it) for it, split in zip(items, splits, strict=True)
                 if split != Example.Split.TRAIN}
    return [it for it, split in zip(items, splits, strict=True)
            if split == Example.Split.TRAIN and problem_key(it) in protected]


DUPLICATE_EXAMPLES = 5


def duplicates_message(duplicates: list[Item]) -> str:
    """The count and the first few of ``duplicates``, by line."""
    n = len(duplicates)
    shown = "; ".join(f"line {it.meta.get('line', '?')}: {it.prompt[:60]!r}"
                      for it in duplicates[:DUPLICATE_EXAMPLES])
    return (f"{n} train row{'s' if n != 1 else ''} repeat{'s' if n == 1 else ''} the prompt "
            f"of an eval or held-out row (spaces normalized), e.g. {shown}. Drop "
            f"{'them' if n != 1 else 'it'}, or give the file's rows other splits")


@transaction.atomic
def project_create_from_jsonl(
    *, user, team: Team, name: str, text: str, description: str = "",
    answer_mode: str = "exact", eval_share: float = 0.2, require_review: bool = True,
    approved_only: bool = False, drop_eval_duplicates: bool = False,
) -> Project:
    """A project holding the items of a JSONL file, refused whole if any line is bad.

    Lines that declare a ``split`` keep it; the others go to eval with probability
    ``eval_share`` (:func:`jsonl_split_of`). A train row that repeats an eval or held-out
    row's prompt refuses the file with the count and examples, unless
    ``drop_eval_duplicates`` leaves those train rows out. The file is kept under
    ``STUDIO_DATA_DIR/datasets`` for the workers.
    """
    require_role(user, team, Role.EDITOR)
    if not 0.0 <= eval_share <= 0.9:
        raise ValidationError({"eval_share": "must be between 0 and 0.9"})
    items, errors = jsonl_check(text, answer_mode=answer_mode)
    if errors:
        raise ValidationError({"file": [f"line {n}: {message}" for n, message in errors]})
    duplicates = jsonl_eval_duplicates(items, eval_share=eval_share)
    if duplicates and not drop_eval_duplicates:
        raise ValidationError({"file": duplicates_message(duplicates)})
    dropped = {id(it) for it in duplicates}
    items = [it for it in items if id(it) not in dropped]
    if not items:
        raise ValidationError({"file": "the file holds no items"})
    project = project_create(
        user=user, team=team, name=name, description=description, task_family="jsonl",
        task_options={"answer_mode": answer_mode}, require_review=require_review,
        approved_only=approved_only,
    )
    names: dict[str, None] = {}
    for item in items:
        names.update(dict.fromkeys(item.skills))
    skills = _create_skills(project, [SkillInfo(n) for n in names], Skill.Origin.MANUAL)

    def split_of(i: int, item: Item) -> str:
        return jsonl_split_of(item, eval_share)

    example_bulk_create(project=project, rows=_rows(items, skills, split_of,
                                                    Example.Origin.IMPORTED))
    folder = Path(settings.DATA_DIR) / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"project-{project.pk}.jsonl"
    path.write_text(text, encoding="utf-8")
    project.task_options = {"path": str(path), "answer_mode": answer_mode}
    project.save(update_fields=["task_options"])
    return project


def family_choices() -> list[tuple[str, str]]:
    return [(name, info.description) for name, info in FAMILIES.items()]
