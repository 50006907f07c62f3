"""The filters of the review queue and the example browser: read from the URL, written back
to it (a filtered queue is a link to share), applied to a project's examples.

A bad value (``?level=x``, an unknown status) is dropped with a note the page shows, so an
old or mistyped link still opens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.common.params import parse_int
from apps.projects.models import Example, ExampleSkill, Project

ANY = "any"
MAX_QUERY = 200
INT_FIELDS = ("run", "round", "skill", "level", "agreement", "reviewer")


@dataclass(frozen=True)
class ReviewFilter:
    run: int | None = None
    round: int | None = None  # the round's index (with ``run``: that run's round)
    skill: int | None = None
    level: int | None = None
    origin: str = ""
    status: str = ANY  # a ReviewStatus value or "any"
    agreement: int | None = None  # how many teacher solutions agreed
    reviewer: int | None = None
    q: str = ""
    notes: tuple[str, ...] = field(default=(), compare=False)

    def params(self, **changes) -> dict[str, str]:
        """The filter as query parameters (only what is set), with ``changes`` applied
        (None or "" removes one)."""
        f = replace(self, **changes) if changes else self
        out = {}
        for fld in fields(f):
            if fld.name == "notes":
                continue
            value = getattr(f, fld.name)
            if value is not None and value != "":
                out[fld.name] = str(value)
        return out

    def query(self, **changes) -> str:
        return urlencode(self.params(**changes))

    @property
    def active(self) -> list[tuple[str, str]]:
        """(name, value) of every filter that narrows the set, for the page's summary."""
        return [(k, v) for k, v in self.params().items() if not (k == "status" and v == ANY)]


def filter_parse(params: Mapping[str, str], *, default_status: str = ANY) -> ReviewFilter:
    """The filter a query string (or a posted form) asks for."""
    notes: list[str] = []
    values: dict = {}
    for name in INT_FIELDS:
        raw = params.get(name)
        if raw in (None, ""):
            continue
        number = parse_int(raw)
        if number is None:
            notes.append(f"{name}={raw[:20]!r} is not a whole number: that filter is ignored")
        else:
            values[name] = number
    origin = params.get("origin") or ""
    if origin and origin not in Example.Origin.values:
        notes.append(f"origin={origin[:20]!r} is unknown: that filter is ignored")
        origin = ""
    status = params.get("status") or default_status
    if status != ANY and status not in Example.ReviewStatus.values:
        notes.append(f"status={status[:20]!r} is unknown: showing {default_status}")
        status = default_status
    q = (params.get("q") or "").strip()
    if "\x00" in q:  # no stored text holds one, and PostgreSQL refuses it in a parameter
        notes.append("the search text held NUL characters: they were left out")
        q = q.replace("\x00", "").strip()
    if len(q) > MAX_QUERY:
        notes.append(f"the search text was cut to {MAX_QUERY} characters")
        q = q[:MAX_QUERY]
    return ReviewFilter(origin=origin, status=status, q=q, notes=tuple(notes), **values)


def filter_apply(qs: QuerySet, f: ReviewFilter, *, skip: tuple[str, ...] = ()) -> QuerySet:
    """``qs`` (examples of one project) narrowed by ``f``, leaving out the dimensions in
    ``skip`` (the facet counts leave out their own dimension)."""
    def use(name: str) -> bool:
        return name not in skip

    if f.run is not None and use("run"):
        qs = qs.filter(round__run_id=f.run)
    if f.round is not None and use("round"):
        qs = qs.filter(round__index=f.round)
    if f.skill is not None and use("skill"):
        qs = qs.filter(Exists(ExampleSkill.objects.filter(example=OuterRef("pk"),
                                                         skill_id=f.skill)))
    if f.level is not None and use("level"):
        qs = qs.filter(level=f.level)
    if f.origin and use("origin"):
        qs = qs.filter(origin=f.origin)
    if f.status != ANY and use("status"):
        qs = qs.filter(review_status=f.status)
    if f.agreement is not None and use("agreement"):
        qs = qs.filter(meta__agreement=f.agreement)
    if f.reviewer is not None and use("reviewer"):
        qs = qs.filter(reviewed_by_id=f.reviewer)
    if f.q and use("q"):
        qs = qs.filter(Q(prompt__icontains=f.q) | Q(answer__icontains=f.q))
    return qs


def filtered_examples(project: Project, f: ReviewFilter, **kw) -> QuerySet[Example]:
    return filter_apply(Example.objects.filter(project=project), f, **kw)


# --- the queue's cursor: the (rank, id) of a page's last row (rank 0: pending) -----

def cursor_parse(raw: str | None) -> tuple[int, int] | None:
    """``"<rank>.<id>"``: the last row of the previous page; None for the first page."""
    if not raw or "." not in raw:
        return None
    rank, _, pk = raw.partition(".")
    rank_n, pk_n = parse_int(rank), parse_int(pk)
    if rank_n is None or pk_n is None:
        return None
    return rank_n, pk_n


def cursor_text(rank: int, pk: int) -> str:
    return f"{rank}.{pk}"
