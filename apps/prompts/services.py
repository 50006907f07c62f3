from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from apps.accounts.models import Role
from apps.accounts.permissions import require_role
from apps.projects.models import Project
from apps.prompts.models import (
    PromptRole,
    TeacherConfig,
    TeacherKind,
    TeacherPrompt,
    TeacherPromptVersion,
)
from apps.runs.model_paths import MODEL_DIR_REFUSED, model_dir_allowed
from workers.engine.api import ROLES, default_template, validate_template

_UNSET = object()
DEFAULT_PROMPT_NAME = "default"


def check_teacher_fields(*, kind: str, base_url: str, model: str, model_dir: str,
                          timeout_s: float, max_retries: int, concurrency: int,
                          team_id: int | None = None) -> None:
    """Refuse bad teacher settings, naming each field. With ``team_id``, a local model's
    directory must also be one that team may load (``apps/runs/model_paths.py``)."""
    errors: dict[str, str] = {}
    if kind not in TeacherKind.values:
        errors["kind"] = f"must be one of {', '.join(TeacherKind.values)}"
    if kind == TeacherKind.OPENAI:
        if not base_url.startswith(("http://", "https://")):
            errors["base_url"] = "an openai teacher needs an http(s):// base URL"
        if not model:
            errors["model"] = "an openai teacher needs a model name"
    if kind == TeacherKind.HF_LOCAL and not model_dir:
        errors["model_dir"] = "an hf_local teacher needs a local model directory"
    elif (kind == TeacherKind.HF_LOCAL and team_id is not None
          and not model_dir_allowed(model_dir, team_id=team_id)):
        errors["model_dir"] = MODEL_DIR_REFUSED
    if not timeout_s > 0:
        errors["timeout_s"] = "must be positive"
    if not 0 <= max_retries <= 10:
        errors["max_retries"] = "must be between 0 and 10"
    if not 1 <= concurrency <= 64:
        errors["concurrency"] = "must be between 1 and 64"
    if errors:
        raise ValidationError(errors)


def stored_key_usable(teacher: TeacherConfig, *, kind: str, base_url: str) -> bool:
    """Whether the key stored on ``teacher`` may go with these settings: only to the endpoint
    it was saved for (same kind and base URL). Otherwise an editor could point a saved
    teacher at a server of theirs, leave the key field blank and have the stored key sent
    there (by "test connection", the connection check or the next run)."""
    return kind == teacher.kind and base_url == teacher.base_url


@transaction.atomic
def teacher_config_create(
    *, user, project: Project, name: str, kind: str = TeacherKind.ORACLE, base_url: str = "",
    model: str = "", api_key: str = "", model_dir: str = "", timeout_s: float = 60.0,
    max_retries: int = 3, concurrency: int = 4,
) -> TeacherConfig:
    require_role(user, project.team, Role.EDITOR)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "must not be empty"})
    if TeacherConfig.objects.filter(project=project, name=name).exists():
        raise ValidationError({"name": f"project {project.name!r} already has a teacher {name!r}"})
    check_teacher_fields(kind=kind, base_url=base_url, model=model, model_dir=model_dir,
                          timeout_s=timeout_s, max_retries=max_retries, concurrency=concurrency,
                          team_id=project.team_id)
    return TeacherConfig.objects.create(
        project=project, name=name, kind=kind, base_url=base_url, model=model, api_key=api_key,
        model_dir=model_dir, timeout_s=timeout_s, max_retries=max_retries,
        concurrency=concurrency,
    )


@transaction.atomic
def teacher_config_update(
    *, user, teacher: TeacherConfig, api_key=_UNSET, clear_api_key: bool = False, **fields
) -> TeacherConfig:
    """Change fields of a teacher.

    The stored API key is replaced only by a non-blank ``api_key`` (a form never shows the
    key, so a blank field means "keep it"); ``clear_api_key=True`` removes it. A blank key
    keeps the stored one only while kind and base URL stay the same: a teacher moved to
    another endpoint without a new key loses its key (see :func:`stored_key_usable`).
    """
    require_role(user, teacher.project.team, Role.EDITOR)
    same_endpoint = stored_key_usable(teacher, kind=fields.get("kind", teacher.kind),
                                      base_url=fields.get("base_url", teacher.base_url))
    allowed = {"name", "kind", "base_url", "model", "model_dir", "timeout_s", "max_retries",
               "concurrency"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"unknown teacher fields: {', '.join(sorted(unknown))}")
    for key, value in fields.items():
        setattr(teacher, key, value)
    check_teacher_fields(
        kind=teacher.kind, base_url=teacher.base_url, model=teacher.model,
        model_dir=teacher.model_dir, timeout_s=teacher.timeout_s,
        max_retries=teacher.max_retries, concurrency=teacher.concurrency,
        team_id=teacher.project.team_id,
    )
    if clear_api_key:
        teacher.api_key = ""
    elif api_key is not _UNSET and api_key:
        teacher.api_key = api_key
    elif not same_endpoint:
        teacher.api_key = ""  # the stored key was given for the old endpoint only
    teacher.save()
    return teacher


def _check_template(role: str, template: str) -> str:
    """Refuse templates the sandboxed renderer would refuse, naming every problem."""
    errors = validate_template(role, template or "")
    if errors:
        raise ValidationError({"template": errors})
    return template


@transaction.atomic
def teacher_prompt_create(
    *, user, project: Project, role: str, name: str, template: str, note: str = ""
) -> TeacherPrompt:
    """A new prompt for ``role`` with ``template`` as its version 1."""
    require_role(user, project.team, Role.EDITOR)
    if role not in PromptRole.values:
        raise ValidationError({"role": f"must be one of {', '.join(PromptRole.values)}"})
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "must not be empty"})
    if TeacherPrompt.objects.filter(project=project, role=role, name=name).exists():
        raise ValidationError({"name": f"a {role} prompt named {name!r} exists already"})
    prompt = TeacherPrompt.objects.create(project=project, role=role, name=name)
    prompt_version_create(user=user, prompt=prompt, template=template, note=note)
    return prompt


@transaction.atomic
def prompt_version_create(
    *, user, prompt: TeacherPrompt, template: str, note: str = ""
) -> TeacherPromptVersion:
    """Save new text as the next version. Identical text to the latest version is returned
    as is, so saving a form twice does not make empty versions."""
    require_role(user, prompt.project.team, Role.EDITOR)
    _check_template(prompt.role, template)
    # Lock the prompt row so two editors saving at once get versions n+1 and n+2.
    TeacherPrompt.objects.select_for_update().filter(pk=prompt.pk).first()
    latest = prompt.versions.order_by("-version").first()
    if latest is not None and latest.template == template:
        return latest
    top = prompt.versions.aggregate(top=Max("version"))["top"] or 0
    return TeacherPromptVersion.objects.create(
        prompt=prompt, version=top + 1, template=template, note=note, created_by=user
    )


@transaction.atomic
def prompt_defaults_install(*, user, project: Project) -> list[TeacherPrompt]:
    """A prompt named "default" for every role, holding the engine's default template.

    Roles that already have it are left alone (their versions are never rewritten).
    """
    require_role(user, project.team, Role.EDITOR)
    installed = []
    for role in ROLES:
        prompt, _ = TeacherPrompt.objects.get_or_create(
            project=project, role=role, name=DEFAULT_PROMPT_NAME
        )
        if not prompt.versions.exists():
            prompt_version_create(
                user=user, prompt=prompt, template=default_template(role),
                note="built-in default",
            )
        installed.append(prompt)
    return installed
