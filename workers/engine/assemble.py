"""Building a run's parts from its spec: the strategy, the training levels and the seed pool.

Errors name the spec field at fault (``spec.curriculum.params.k``, ``spec.task.pool_options``).
"""

from __future__ import annotations

import contextlib

from workers.engine.curriculum.base import ParamError, Strategy
from workers.engine.errors import SpecError
from workers.engine.seeding import round_rng
from workers.engine.spec import RunSpec
from workers.engine.splits import SplitGuard
from workers.engine.tasks import build_family
from workers.engine.tasks.base import Item, TaskFamily


def build_strategy(spec: RunSpec, *, skills: list[str], levels: list[int]) -> Strategy:
    from workers.engine.curriculum import get_strategy

    name = spec.curriculum.strategy
    cls = get_strategy(name)  # SpecError naming spec.curriculum.strategy when unknown
    try:
        return cls(params=spec.curriculum.params, skills=skills, levels=levels,
                   budget=spec.train.steps_per_round * spec.train.batch_size, seed=spec.seed)
    except ParamError as exc:
        bad = next(iter(exc.errors))
        raise SpecError(f"spec.curriculum.params.{bad}", exc.errors[bad]) from exc


@contextlib.contextmanager
def _pool_options_errors(spec: RunSpec):
    """Errors from ``spec.task.pool_options`` name that field, not ``spec.task.options``."""
    try:
        yield
    except SpecError as exc:
        base = "spec.task.options"
        if not spec.task.pool_options or not exc.field.startswith(base):
            raise
        message = str(exc)[len(exc.field) + 2:]
        raise SpecError("spec.task.pool_options" + exc.field[len(base):], message) from exc


def pool_family(spec: RunSpec, family: TaskFamily) -> TaskFamily:
    """The family that draws the seed pool: ``task.options`` with ``task.pool_options`` over.

    Without pool options it is ``family`` itself. The eval split is always drawn from
    ``family``, so a skill made rare in the pool is still measured fairly.
    """
    task = spec.task
    if not task.pool_options:
        return family
    with _pool_options_errors(spec):
        out = build_family(task.family, {**task.options, **task.pool_options})
    if [s.name for s in out.skills()] != [s.name for s in family.skills()] or \
            out.levels() != family.levels():
        raise SpecError("spec.task.pool_options",
                        "must not change the task's skills or levels (keep levels out of "
                        "training with spec.task.held_out_levels)")
    return out


def train_levels(spec: RunSpec, family: TaskFamily) -> list[int]:
    """The task's levels less ``spec.task.held_out_levels`` (which must be levels of it)."""
    held = set(spec.task.held_out_levels)
    unknown = held - set(family.levels())
    if unknown:
        raise SpecError("spec.task.held_out_levels",
                        f"levels {sorted(unknown)} are not levels of the task "
                        f"{family.levels()}")
    levels = [lv for lv in family.levels() if lv not in held]
    if not levels:
        raise SpecError("spec.task.held_out_levels", "every level is held out; "
                                                     "nothing is left to train on")
    return levels


def draw_eval(spec: RunSpec, family: TaskFamily) -> list[Item]:
    """The run's eval split drawn from ``family`` (every level, held-out ones included);
    a problem space too small for it names ``spec.task.eval_size``."""
    try:
        return family.sample(n=spec.task.eval_size, rng=round_rng(spec.seed, 0, "eval"))
    except SpecError as exc:
        if exc.field != "spec.task.pool_size":
            raise
        raise SpecError("spec.task.eval_size", str(exc)[len(exc.field) + 2:]) from exc


def eval_subset(spec: RunSpec, items: list[Item]) -> list[Item]:
    """At most ``spec.task.eval_size`` of the eval items the data sets aside (a project's
    eval split, a JSONL file's rows): a seeded draw that keeps their order, so a resumed
    run evaluates the same items. Fewer items than asked are all used."""
    if len(items) <= spec.task.eval_size:
        return list(items)
    keep = set(round_rng(spec.seed, 0, "eval subset").sample(range(len(items)),
                                                             spec.task.eval_size))
    return [it for i, it in enumerate(items) if i in keep]


def seed_pool(spec: RunSpec, family: TaskFamily, levels: list[int],
              pool: list[Item] | None, *, guard: SplitGuard | None = None) -> list[Item]:
    """``pool`` (the web's) or one drawn at the training ``levels``, less held-out items.

    With ``guard`` (holding the run's eval and held-out items) a drawn pool is drawn around
    their problems, a given one loses the rows that repeat one (``guard.dropped_protected``
    counts them), and the pool is recorded in the guard as the run's training data.
    """
    drawer = pool_family(spec, family)  # checks pool_options even when pool is given
    if pool is None:
        exclude = guard.protected_keys if guard is not None else frozenset()
        with _pool_options_errors(spec):
            pool = drawer.sample_excluding(n=spec.task.pool_size,
                                           rng=round_rng(spec.seed, 0, "pool"), levels=levels,
                                           exclude=exclude)
    held = set(spec.task.held_out_levels)
    pool = [it for it in pool if it.level not in held]
    return guard.exclude(pool) if guard is not None else pool
