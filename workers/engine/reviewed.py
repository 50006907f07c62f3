"""A run's synthesized items as people decided them (:class:`~workers.engine.records.ReviewState`).

With review required only the approved items are training data, in the form people left
them; without, every synthesized item is, less the rejected ones and with the edited ones
in their new form. An edit that makes an item an eval or held-out problem, or that the
student cannot take (a character its tokenizer lacks, too long), is dropped with a note:
the split guard and the student's limits hold for people's versions too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from workers.engine.records import ReviewState
from workers.engine.splits import SplitGuard
from workers.engine.tasks.base import Item

DECISIONS = ("unreviewed", "approved", "edited")

Fits = Callable[[list[Item]], list[str | None]]


def reviewed_items(state: ReviewState, synthesized: list[Item], *, required: bool,
                   guard: SplitGuard, fits: Fits | None = None) -> tuple[list[Item], list[str]]:
    """(the run's synthesized items that are training data now, notes), in the order they
    were synthesized. Approved items the run did not synthesize are ignored."""
    approved = {it.id: it for it in state.approved}
    if required:
        items = [approved[it.id] for it in synthesized if it.id in approved]
    else:
        items = [approved.get(it.id, it) for it in synthesized if it.id not in state.rejected]
    originals = {it.id: it for it in synthesized}
    changed = [it for it in items if _changed(it, originals[it.id])]
    notes: list[str] = []
    dropped: set[str] = set()
    protected = [it.id for it in changed if guard.is_protected(it)]
    if protected:
        dropped.update(protected)
        notes.append(f"{len(protected)} edited items are eval or held-out problems: not "
                     f"trained on ({', '.join(protected[:3])})")
    if fits is not None:
        rest = [it for it in changed if it.id not in dropped]
        reasons = fits(rest) if rest else []
        unfit = [(it.id, why) for it, why in zip(rest, reasons, strict=True) if why]
        if unfit:
            dropped.update(i for i, _ in unfit)
            notes.append(f"{len(unfit)} edited items do not fit the student, e.g. {unfit[0][1]}")
    kept = [it for it in items if it.id not in dropped]
    guard.record(kept)
    return kept, notes


def _changed(item: Item, original: Item) -> bool:
    return (item.prompt, item.answer, item.skills, item.level) != \
        (original.prompt, original.answer, original.skills, original.level)


def decision(item: Item) -> str:
    """unreviewed, approved or edited: what people had decided when it was trained on."""
    value = item.meta.get("decision")
    return value if value in DECISIONS else "unreviewed"


def trained_counts(train: Iterable[Item], own: set[str]) -> dict:
    """The run's synthesized items among a round's training items: distinct ``items`` (and
    their ``ids``), ``draws`` with repeats, and by decision (unreviewed, approved, edited)."""
    drawn = [it for it in train if it.id in own]
    distinct = {it.id: it for it in drawn}
    by = Counter(decision(it) for it in distinct.values())
    return {"items": len(distinct), "draws": len(drawn),
            **{d: by.get(d, 0) for d in DECISIONS}, "ids": sorted(distinct)}
