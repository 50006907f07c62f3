"""Review decisions on examples and saved comparisons of runs: the review queue's and the
compare page's services (``apps/review/services.py``, ``apps/compare/services.py``), with
their rules (roles, the item's version, the reasons, names taken)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.shortcuts import get_object_or_404
from ninja import Path, Router, Schema, Status
from pydantic import Field

from apps.api.routers.common import READ_ERRORS, WRITE_ERRORS, caller, project_for
from apps.api.schemas import ErrorOut, Id, In, Text
from apps.compare.models import Comparison
from apps.compare.selection import MAX_FILTER_VALUES, MAX_RUNS, STATUSES, selection_build
from apps.compare.selectors import comparison_list_for_user
from apps.compare.services import comparison_create, comparison_delete
from apps.projects.models import Example
from apps.review.models import ReviewDecision
from apps.review.services import ReviewConflict, review_accept, review_reject

router = Router(tags=["review"])


class ReviewIn(In):
    action: Literal["accept", "reject"]
    version: Id = Field(description="the item's version as you saw it (`version` in the "
                                    "example list); another decision since then is a 409")
    add_to_dataset: bool = Field(False, description="accept: the item also joins the "
                                                    "project's dataset")
    reason: Literal[tuple(ReviewDecision.Reason.values)] | None = Field(
        None, description="reject: why (required)")
    note: Text(500) = Field("", description="reject: free text (required for `other`)")


class ReviewOut(Schema):
    decision: int
    example: int
    review_status: str
    version: int
    in_dataset: bool


@router.post("/projects/{project_id}/examples/{example_id}/review",
             response={200: ReviewOut, 409: ErrorOut, **WRITE_ERRORS},
             summary="Accept or reject an example, as in the review queue (409 when someone "
                     "decided on it since you read its version)")
def example_review(request, project_id: Id, example_id: Id, payload: ReviewIn):
    project = project_for(request, project_id, write=True)
    example = get_object_or_404(Example.objects.select_related("project__team"),
                                project=project, pk=example_id)
    try:
        if payload.action == "accept":
            decision = review_accept(user=caller(request), example=example,
                                     version=payload.version,
                                     add_to_dataset=payload.add_to_dataset)
        else:
            decision = review_reject(user=caller(request), example=example,
                                     version=payload.version, reason=payload.reason or "",
                                     note=payload.note)
    except ReviewConflict as exc:
        return Status(409, {"detail": str(exc)})
    example.refresh_from_db(fields=["review_status", "version", "added_at"])
    return {"decision": decision.pk, "example": example.pk,
            "review_status": example.review_status, "version": example.version,
            "in_dataset": example.added_at is not None}


# --- comparisons ----------------------------------------------------------------------------

class ComparisonIn(In):
    name: Text(100)
    runs: list[Id] = Field(default_factory=list, max_length=MAX_RUNS,
                           description="the runs to compare; or leave empty and give a filter")
    strategies: list[Text(100)] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    statuses: list[Literal[STATUSES]] = Field(default_factory=list, max_length=len(STATUSES))
    group_by: Text(100) = "strategy"
    baseline: Text(300) = Field("", description='"group:<label>", "run:<id>" or empty')


class ComparisonOut(Schema):
    id: int
    name: str
    run_ids: list[int]
    filter: dict[str, Any]
    group_by: str
    baseline: str
    created_at: dt.datetime


@router.get("/projects/{project_id}/comparisons",
            response={200: list[ComparisonOut], **READ_ERRORS},
            summary="The project's saved comparisons")
def comparison_list(request, project_id: Id):
    project = project_for(request, project_id)
    return list(comparison_list_for_user(user=caller(request), project=project))


@router.post("/projects/{project_id}/comparisons",
             response={201: ComparisonOut, **WRITE_ERRORS},
             summary="Save a comparison: chosen runs, or a filter (strategies, statuses)")
def comparison_new(request, project_id: Id, payload: ComparisonIn):
    project = project_for(request, project_id, write=True)
    selection = selection_build(run_ids=payload.runs, strategies=payload.strategies,
                                statuses=payload.statuses, group_by=payload.group_by,
                                baseline=payload.baseline)
    comparison = comparison_create(user=caller(request), project=project, name=payload.name,
                                   selection=selection)
    return Status(201, comparison)


@router.delete("/projects/{project_id}/comparisons/{comparison_id}",
               response={204: None, **WRITE_ERRORS}, summary="Delete a saved comparison")
def comparison_remove(request, project_id: Id, comparison_id: Id = Path(...)):
    project = project_for(request, project_id, write=True)
    comparison = get_object_or_404(Comparison, project=project, pk=comparison_id)
    comparison_delete(user=caller(request), comparison=comparison)
    return Status(204, None)
