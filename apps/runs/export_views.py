"""A run's files: metrics (CSV, JSON), per-round data plans, accepted synthesized items
(JSONL in any format) and the trained student (tar.gz). Reading: any member; a stranger
gets 404."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from apps.projects.formats import FORMATS
from apps.runs import exports
from apps.runs.selectors import run_get_for_user

WHAT = ("metrics.csv", "metrics.json", "plans.jsonl", "synthesized.jsonl", "student.tar.gz")


def _attachment(response: HttpResponse, name: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def run_export(request: HttpRequest, pk: int, what: str) -> HttpResponse:
    run = run_get_for_user(user=request.user, pk=pk)
    if what not in WHAT:
        raise Http404("no such export")
    stem = f"run-{run.pk}"
    if what == "metrics.csv":
        return _attachment(HttpResponse(exports.run_metrics_csv(run=run),
                                        content_type="text/csv; charset=utf-8"),
                           f"{stem}-metrics.csv")
    if what == "metrics.json":
        body = json.dumps(exports.run_metrics_rows(run=run), indent=1)
        return _attachment(HttpResponse(body, content_type="application/json"),
                           f"{stem}-metrics.json")
    if what == "plans.jsonl":
        return _attachment(StreamingHttpResponse(exports.run_plan_lines(run=run),
                                                 content_type="application/jsonl"),
                           f"{stem}-plans.jsonl")
    if what == "synthesized.jsonl":
        fmt = request.GET.get("format", "ours")
        if fmt not in FORMATS:
            return HttpResponse(f"format must be one of {', '.join(FORMATS)}", status=400,
                                content_type="text/plain")
        return _attachment(StreamingHttpResponse(
            exports.run_synthesized_lines(run=run, fmt=fmt), content_type="application/jsonl"),
            f"{stem}-synthesized-{fmt}.jsonl")
    folder = exports.run_student_dir(run=run)
    if folder is None:
        raise Http404("this run has no complete checkpoint on this machine")
    return _attachment(StreamingHttpResponse(
        exports.tar_gz_stream(folder, f"{stem}-{folder.name}"),
        content_type="application/gzip"), f"{stem}-{folder.name}.tar.gz")
