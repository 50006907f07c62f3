"""What a share link's page shows: the contexts of the public pages, built from the
dashboard's and the comparison's own contracts with ``shared=True``.

The pages show the object and nothing around it: the run's name, project, strategy and
status, never its frozen spec (which names the teacher's endpoint and may hold prompt
text), never a teacher key; the teacher prompt text only when the link was made with
``show_prompts``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from apps.compare.exports import plotly_bundle_path
from apps.compare.selectors import comparison_context
from apps.prompts.models import TeacherPromptVersion
from apps.runs.dashboard import run_dashboard_context
from apps.runs.dashboard_views import render_failures
from apps.runs.models import Run
from apps.sharing.models import ShareLink


def shared_prompt_versions(*, run: Run) -> list[dict]:
    """The teacher prompt versions ``run`` used: role, name, version and text."""
    return list(TeacherPromptVersion.objects.filter(runs=run)
                .order_by("prompt__role", "prompt__name", "version")
                .values("prompt__role", "prompt__name", "version", "template"))


def run_page_context(*, run: Run, link: ShareLink, failures_url: str) -> dict:
    context = run_dashboard_context(run=run, shared=True, show_prompts=link.show_prompts,
                                    failures_url=failures_url)
    context.update({
        "run": run,
        "link": link,
        "prompts": shared_prompt_versions(run=run) if link.show_prompts else [],
    })
    return context


def comparison_page_context(*, comparison, link: ShareLink) -> dict:
    """The comparison's own context (``apps/compare/selectors.py``) with ``shared=True``:
    the saved grouping and baseline, nothing taken from the query string."""
    context = comparison_context(comparison=comparison, shared=True)
    context.update({"comparison": comparison, "link": link,
                    "plotly_bundle": plotly_bundle_path().name})
    return context


def shared_failures_response(request: HttpRequest, *, run: Run) -> HttpResponse:
    """The failed items of one heatmap cell of the link's run (the dashboard's own
    partial: prompts of eval items and the student's answers, no teacher text)."""
    return render_failures(request, run)
