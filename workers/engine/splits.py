"""Disjoint splits (DESIGN section 7): eval and held-out items never reach training.

One notion of "the same problem" for the whole engine and the web:

- :func:`normalize_prompt` is a prompt with Unicode normalized (NFC) and runs of whitespace
  collapsed to one space, ends stripped;
- :func:`problem_key` is the canonical problem: for an arithmetic prompt (``47 + 38 =``,
  ``047+38=``) the operation and the operand values (``arith:+:47:38``), for any other
  prompt its normalized text (``text:...``).

:class:`SplitGuard` holds the keys of a run's eval and held-out items (protected) and of its
training data so far (seen). The seed pool is drawn around the protected keys, a pool handed
in is filtered by them (:meth:`SplitGuard.exclude`), and synthesized items pass
:meth:`SplitGuard.admit`, which keeps only problems never seen before (not eval, not
held-out, not in the pool, not synthesized earlier, not repeated within the batch).
:func:`overlap` counts what slipped through; a run records it and it must be 0.

Nothing here imports torch or the task families (``tasks.base`` imports this module).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workers.engine.tasks.base import Item

__all__ = ["SplitGuard", "normalize_prompt", "overlap", "overlapping", "problem_key"]

_SPACES = re.compile(r"\s+")
# An arithmetic problem once all whitespace is gone: digits, an operator, digits, "=".
_ARITH = re.compile(r"^(\d+)([+\-*?])(\d+)=$")


def normalize_prompt(text: str) -> str:
    """``text`` in Unicode NFC with runs of whitespace collapsed to one space, ends stripped.

    Two prompts that differ only in spacing, line breaks or Unicode composition are the
    same prompt."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", str(text))).strip()


def problem_key(item: Item | str) -> str:
    """The canonical problem of an item (or of a prompt): equal keys are the same problem.

    Arithmetic prompts key on the operation and the operand values, so ``47+38=``,
    ``47 + 38 =`` and ``047+38=`` are one problem (``arith:+:47:38``); ``38+47=`` is
    another. Every other prompt keys on its :func:`normalize_prompt` text.
    """
    prompt = item if isinstance(item, str) else item.prompt
    text = normalize_prompt(prompt)
    m = _ARITH.match(text.replace(" ", ""))
    if m:
        return f"arith:{m.group(2)}:{int(m.group(1))}:{int(m.group(3))}"
    return "text:" + text


def overlapping(items: Iterable[Item], protected: Iterable[Item]) -> list[Item]:
    """The items of ``items`` whose problem is one of ``protected``'s, in order."""
    keys = {problem_key(it) for it in protected}
    return [it for it in items if problem_key(it) in keys]


def overlap(pool: Iterable[Item], eval_items: Iterable[Item]) -> int:
    """How many items of ``pool`` (training data) are problems of ``eval_items`` (eval and
    held-out): what a run records as ``metrics["overlap"]``; it must be 0."""
    return len(overlapping(pool, eval_items))


class SplitGuard:
    """The problems a run must never train on, and the ones it already trains on.

    ``protected`` are the eval and held-out items. :meth:`record` notes training data
    without filtering it; :meth:`admit` filters new training data (synthesized items)
    against everything noted so far and notes what it keeps; :meth:`exclude` drops only the
    protected problems (a pool handed in, whose own repeats are the data owner's). The
    counters ``dropped_protected`` and ``dropped_repeats`` add up what was dropped.
    """

    def __init__(self, protected: Iterable[Item] = ()):
        self._protected: set[str] = set()
        self._seen: set[str] = set()
        self.dropped_protected = 0
        self.dropped_repeats = 0
        self.protect(protected)

    # -- what is known ---------------------------------------------------------------------
    def protect(self, items: Iterable[Item]) -> None:
        """Add eval or held-out items: never admitted, counted as overlap."""
        self._protected.update(problem_key(it) for it in items)

    @property
    def protected_keys(self) -> frozenset[str]:
        return frozenset(self._protected)

    def is_protected(self, item: Item | str) -> bool:
        """Whether ``item`` is an eval or held-out problem."""
        return problem_key(item) in self._protected

    def seen(self, item: Item | str) -> bool:
        """Whether ``item`` is protected or already part of the training data."""
        key = problem_key(item)
        return key in self._protected or key in self._seen

    def record(self, items: Iterable[Item]) -> None:
        """Note ``items`` as training data, unfiltered (the pool once it is settled,
        synthesized items restored from a checkpoint)."""
        self._seen.update(problem_key(it) for it in items)

    # -- filters -----------------------------------------------------------------------------
    def exclude(self, items: Iterable[Item]) -> list[Item]:
        """``items`` less the protected problems; the rest is recorded as training data."""
        kept = []
        for it in items:
            key = problem_key(it)
            if key in self._protected:
                self.dropped_protected += 1
                continue
            self._seen.add(key)
            kept.append(it)
        return kept

    def admit(self, items: Iterable[Item], *, record: bool = True) -> list[Item]:
        """The items whose problem is new (not protected, not seen, not an earlier one of
        ``items``), in order; they are recorded as training data unless ``record`` is False
        (a caller that drops some of them afterwards records the rest itself, so the guard
        holds exactly the run's training data and a resumed run rebuilds it)."""
        kept = []
        batch: set[str] = set()
        for it in items:
            key = problem_key(it)
            if key in self._protected:
                self.dropped_protected += 1
                continue
            if key in self._seen or key in batch:
                self.dropped_repeats += 1
                continue
            batch.add(key)
            kept.append(it)
        if record:
            self._seen.update(batch)
        return kept

    def overlap(self, items: Iterable[Item]) -> int:
        """How many of ``items`` are protected problems (0 for anything that went through
        this guard)."""
        return sum(problem_key(it) in self._protected for it in items)
