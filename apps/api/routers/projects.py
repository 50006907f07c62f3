"""Projects, their skill tree and their examples."""

from django.conf import settings
from django.core.exceptions import ValidationError
from ninja import File, Form, Query, Router, Status, UploadedFile

from apps.accounts.models import Role
from apps.accounts.permissions import require_role, role_for
from apps.accounts.selectors import team_get_for_user, team_rows_for_user
from apps.accounts.services import team_create as team_create_service
from apps.api.pagination import Cursor, Limit, paginate
from apps.api.routers.common import (
    PAGE_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    caller,
    project_for,
    refuse_unknown_form_fields,
)
from apps.api.schemas import (
    ExampleBulkIn,
    ExampleBulkOut,
    ExampleFilters,
    ExamplePage,
    Id,
    ProjectDetailOut,
    ProjectFromFileIn,
    ProjectListOut,
    SkillOut,
    TeamIn,
    TeamRoleOut,
)
from apps.projects.creation import project_create_from_jsonl
from apps.projects.models import Example
from apps.projects.selectors import (
    example_counts,
    example_list_for_project,
    project_list_with_counts,
    skill_tree,
)
from apps.projects.services import example_bulk_add

router = Router(tags=["projects"])


@router.get("/projects", response={200: list[ProjectListOut], **READ_ERRORS},
            summary="The projects of your teams")
def project_list(request):
    return list(project_list_with_counts(user=caller(request)).select_related("team"))


@router.get("/projects/{project_id}", response={200: ProjectDetailOut, **READ_ERRORS})
def project_detail(request, project_id: Id):
    return _detail(request, project_for(request, project_id))


def _detail(request, project):
    project.role = role_for(caller(request), project.team)
    project.example_counts = example_counts(project=project)
    return project


@router.get("/teams", response={200: list[TeamRoleOut], **READ_ERRORS},
            summary="Your teams, with your role in each")
def team_list(request):
    return [{"id": t.pk, "name": t.name, "role": t.my_role}
            for t in team_rows_for_user(user=caller(request))]


@router.post("/teams", response={201: TeamRoleOut, **WRITE_ERRORS},
             summary="Make a team (as the Teams page's New team form): you become its first "
                     "owner; a name taken by any team, in any case, is refused")
def team_create(request, body: TeamIn):
    team = team_create_service(user=caller(request), name=body.name)
    return Status(201, {"id": team.pk, "name": team.name, "role": Role.OWNER.value})


@router.post("/projects", response={201: ProjectDetailOut, **WRITE_ERRORS},
             summary="Create a project from a JSONL file of items (as the New project page's "
                     "JSONL tab): refused whole if any line is bad, each named")
def project_create_from_file(request, file: File[UploadedFile],
                             fields: Form[ProjectFromFileIn]):
    refuse_unknown_form_fields(request, ProjectFromFileIn)
    team = team_get_for_user(user=caller(request), pk=fields.team)
    require_role(caller(request), team, Role.EDITOR)
    if file.size is not None and file.size > settings.STUDIO_MAX_UPLOAD_BYTES:
        raise ValidationError({"file": f"{file.size:,} bytes; the limit is "
                                       f"{settings.STUDIO_MAX_UPLOAD_BYTES:,} bytes"})
    raw = file.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError({"file": f"not UTF-8 text ({exc.reason} at byte {exc.start})"}
                              ) from None
    project = project_create_from_jsonl(
        user=caller(request), team=team, name=fields.name, description=fields.description,
        text=text, answer_mode=fields.answer_mode, eval_share=fields.eval_share,
        require_review=fields.require_review,
        drop_eval_duplicates=fields.drop_eval_duplicates)
    return Status(201, _detail(request, project))


@router.get("/projects/{project_id}/skills", response={200: list[SkillOut], **READ_ERRORS},
            summary="The skill tree, parents before their children")
def skill_list(request, project_id: Id):
    project = project_for(request, project_id)
    return [{"id": s.pk, "name": s.name, "description": s.description, "parent": s.parent_id,
             "origin": s.origin, "depth": depth}
            for s, depth in skill_tree(project=project)]


def example_row(example: Example) -> dict:
    return {
        "id": example.pk, "key": example.key, "prompt": example.prompt,
        "answer": example.answer, "skills": sorted(s.name for s in example.skills.all()),
        "level": example.level, "split": example.split, "origin": example.origin,
        "review_status": example.review_status, "version": example.version,
        "in_dataset": example.added_at is not None, "meta": example.meta or {},
        "prompt_version": example.prompt_version_id, "teacher_kind": example.teacher_kind,
        "round": example.round_id, "triggering_example": example.triggering_example_id,
        "created_at": example.created_at,
    }


@router.get("/projects/{project_id}/examples", response={200: ExamplePage, **PAGE_ERRORS},
            summary="Examples, oldest first, filtered; cursor pagination")
def example_list(request, project_id: Id, filters: Query[ExampleFilters],
                 cursor: Cursor | None = None, limit: Limit | None = None):
    project = project_for(request, project_id)
    qs = example_list_for_project(
        project=project, split=filters.split, level=filters.level, skill_id=filters.skill,
        origin=filters.origin, review_status=filters.review_status)
    page = paginate(request, qs, cursor=cursor, limit=limit)
    page["results"] = [example_row(e) for e in page["results"]]
    return page


@router.post("/projects/{project_id}/examples", response={201: ExampleBulkOut, **WRITE_ERRORS},
             summary="Add examples, all or none; each bad row is named in the errors")
def example_bulk_create(request, project_id: Id, payload: ExampleBulkIn):
    project = project_for(request, project_id, write=True)
    created = example_bulk_add(user=caller(request), project=project,
                               examples=[row.model_dump() for row in payload.examples])
    return Status(201, {"created": len(created), "ids": [e.pk for e in created]})
