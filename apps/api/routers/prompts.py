"""Teacher prompts with their versions, and teachers (whose API key is write-only)."""

from django.views.decorators.debug import sensitive_variables
from ninja import Router, Status

from apps.api.routers.common import READ_ERRORS, WRITE_ERRORS, caller, project_for
from apps.api.schemas import (
    Id,
    PromptOut,
    PromptVersionIn,
    PromptVersionOut,
    TeacherIn,
    TeacherOut,
    TeacherPatchIn,
    TeacherUpdateOut,
)
from apps.prompts.models import TeacherConfig, TeacherPromptVersion
from apps.prompts.selectors import (
    prompt_get,
    prompt_list_for_project,
    prompt_version_list_with_usage,
    teacher_config_get,
    teacher_config_list_for_project,
)
from apps.prompts.services import (
    prompt_version_create,
    teacher_config_create,
    teacher_config_update,
)

router = Router(tags=["prompts and teachers"])


@router.get("/projects/{project_id}/prompts", response={200: list[PromptOut], **READ_ERRORS})
def prompt_list(request, project_id: Id):
    return list(prompt_list_for_project(project=project_for(request, project_id)))


def version_row(version: TeacherPromptVersion, n_runs: int) -> dict:
    return {"id": version.pk, "version": version.version, "template": version.template,
            "note": version.note, "created_at": version.created_at, "n_runs": n_runs,
            "created_by": version.created_by.username if version.created_by else None}


@router.get("/projects/{project_id}/prompts/{prompt_id}/versions",
            response={200: list[PromptVersionOut], **READ_ERRORS}, summary="Newest first")
def prompt_version_list(request, project_id: Id, prompt_id: Id):
    prompt = prompt_get(project=project_for(request, project_id), pk=prompt_id)
    return [version_row(v, v.n_runs) for v in prompt_version_list_with_usage(prompt=prompt)]


@router.post("/projects/{project_id}/prompts/{prompt_id}/versions",
             response={201: PromptVersionOut, **WRITE_ERRORS},
             summary="Save new text as the next version (the same text as the latest "
                     "version returns that version)")
def prompt_version_new(request, project_id: Id, prompt_id: Id, payload: PromptVersionIn):
    prompt = prompt_get(project=project_for(request, project_id, write=True), pk=prompt_id)
    version = prompt_version_create(user=caller(request), prompt=prompt,
                                    template=payload.template, note=payload.note)
    return Status(201, version_row(version, version.runs.count()))


# --- teachers: the key goes in, never out -------------------------------------------------

def teacher_row(teacher: TeacherConfig) -> dict:
    """A teacher as the API shows it: every field but the key, and whether one is stored."""
    return {name: getattr(teacher, name) for name in (
        "id", "name", "kind", "base_url", "model", "model_dir", "timeout_s", "max_retries",
        "concurrency", "has_api_key", "created_at", "updated_at")}


@router.get("/projects/{project_id}/teachers", response={200: list[TeacherOut], **READ_ERRORS})
def teacher_list(request, project_id: Id):
    project = project_for(request, project_id)
    return [teacher_row(t) for t in teacher_config_list_for_project(project=project)]


@router.post("/projects/{project_id}/teachers", response={201: TeacherOut, **WRITE_ERRORS},
             summary="Add a teacher (no connection check; the pages' test does that)")
@sensitive_variables("payload", "fields")
def teacher_create(request, project_id: Id, payload: TeacherIn):
    project = project_for(request, project_id, write=True)
    fields = payload.model_dump()
    teacher = teacher_config_create(user=caller(request), project=project, **fields)
    return Status(201, teacher_row(teacher))


@router.patch("/projects/{project_id}/teachers/{teacher_id}",
              response={200: TeacherUpdateOut, **WRITE_ERRORS},
              summary="Change a teacher; only the fields sent change")
@sensitive_variables("payload", "fields")
def teacher_update(request, project_id: Id, teacher_id: Id, payload: TeacherPatchIn):
    project = project_for(request, project_id, write=True)
    teacher = teacher_config_get(project=project, pk=teacher_id)
    fields = payload.model_dump(exclude_unset=True)
    clear = bool(fields.pop("clear_api_key", False))
    api_key = fields.pop("api_key", None) or ""
    fields = {k: v for k, v in fields.items() if v is not None}
    had_key = teacher.has_api_key
    teacher_config_update(user=caller(request), teacher=teacher, api_key=api_key,
                          clear_api_key=clear, **fields)
    return {**teacher_row(teacher),
            "api_key_removed": had_key and not teacher.has_api_key and not clear}
