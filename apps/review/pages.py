"""The context of the queue page and the example browser, built from the selectors (the
views stay two statements; the queue page after a bad edit is the same page with the
form's errors)."""

from __future__ import annotations

from collections.abc import Mapping

from django.http import Http404

from apps.accounts.models import Role
from apps.accounts.permissions import has_role
from apps.common.params import parse_int
from apps.projects.models import Example, Project
from apps.review import selectors
from apps.review.filters import cursor_parse, filter_parse
from apps.review.forms import EditForm, RejectForm
from apps.review.lineage import lineage_of, trained_in
from apps.review.models import ReviewDecision
from apps.review.services import last_decision, level_range


def focus_get(project: Project, pk: int) -> Example:
    try:
        return (Example.objects.select_related("round__run", "prompt_version__prompt",
                                               "reviewed_by", "triggering_example")
                .get(project=project, pk=pk))
    except Example.DoesNotExist as exc:
        raise Http404(f"project {project.pk} has no example {pk}") from exc


def skill_names(example: Example) -> list[str]:
    return sorted(example.skill_links.values_list("skill__name", flat=True))


def _neighbours(rows: list[dict], focus_id: int | None, page) -> dict:
    """The items before and after the focused one (j/k), crossing to the next or previous
    page at the ends."""
    ids = [r["id"] for r in rows]
    i = ids.index(focus_id) if focus_id in ids else -1
    out = {"next_id": None, "prev_id": None, "next_page": None, "prev_page": None}
    if i >= 0 and i + 1 < len(ids):
        out["next_id"] = ids[i + 1]
    elif page.next_cursor:
        out["next_page"] = page.next_cursor
    if i > 0:
        out["prev_id"] = ids[i - 1]
    elif page.prev_cursor:
        out["prev_page"] = page.prev_cursor
    return out


def list_context(*, user, project: Project, params: Mapping[str, str], default_status: str,
                 with_facets: bool = True) -> dict:
    """The filtered page of items, its filters and their counts."""
    f = filter_parse(params, default_status=default_status)
    after = cursor_parse(params.get("after"))
    before = cursor_parse(params.get("before"))
    if before is not None:
        page = selectors.page_read(project=project, f=f, cursor=before, backwards=True)
    else:
        page = selectors.page_read(project=project, f=f, cursor=after)
    context = {
        "project": project, "f": f, "page": page, "rows": page.rows,
        # where the page starts, carried by the decision forms to come back to it
        "after": "" if after is None or before is not None else f"{after[0]}.{after[1]}",
        "before": "" if before is None else f"{before[0]}.{before[1]}",
        "can_decide": has_role(user, project.team, Role.EDITOR),
    }
    if with_facets:
        context.update(facets_context(project=project, f=f))
    return context


def facets_context(*, project: Project, f) -> dict:
    """The filter counts, and how many items match (what a bulk decision would cover)."""
    counts = selectors.facet_counts(project=project, f=f)
    total = sum(counts["status"].values()) if f.status == "any" \
        else counts["status"].get(f.status, 0)
    return {"facets": selectors.facet_options(project=project, f=f, counts=counts),
            "total": total, "facets_loaded": True,
            "pending": selectors.pending_count(project=project)}


def queue_context(*, user, project: Project, params: Mapping[str, str],
                  edit_form: EditForm | None = None, reject_form: RejectForm | None = None,
                  focus_pk: int | None = None, with_facets: bool = True) -> dict:
    """The queue page. Without ``with_facets`` (a page htmx swaps in after a decision) the
    filter counts are left for the page to fetch next (``review:facets``), so the next item
    shows at once."""
    context = list_context(user=user, project=project, params=params,
                           default_status=Example.ReviewStatus.PENDING,
                           with_facets=with_facets)
    rows = context["rows"]
    focus_pk = focus_pk or parse_int(params.get("focus")) or (rows[0]["id"] if rows else None)
    focus = focus_get(project, focus_pk) if focus_pk else None
    context.update(focus=focus, **_neighbours(rows, focus_pk, context["page"]))
    if focus is not None:
        skills = skill_names(focus)
        context.update(focus_skills=skills, lineage=lineage_of(focus))
        if context["can_decide"]:
            context["edit_form"] = edit_form or EditForm(initial={
                "prompt": focus.prompt, "answer": focus.answer, "level": focus.level,
                "skills": ", ".join(skills)})
            context["reject_form"] = reject_form or RejectForm()
    low, high = level_range(project, cached=True)
    last = last_decision(user=user, project=project) if context["can_decide"] else None
    context.update(level_low=low, level_high=high, last_decision=last,
                   figures=selectors.review_figures(project=project),
                   reasons=ReviewDecision.Reason.choices)
    return context


def detail_context(*, user, project: Project, pk: int) -> dict:
    example = focus_get(project, pk)
    skills = skill_names(example)
    return {"project": project, "example": example, "focus": example, "focus_skills": skills,
            "lineage": lineage_of(example), "trained": trained_in(example, skills),
            "can_decide": has_role(user, project.team, Role.EDITOR)}
