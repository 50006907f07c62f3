"""What every router shares: the error answers each operation declares, access to the
caller's project (a project of another team is not found), and the check that a multipart
form names no field its schema does not have."""

from collections.abc import Iterable

from ninja import Schema
from ninja.errors import ValidationError as SchemaError

from apps.accounts.models import Role
from apps.accounts.permissions import require_role
from apps.api.schemas import ErrorOut
from apps.projects.models import Project
from apps.projects.selectors import project_get_for_user

# The answers every operation may give besides its own (docs/api.md, "Errors").
READ_ERRORS = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}
WRITE_ERRORS = {**READ_ERRORS, 400: ErrorOut, 403: ErrorOut}
PAGE_ERRORS = {**READ_ERRORS, 400: ErrorOut}  # a list in pages: 400 for a bad cursor


def caller(request):
    """The authenticated user (by token or session)."""
    return request.auth


def project_for(request, project_id: int, *, write: bool = False) -> Project:
    """The caller's project, or 404; with ``write``, PermissionDenied unless they edit."""
    project = project_get_for_user(user=caller(request), pk=project_id)
    if write:
        require_role(caller(request), project.team, Role.EDITOR)
    return project


def refuse_unknown_form_fields(request, schema: type[Schema],
                               files: Iterable[str] = ("file",)) -> None:
    """A 422 for form fields or files the operation does not take, as a JSON body's unknown
    fields get (ninja reads only the fields it knows from a form, so a misspelt option would
    otherwise be dropped in silence and its default used). A session's CSRF token may come
    as a form field."""
    unknown = sorted(set(request.POST) - set(schema.model_fields) - {"csrfmiddlewaretoken"})
    unknown += sorted(set(request.FILES) - set(files))
    if unknown:
        raise SchemaError([{"loc": ("form", name), "msg": "Extra inputs are not permitted",
                            "type": "extra_forbidden"} for name in unknown])
