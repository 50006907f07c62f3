"""The accounting of synthesis: what was asked for, kept, and rejected by reason
(``metrics["synthesis"]``), the self-consistency defaults, and the check of an answer
against the task family's exact solver."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from workers.engine.errors import ItemError
from workers.engine.tasks.base import Item, TaskFamily

SOLVE_SAMPLES = 3  # self-consistency: solutions asked per synthesized question (default)
MIN_AGREEMENT = 2  # ... of which at least this many must agree (default)

# Why an asked-for synthesized item was not kept (``metrics["synthesis"]["rejected"]``):
# disagreement: the solutions (or the family's solver and the stated answer) disagree;
# duplicate: it repeats an eval, held-out, pool or reference item or another new one;
# already_solved: the current student already answers it (dropped by the loop);
# unparsable: the teacher's text never followed the contract (or named fewer items);
# teacher_error: the backend or the generator failed;
# unfit: the student cannot take it whole (a character its tokenizer cannot encode, or
# longer than its context), never cut or turned into <unk>.
REJECT_REASONS = ("disagreement", "duplicate", "already_solved", "unparsable", "teacher_error",
                  "unfit")


@dataclass
class Synthesis:
    """What synthesis requests produced: ``requested`` = kept + every rejection by reason;
    ``proposed`` counts the items the teacher actually returned."""

    requested: int = 0
    proposed: int = 0
    items: list[Item] = field(default_factory=list)
    rejected: Counter = field(default_factory=Counter)

    def reject(self, reason: str, n: int = 1) -> None:
        if reason not in REJECT_REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        if n > 0:
            self.rejected[reason] += n

    def add(self, other: Synthesis) -> None:
        self.requested += other.requested
        self.proposed += other.proposed
        self.items.extend(other.items)
        self.rejected.update(other.rejected)

    def to_dict(self) -> dict:
        """``metrics["synthesis"]`` of a round."""
        return {"requested": self.requested, "proposed": self.proposed,
                "kept": len(self.items),
                "rejected": {r: int(self.rejected.get(r, 0)) for r in REJECT_REASONS}}


def solver_disagrees(family: TaskFamily, item: Item, answer: str) -> str | None:
    """Why ``answer`` is wrong for ``item`` by the family's exact solver (its reference
    answer, judged with the family's verifier); None when they agree or the family has no
    solver for this item."""
    reference = family.solve(item)
    if reference is None:
        return None
    try:
        ok = family.verify(replace(item, answer=reference), answer)
    except (ItemError, ValueError) as exc:
        return f"the family's verifier failed: {exc}"
    if ok:
        return None
    return f"the answer {answer!r} differs from the family's solver ({reference!r})"
