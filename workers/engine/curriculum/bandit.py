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
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from itertools import repeat
from typing import Any

from workers.engine.curriculum.alloc import (
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

_SAMPLING = Param(
    "sampling", "choice", "multinomial",
    "multinomial: each item's level drawn from p (seeded by run seed and round); "
    "proportional: counts rounded from p (largest remainder)",
    choices=("multinomial", "proportional"),
)


def learning_signal(success_rate: float) -> float:
    """2 * sqrt(p * (1 - p)) for supervised training."""
    p = min(max(success_rate, 0.0), 1.0)
    return 2.0 * math.sqrt(p * (1.0 - p))


def arm_signal(sig: ArmSignal, unit: str) -> float:
    """An arm's learning signal in [0, 1] read by ``unit`` (see the module's docstring)."""
    if unit == "gradient":
        return min(max(1.0 - sig.token_prob_mean, 0.0), 1.0) if sig.tokens else 0.0
    return learning_signal(sig.token_rate if unit == "token" else sig.success_rate)


class _LevelBandit(Strategy):
    """Shared plan: allocate the budget over levels by ``level_probabilities``."""

    def _check_signals(self, signals: Mapping[int, ArmSignal]) -> list[tuple[int, ArmSignal]]:
        out = []
        for level, sig in signals.items():
            if level not in self.levels:
                raise EngineError(f"{self.name}: training signal for level {level}, which is "
                                  f"not an arm (arms: {self.levels})")
            if sig.samples > 0:  # an arm not sampled this round keeps its value
                out.append((level, sig))
        return out

    def plan(self, obs: Observation) -> DataPlan:
        probs = self.level_probabilities()
        scores = self.level_scores()
        p = {lv: probs[lv] for lv in self.levels if level_has_items(obs.pool_counts, lv)}
        if not p:
            return finish([PlanEntry(None, None, self.budget,
                                     reason="no level has pool items")], self.budget)
        total = sum(p.values())
        p = {lv: v / total for lv, v in p.items()}
        if self.config["sampling"] == "multinomial":
            counts = multinomial(p, self.budget, round_rng(self.name, self.seed, obs.round))
        else:
            counts = largest_remainder(p, self.budget)
        return finish(
            [PlanEntry(None, lv, n, reason=f"p={p[lv]:.3f}, score={scores[lv]:.3f}")
             for lv, n in counts.items()],
            self.budget,
        )


class Sec(_LevelBandit):
    """Q <- alpha * r + (1 - alpha) * Q per sampled arm; p = softmax(Q / tau)."""

    name = "sec"
    description = ("Self-Evolving Curriculum: each level is a bandit arm whose value tracks "
                   "its learning signal; levels are sampled by softmax over the values.")
    params = (
        Param("tau", "float", 0.1,
              "softmax temperature over arm values; the SEC paper uses a low temperature "
              "(rewards lie in [0, 1], so tau = 1 samples almost uniformly)",
              min=1e-6, max=1e6),
        Param("alpha", "float", 0.5, "step size of the value update", min=0.0, max=1.0),
        _SIGNAL_SAMPLES,
        _SIGNAL_UNIT,
        _SAMPLING,
    )

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.q: dict[int, float] = dict.fromkeys(self.levels, 0.0)
        self.rewards: dict[int, float] = {}  # last reward per arm
        self.updates = 0

    def update(self, *, round: int, signals: Mapping[int, ArmSignal]) -> None:
        alpha = self.config["alpha"]
        self.rewards = {}
        for level, sig in self._check_signals(signals):
            r = arm_signal(sig, self.config["signal_unit"])
            self.q[level] = alpha * r + (1.0 - alpha) * self.q[level]
            self.rewards[level] = r
        self.updates += 1

    def level_probabilities(self) -> dict[int, float]:
        return softmax(self.q, self.config["tau"])

    def level_scores(self) -> dict[int, float]:
        return dict(self.q)

    def state(self) -> dict:
        return {
            "q": {str(lv): v for lv, v in self.q.items()},
            "last_rewards": {str(lv): v for lv, v in self.rewards.items()},
            "probabilities": {str(lv): v for lv, v in self.level_probabilities().items()},
            "updates": self.updates,
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        q = {int(k): float(v) for k, v in state.get("q", {}).items()}
        self.q = {lv: q.get(lv, 0.0) for lv in self.levels}
        self.rewards = {int(k): float(v) for k, v in state.get("last_rewards", {}).items()}
        self.updates = int(state.get("updates", 0))


class Dump(_LevelBandit):
    """score_j = mean(window_j) + sqrt(2 ln(N + 1) / (n_j + 1)); p = softmax(score / tau).

    As in DUMP, the window and the counts are in training samples: each item the round
    trains on at a level adds that level's learning signal to its window (the last
    ``window`` items of the level) and 1 to n_j; N is the sum of all n_j. So the window
    mean follows the level's recent signal, and a level that gets few items keeps a large
    exploration bonus.
    """

    name = "dump"
    description = ("Distribution-level UCB: each level's recent learning signals plus an "
                   "exploration bonus for rarely trained levels; softmax over the scores.")
    params = (
        Param("window", "int", 300, "training items whose learning signals each level "
              "remembers (its most recent ones)", min=1, max=100000),
        Param("tau", "float", 0.1, "softmax temperature over UCB scores", min=1e-6, max=1e6),
        _SIGNAL_SAMPLES,
        _SIGNAL_UNIT,
        _SAMPLING,
    )

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        size = self.config["window"]
        self.windows: dict[int, deque[float]] = {lv: deque(maxlen=size) for lv in self.levels}
        self.counts: dict[int, int] = dict.fromkeys(self.levels, 0)

    def update(self, *, round: int, signals: Mapping[int, ArmSignal]) -> None:
        for level, sig in self._check_signals(signals):
            window = self.windows[level]  # only its last maxlen entries can stay
            signal = arm_signal(sig, self.config["signal_unit"])
            window.extend(repeat(signal, min(sig.trained, window.maxlen)))
            self.counts[level] += sig.trained

    def level_scores(self) -> dict[int, float]:
        total = sum(self.counts.values())
        out = {}
        for lv in self.levels:
            w = self.windows[lv]
            mean = sum(w) / len(w) if w else 0.0
            out[lv] = mean + math.sqrt(2.0 * math.log(total + 1) / (self.counts[lv] + 1))
        return out

    def level_probabilities(self) -> dict[int, float]:
        return softmax(self.level_scores(), self.config["tau"])

    def state(self) -> dict:
        return {
            "windows": {str(lv): list(w) for lv, w in self.windows.items()},
            "counts": {str(lv): n for lv, n in self.counts.items()},
            "ucb": {str(lv): v for lv, v in self.level_scores().items()},
            "probabilities": {str(lv): v for lv, v in self.level_probabilities().items()},
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        size = self.config["window"]
        windows = {int(k): v for k, v in state.get("windows", {}).items()}
        counts = {int(k): int(v) for k, v in state.get("counts", {}).items()}
        self.windows = {lv: deque((float(x) for x in windows.get(lv, [])), maxlen=size)
                        for lv in self.levels}
        self.counts = {lv: counts.get(lv, 0) for lv in self.levels}
