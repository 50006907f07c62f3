"""What every router shares: the error answers each operation declares, and access to the
caller's project (a project of another team is not found)."""

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
