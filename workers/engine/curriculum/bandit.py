"""Levels as bandit arms: ``sec`` (Self-Evolving Curriculum) and ``dump`` (distribution UCB).

Both learn only from training signals (:meth:`update`), never from eval results. The learning
signal of an arm whose training samples succeed at rate p is 2 * sqrt(p * (1 - p)): largest
at p = 0.5, zero for levels the student always or never solves. p is read from
``signal_samples`` training items of the level, answered before the round trains on them:
the share answered right (``signal_unit`` "answer", the default) or the share of their
answer tokens predicted right ("token").

``signal_unit`` "gradient" replaces the papers' signal by its supervised counterpart. In
reinforcement learning the mean absolute advantage, 2 * p * (1 - p) for a 0/1 reward, is the
size of the policy gradient an item gives: none for an item always or never solved. In
supervised training on the reference answer the gradient of the cross-entropy with respect
to a position's logits is softmax - onehot, whose L1 norm is 2 * (1 - q) where q is the
probability the student gives the reference token. So the arm's signal is the mean of
1 - q over its sampled items' answer tokens (teacher-forced): 1 for a level the student has
no idea of, 0 for one it predicts with certainty.

An arm is a level (``arms`` "level", the default) or a skill at a level ("skill_level"):
SEC partitions the training data into categories by difficulty or by problem type, and a
cell is both. A cell's items are the level's items that carry the skill, so an item with two
skills counts in both cells; the plan draws each cell's share from the pool's items of that
skill at that level. The dashboard's per-level probability is then the sum over the level's
cells, and a level's score the mean of its cells' scores.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any, TypeAlias

from workers.engine.curriculum.alloc import (
    cell_has_items,
    finish,
    largest_remainder,
    level_has_items,
    multinomial,
    round_rng,
    softmax,
)
from workers.engine.curriculum.base import (
    ArmSignal,
    DataPlan,
    Observation,
    Param,
    PlanEntry,
    Strategy,
)
from workers.engine.errors import EngineError

# With k samples a level whose true success rate is p reads as 0 or 1 (signal 0) with
# probability p**k + (1 - p)**k: at k = 8 that is 43% for p = 0.9 and 66% for p = 0.05, so
# the signal mostly says "never" or "always"; at k = 64 it is 0.1% and 4%.
_SIGNAL_SAMPLES = Param(
    "signal_samples", "int", 64,
    "training items per level the student answers (greedy) before each round trains on "
    "them; their success rate is the p of the learning signal (few samples often read p "
    "as 0 or 1, which gives no signal)",
    min=1, max=10000,
)

# Whether p is the share of whole answers right (the papers' outcome reward) or of answer
# tokens right, or the signal is the supervised gradient's size. A student trained from
# scratch solves no answer of a hard level for many rounds: read by answer, that level's
# signal is 0 and it is starved; read by token, its p rises from the first round (the easy
# digits come first) and its signal with it; as a gradient, it is largest there.
_SIGNAL_UNIT = Param(
    "signal_unit", "choice", "answer",
    "answer: p is the share of the level's sampled items answered right (greedy), as the "
    "papers' outcome reward; token: the share of their answer tokens the student predicts "
    "right (teacher-forced), which is above 0 before the student solves any item; gradient: "
    "the signal is 1 - the mean probability the student gives the reference answer's "
    "tokens, the size of the supervised training gradient (largest for a level the student "
    "cannot do yet, 0 for one it has mastered)",
    choices=("answer", "token", "gradient"),
)

_ARMS = Param(
    "arms", "choice", "level",
    "level: one arm per level (the papers' curriculum over difficulty); skill_level: one "
    "arm per skill at each level (a category by problem type and difficulty), so the "
    "bandit can favour a hard skill within a level whose other items are easy; each arm "
    "reads its signal from signal_samples items a round, so more arms cost more answers",
    choices=("level", "skill_level"),
)

_SAMPLING = Param(
    "sampling", "choice", "multinomial",
    "multinomial: each item's level drawn from p (seeded by run seed and round); "
    "proportional: counts rounded from p (largest remainder)",
    choices=("multinomial", "proportional"),
)


# A level, or (skill, level) for a cell.
Arm: TypeAlias = int | tuple[str, int]


def arm_key(arm: Arm) -> str:
    """The arm's name in a JSON state: "3" for a level, "carry@3" for a cell."""
    return str(arm) if isinstance(arm, int) else f"{arm[0]}@{arm[1]}"


def parse_arm_key(key: str) -> Arm:
    skill, at, level = key.rpartition("@")
    return (skill, int(level)) if at else int(level)


def learning_signal(success_rate: float) -> float:
    """2 * sqrt(p * (1 - p)) for supervised training."""
    p = min(max(success_rate, 0.0), 1.0)
    return 2.0 * math.sqrt(p * (1.0 - p))


def arm_signal(sig: ArmSignal, unit: str) -> float:
    """An arm's learning signal in [0, 1] read by ``unit`` (see the module's docstring)."""
    if unit == "gradient":
        return min(max(1.0 - sig.token_prob_mean, 0.0), 1.0) if sig.tokens else 0.0
    return learning_signal(sig.token_rate if unit == "token" else sig.success_rate)


class _Bandit(Strategy):
    """Shared arms and plan: allocate the budget over arms by :meth:`arm_probabilities`."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.arms: list[Arm] = (
            list(self.levels) if self.config["arms"] == "level"
            else [(skill, lv) for lv in self.levels for skill in self.skills])
        self._arm_set: set[Arm] = set(self.arms)
        # Cells with pool items, known from the first plan; arms outside it are not shown.
        self.live: set[Arm] | None = None

    def arms_of(self, level: int, skills: Sequence[str]) -> list[Arm]:
        if self.config["arms"] == "level":
            return [level]
        return [(skill, level) for skill in skills if (skill, level) in self._arm_set]

    def arm_scores(self) -> dict[Arm, float]:
        raise NotImplementedError

    def _shown(self) -> list[Arm]:
        return [a for a in self.arms if self.live is None or a in self.live] or self.arms

    def arm_probabilities(self) -> dict[Arm, float]:
        scores = self.arm_scores()
        return softmax({a: scores[a] for a in self._shown()}, self.config["tau"])

    def level_probabilities(self) -> dict[int, float]:
        out = dict.fromkeys(self.levels, 0.0)
        for arm, p in self.arm_probabilities().items():
            out[_level(arm)] += p
        return out

    def level_scores(self) -> dict[int, float]:
        scores = self.arm_scores()
        by_level: dict[int, list[float]] = {lv: [] for lv in self.levels}
        for arm in self._shown():
            by_level[_level(arm)].append(scores[arm])
        return {lv: sum(v) / len(v) if v else 0.0 for lv, v in by_level.items()}

    def _has_items(self, pool_counts: Mapping[tuple[str, int], int], arm: Arm) -> bool:
        if isinstance(arm, int):
            return level_has_items(pool_counts, arm)
        return cell_has_items(pool_counts, *arm)

    def _check_signals(self, signals: Mapping[Arm, ArmSignal]) -> list[tuple[Arm, ArmSignal]]:
        out = []
        for arm, sig in signals.items():
            if arm not in self._arm_set:
                raise EngineError(f"{self.name}: training signal for {_arm_name(arm)}, which "
                                  f"is not an arm (arms: {', '.join(map(arm_key, self.arms))})")
            if sig.samples > 0:  # an arm not sampled this round keeps its value
                out.append((arm, sig))
        return out

    def _state_common(self) -> dict:
        return {"probabilities": {arm_key(a): v for a, v in self.arm_probabilities().items()},
                **({"live": sorted(arm_key(a) for a in self.live)}
                   if self.live is not None and self.config["arms"] != "level" else {})}

    def _load_live(self, state: Mapping[str, Any]) -> None:
        live = state.get("live")
        self.live = {parse_arm_key(k) for k in live} & self._arm_set if live else None

    def plan(self, obs: Observation) -> DataPlan:
        if self.config["arms"] != "level" and obs.pool_counts:
            self.live = {a for a in self.arms if self._has_items(obs.pool_counts, a)}
        probs = self.arm_probabilities()
        scores = self.arm_scores()
        p = {a: v for a, v in probs.items() if self._has_items(obs.pool_counts, a)}
        if not p:
            return finish([PlanEntry(None, None, self.budget,
                                     reason="no level has pool items")], self.budget)
        total = sum(p.values())
        p = {a: v / total for a, v in p.items()}
        if self.config["sampling"] == "multinomial":
            counts = multinomial(p, self.budget, round_rng(self.name, self.seed, obs.round))
        else:
            counts = largest_remainder(p, self.budget)
        return finish(
            [PlanEntry(None if isinstance(a, int) else a[0], _level(a), n,
                       reason=f"p={p[a]:.3f}, score={scores[a]:.3f}")
             for a, n in counts.items()],
            self.budget,
        )


def _arm_name(arm: Arm) -> str:
    return f"level {arm}" if isinstance(arm, int) else f"skill {arm[0]} at level {arm[1]}"


def _level(arm: Arm) -> int:
    return arm if isinstance(arm, int) else arm[1]


class Sec(_Bandit):
    """Q <- alpha * r + (1 - alpha) * Q per sampled arm; p = softmax(Q / tau)."""

    name = "sec"
    description = ("Self-Evolving Curriculum: each level (or skill at a level) is a bandit "
                   "arm whose value tracks its learning signal; arms are sampled by softmax "
                   "over the values.")
    params = (
        Param("tau", "float", 0.1,
              "softmax temperature over arm values; the SEC paper uses a low temperature "
              "(rewards lie in [0, 1], so tau = 1 samples almost uniformly)",
              min=1e-6, max=1e6),
        Param("alpha", "float", 0.5, "step size of the value update", min=0.0, max=1.0),
        _SIGNAL_SAMPLES,
        _SIGNAL_UNIT,
        _ARMS,
        _SAMPLING,
    )

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.q: dict[Arm, float] = dict.fromkeys(self.arms, 0.0)
        self.rewards: dict[Arm, float] = {}  # last reward per arm
        self.updates = 0

    def update(self, *, round: int, signals: Mapping[Arm, ArmSignal]) -> None:
        alpha = self.config["alpha"]
        self.rewards = {}
        for arm, sig in self._check_signals(signals):
            r = arm_signal(sig, self.config["signal_unit"])
            self.q[arm] = alpha * r + (1.0 - alpha) * self.q[arm]
            self.rewards[arm] = r
        self.updates += 1

    def arm_scores(self) -> dict[Arm, float]:
        return dict(self.q)

    def state(self) -> dict:
        return {
            "q": {arm_key(a): v for a, v in self.q.items()},
            "last_rewards": {arm_key(a): v for a, v in self.rewards.items()},
            **self._state_common(),
            "updates": self.updates,
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        q = {parse_arm_key(k): float(v) for k, v in state.get("q", {}).items()}
        self.q = {a: q.get(a, 0.0) for a in self.arms}
        self.rewards = {parse_arm_key(k): float(v)
                        for k, v in state.get("last_rewards", {}).items()}
        self.updates = int(state.get("updates", 0))
        self._load_live(state)


class Dump(_Bandit):
    """score_j = mean(window_j) + sqrt(2 ln(N + 1) / (n_j + 1)); p = softmax(score / tau).

    As in DUMP, the window and the counts are in training samples: each item the round
    trains on in an arm adds that arm's learning signal to its window (the last ``window``
    items of the arm) and 1 to n_j; N is the sum of all n_j. So the window mean follows the
    arm's recent signal, and an arm that gets few items keeps a large exploration bonus.
    """

    name = "dump"
    description = ("Distribution-level UCB: each level's (or skill's at a level) recent "
                   "learning signals plus an exploration bonus for rarely trained arms; "
                   "softmax over the scores.")
    params = (
        Param("window", "int", 300, "training items whose learning signals each arm "
              "remembers (its most recent ones)", min=1, max=100000),
        Param("tau", "float", 0.1, "softmax temperature over UCB scores", min=1e-6, max=1e6),
        _SIGNAL_SAMPLES,
        _SIGNAL_UNIT,
        _ARMS,
        _SAMPLING,
    )

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        size = self.config["window"]
        self.windows: dict[Arm, deque[float]] = {a: deque(maxlen=size) for a in self.arms}
        self.counts: dict[Arm, int] = dict.fromkeys(self.arms, 0)

    def update(self, *, round: int, signals: Mapping[Arm, ArmSignal]) -> None:
        for arm, sig in self._check_signals(signals):
            window = self.windows[arm]  # only its last maxlen entries can stay
            signal = arm_signal(sig, self.config["signal_unit"])
            window.extend(repeat(signal, min(sig.trained, window.maxlen)))
            self.counts[arm] += sig.trained

    def arm_scores(self) -> dict[Arm, float]:
        total = sum(self.counts.values())
        out = {}
        for a in self.arms:
            w = self.windows[a]
            mean = sum(w) / len(w) if w else 0.0
            out[a] = mean + math.sqrt(2.0 * math.log(total + 1) / (self.counts[a] + 1))
        return out

    def state(self) -> dict:
        return {
            "windows": {arm_key(a): list(w) for a, w in self.windows.items()},
            "counts": {arm_key(a): n for a, n in self.counts.items()},
            "ucb": {arm_key(a): v for a, v in self.arm_scores().items()},
            **self._state_common(),
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        size = self.config["window"]
        windows = {parse_arm_key(k): v for k, v in state.get("windows", {}).items()}
        counts = {parse_arm_key(k): int(v) for k, v in state.get("counts", {}).items()}
        self.windows = {a: deque((float(x) for x in windows.get(a, [])), maxlen=size)
                        for a in self.arms}
        self.counts = {a: counts.get(a, 0) for a in self.arms}
        self._load_live(state)
