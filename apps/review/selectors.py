"""What the review queue and the example browser read: one page of items (keyset, so the
100,000th item costs what the first does), the counts per filter value, the agreement
figures and reviewer throughput. Each is a fixed number of queries.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, Max, Min, Q
from django.db.models.fields.json import KT
from django.utils import timezone

from apps.projects.models import Example, ExampleSkill, Project, Skill
from apps.review.filters import ANY, ReviewFilter, cursor_text, filter_apply, filtered_examples
from apps.review.models import ReviewDecision
from apps.runs.models import Round, Run

PAGE_SIZE = 50
MAX_CHOICES = 20  # per filter, the values with the most items
LIST_FIELDS = ("id", "prompt", "answer", "level", "origin", "review_status", "round_id",
               "added_at", "version")


@dataclass
class Page:
    rows: list[dict]
    next_cursor: str | None
    prev_cursor: str | None  # None: this is the first page
    first: bool


def _part_ids(project: Project, f: ReviewFilter, rank: int, *, gt: int | None = None,
              lt: int | None = None, limit: int) -> list[int]:
    """Ids of one part of the queue's order (rank 0: pending, 1: the rest; with one status
    chosen, one part), after ``gt`` or (nearest first) before ``lt``. Only the id is read,
    so the (project, review_status, id) index answers it alone, however deep the page."""
    qs = filtered_examples(project, f)
    if f.status == ANY:
        pending = Q(review_status=Example.ReviewStatus.PENDING)
        qs = qs.filter(pending) if rank == 0 else qs.exclude(pending)
    if gt is not None:
        qs = qs.filter(id__gt=gt)
    if lt is not None:
        qs = qs.filter(id__lt=lt)
    return list(qs.order_by("-id" if lt is not None else "id")
                .values_list("id", flat=True)[:limit])


def page_read(*, project: Project, f: ReviewFilter, cursor: tuple[int, int] | None,
              size: int = PAGE_SIZE, backwards: bool = False) -> Page:
    """One page of the filtered items in the queue's order (pending first, then by id),
    after ``cursor`` (or, with ``backwards``, the page before it): keyset pagination, so
    the 15,000th item costs what the first does. A few queries: ids, rows, skills."""
    ranks = (0, 1) if f.status == ANY else (0,)
    keys: list[tuple[int, int]] = []
    if backwards and cursor is not None:
        for rank in reversed([r for r in ranks if r <= cursor[0]]):
            lt = cursor[1] if rank == cursor[0] else 10**18
            keys += [(rank, pk) for pk in _part_ids(project, f, rank, lt=lt,
                                                     limit=size + 1 - len(keys))]
            if len(keys) > size:
                break
        first = len(keys) <= size
        keys = keys[:size][::-1]
        more = True
    else:
        start = cursor[0] if cursor else 0
        for rank in [r for r in ranks if r >= start]:
            gt = cursor[1] if cursor and rank == cursor[0] else None
            keys += [(rank, pk) for pk in _part_ids(project, f, rank, gt=gt,
                                                     limit=size + 1 - len(keys))]
            if len(keys) > size:
                break
        first = cursor is None
        more = len(keys) > size
        keys = keys[:size]
    found = {r["id"]: r for r in Example.objects.filter(pk__in=[pk for _, pk in keys])
             .values(*LIST_FIELDS)}
    rows = []
    for rank, pk in keys:
        if pk in found:
            rows.append({**found[pk], "cursor": cursor_text(rank, pk)})
    names = _skill_names([r["id"] for r in rows])
    for r in rows:
        r["skills"] = names.get(r["id"], [])
    next_cursor = rows[-1]["cursor"] if rows and more else None
    prev_cursor = None if first or not rows else rows[0]["cursor"]
    return Page(rows=rows, next_cursor=next_cursor, prev_cursor=prev_cursor, first=first)


def _skill_names(example_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for eid, name in (ExampleSkill.objects.filter(example_id__in=example_ids)
                      .order_by("skill__name").values_list("example_id", "skill__name")):
        out[eid].append(name)
    return out


# --- counts per filter value ------------------------------------------------------------

FACET_DIMS = ("level", "origin", "round", "agreement", "reviewer")


def facet_counts(*, project: Project, f: ReviewFilter) -> dict[str, Counter]:
    """For each filter, how many items each of its values would give with the other
    filters kept (the usual facet counts). Three queries: the grouped dimensions, the
    statuses and the skills."""
    grouped = (filter_apply(Example.objects.filter(project=project), f, skip=(
        "level", "origin", "round", "run", "agreement", "reviewer"))
        .annotate(agr=KT("meta__agreement"))
        .values("level", "origin", "round_id", "agr", "reviewed_by_id")
        .annotate(n=Count("id")).order_by())
    rounds = {pk: (run_id, index) for pk, run_id, index in
              Round.objects.filter(run__project=project).values_list("id", "run_id", "index")}
    wanted = {"level": f.level, "origin": f.origin or None, "round": f.round,
              "run": f.run, "agreement": f.agreement, "reviewer": f.reviewer}
    dims = (*FACET_DIMS, "run")
    counts: dict[str, Counter] = {name: Counter() for name in dims}
    active = [d for d in dims if wanted[d] is not None]
    for row in grouped:
        agr = row["agr"]
        run_id, index = rounds.get(row["round_id"], (None, None))
        values = {"level": row["level"], "origin": row["origin"], "round": index,
                  "run": run_id,
                  "agreement": int(agr) if agr not in (None, "") and str(agr).isdigit() else None,
                  "reviewer": row["reviewed_by_id"]}
        # A row counts for a facet when it passes every other filter: with no filter
        # failed, for all of them; with one failed, for that one's own facet only.
        failed = [d for d in active if values[d] != wanted[d]]
        if len(failed) > 1:
            continue
        for dim in (failed or dims):
            counts[dim][values[dim]] += row["n"]
    statuses = (filter_apply(Example.objects.filter(project=project), f, skip=("status",))
                .values_list("review_status").annotate(n=Count("id")).order_by())
    counts["status"] = Counter(dict(statuses))
    skills = (ExampleSkill.objects.filter(
        example__in=filter_apply(Example.objects.filter(project=project), f, skip=("skill",))
        .values("id")).values_list("skill_id").annotate(n=Count("id")).order_by())
    counts["skill"] = Counter(dict(skills))
    return counts


def facet_options(*, project: Project, f: ReviewFilter, counts: dict[str, Counter]) -> list:
    """The filter panel: per filter, its choices with labels, counts and links."""
    skills = dict(Skill.objects.filter(project=project).values_list("id", "name"))
    runs = dict(Run.objects.filter(project=project).values_list("id", "name"))
    reviewers = dict(get_user_model().objects.filter(
        pk__in=[k for k in counts["reviewer"] if k is not None]).values_list("id", "username"))
    labels = {
        "status": lambda v: dict(Example.ReviewStatus.choices).get(v, v),
        "run": lambda v: runs.get(v, f"run {v}") if v else "no run",
        "round": lambda v: f"round {v}",
        "skill": lambda v: skills.get(v, f"skill {v}"),
        "level": lambda v: f"level {v}",
        "origin": lambda v: dict(Example.Origin.choices).get(v, v),
        "agreement": lambda v: (f"{v} agreeing" if v is not None else "no teacher solutions"),
        "reviewer": lambda v: reviewers.get(v, "not reviewed") if v else "not reviewed",
    }
    out = []
    for name in ("status", "run", "round", "skill", "level", "origin", "agreement",
                 "reviewer"):
        current = getattr(f, name)
        choices = []
        # "none" (no round, not reviewed) is not a value the URL can ask for
        present = [(v, n) for v, n in counts[name].items() if v not in (None, "")]
        shown = sorted(present, key=lambda vn: -vn[1])[:MAX_CHOICES]
        if current not in (None, "", ANY) and all(v != current for v, _ in shown):
            shown += [(v, n) for v, n in present if v == current]
        for value, n in sorted(shown):
            choices.append({"value": value, "label": labels[name](value), "count": n,
                            "selected": current == value,
                            "query": f.query(**{name: value})})
        clear = f.query(**{name: ANY if name == "status" else None})
        out.append({"name": name, "choices": choices, "clear_query": clear,
                    "more": len(present) - len(shown),
                    "active": current not in (None, "", ANY)})
    return out


# --- agreement and throughput -----------------------------------------------------------

def agreement_by_skill(*, project: Project) -> list[dict]:
    """Teacher-vs-human agreement per skill over reviewed synthesized items: the share
    accepted unchanged, edited, rejected. One query."""
    rows = (ExampleSkill.objects.filter(
        example__project=project, example__origin=Example.Origin.SYNTHESIZED,
        example__reviewed_by__isnull=False)
        .exclude(example__review_status=Example.ReviewStatus.PENDING)
        .values("skill__name", "example__review_status")
        .annotate(n=Count("id"), edited=Count("id", filter=~Q(example__suggestion={})))
        .order_by())
    per: dict[str, dict] = defaultdict(lambda: {"unchanged": 0, "edited": 0, "rejected": 0})
    for r in rows:
        cell = per[r["skill__name"]]
        if r["example__review_status"] == Example.ReviewStatus.REJECTED:
            cell["rejected"] += r["n"]
        else:
            cell["edited"] += r["edited"]
            cell["unchanged"] += r["n"] - r["edited"]
    out = []
    for name in sorted(per):
        c = per[name]
        total = sum(c.values())
        out.append({"skill": name, "total": total, **c,
                    **{f"{k}_pct": round(100 * v / total) for k, v in c.items()}})
    return out


def reviewer_throughput(*, project: Project) -> list[dict]:
    """Per reviewer: decisions in all, in the last 24 hours, and per hour of their active
    span (first to last decision). One query."""
    since = timezone.now() - timedelta(hours=24)
    rows = (ReviewDecision.objects.filter(project=project)
            .filter(Q(undone_at__isnull=True) | Q(undone_by__isnull=True))
            .values("user__username")
            .annotate(n=Count("id"), day=Count("id", filter=Q(created_at__gte=since)),
                      first=Min("created_at"), last=Max("created_at"),
                      batches=Count("batch", distinct=True))
            .order_by("-n"))
    out = []
    for r in rows:
        hours = (r["last"] - r["first"]).total_seconds() / 3600
        out.append({"user": r["user__username"] or "(deleted user)", "decisions": r["n"],
                    "last_24h": r["day"], "bulk_batches": r["batches"],
                    "per_hour": round(r["n"] / hours) if hours >= 1 / 60 else None})
    return out


FIGURES_TTL_S = 60


def review_figures(*, project: Project) -> dict:
    """Agreement per skill and reviewer throughput, kept for a minute: they read every
    reviewed item, and a figure a minute old serves as well as one a second old, so the
    queue page (loaded after every decision) does not pay for them each time."""
    key = f"review:figures:{project.pk}"
    figures = cache.get(key)
    if figures is None:
        figures = {"agreement": agreement_by_skill(project=project),
                   "throughput": reviewer_throughput(project=project),
                   "as_of": timezone.now()}
        cache.set(key, figures, FIGURES_TTL_S)
    return figures


def pending_count(*, project: Project) -> int:
    return Example.objects.filter(project=project,
                                  review_status=Example.ReviewStatus.PENDING).count()
