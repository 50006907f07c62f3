"""Batched greedy evaluation of the student with the KV cache, and per-skill/level accuracy.

Prompts are sorted by length (few pad tokens), cut into batches, left-padded and decoded
together by :class:`workers.engine.decode.GreedyDecoder` (greedy, static KV cache, a compiled
decode step on CUDA), which stops once every answer of the batch has reached its eos; the
predictions are those of one ``model.generate`` call per prompt. ``max_new_tokens`` comes from
the longest reference answer, so a wrong answer cannot ramble.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from workers.engine.decode import GreedyDecoder
from workers.engine.errors import RunCancelled
from workers.engine.profile import (
    LevelStat,
    SkillStat,
    Verdict,
    build_level_stats,
    build_profile,
)
from workers.engine.student import Student
from workers.engine.tasks.base import Item, TaskFamily

ANSWER_SLACK = 2  # extra tokens beyond the longest reference answer


@torch.no_grad()
def generate_answers(student: Student, prompts: list[str], *, max_new_tokens: int,
                     batch_size: int = 64,
                     should_stop: Callable[[], bool] | None = None) -> list[str]:
    """Greedy answers to ``prompts`` (in input order), batched by prompt length."""
    model = student.model
    was_training = model.training
    model.eval()
    decoder = greedy_decoder(student)
    encoded = [student.encode_prompt(p) for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    answers: list[str] = [""] * len(prompts)
    shape = decoder.shape([len(e) for e in encoded], batch_size, max_new_tokens) \
        if decoder.compile else None
    try:
        for start in range(0, len(order), batch_size):
            if should_stop is not None and should_stop():
                raise RunCancelled(f"stopped while evaluating ({start} of {len(order)} done)")
            idx = order[start: start + batch_size]
            new = decoder.decode([encoded[i] for i in idx], max_new_tokens=max_new_tokens,
                                 shape=shape)
            for row, i in enumerate(idx):
                answers[i] = student.decode_answer(new[row])
    finally:
        model.train(was_training)
    return answers


def greedy_decoder(student: Student) -> GreedyDecoder:
    """The student's decoder (kept with it, so a compiled step is compiled once)."""
    decoder = student._cache.get("greedy_decoder")
    if decoder is None or decoder.model is not student.model:
        decoder = GreedyDecoder(student.model, pad_id=student.pad_id, eos_id=student.eos_id,
                                device=student.device, autocast=student.autocast)
        student._cache["greedy_decoder"] = decoder
    return decoder


def eval_max_new_tokens(student: Student, items: list[Item]) -> int:
    """The new-token limit of one evaluation: the longest reference answer (with its eos)
    plus ANSWER_SLACK. Saved in each checkpoint's generation config."""
    return max((student.answer_length(it.answer) for it in items), default=1) + ANSWER_SLACK


def evaluate_items(student: Student, family: TaskFamily, items: list[Item], *,
                   split: str = "eval", batch_size: int = 64,
                   max_new_tokens: int | None = None,
                   should_stop: Callable[[], bool] | None = None) -> list[Verdict]:
    """One verdict per item (input order), judged by ``family.verify``."""
    if not items:
        return []
    if max_new_tokens is None:
        max_new_tokens = max(student.answer_length(it.answer) for it in items) + ANSWER_SLACK
    predictions = generate_answers(student, [it.prompt for it in items],
                                   max_new_tokens=max_new_tokens, batch_size=batch_size,
                                   should_stop=should_stop)
    return [
        Verdict(item_id=it.id, skills=tuple(it.skills), level=it.level,
                correct=bool(family.verify(it, pred)), prediction=pred, split=split)
        for it, pred in zip(items, predictions, strict=True)
    ]


@dataclass(frozen=True)
class EvalReport:
    """Verdicts of the eval split and of the held-out levels, with their statistics."""

    verdicts: tuple[Verdict, ...]
    held_out: tuple[Verdict, ...]
    levels: tuple[LevelStat, ...]
    held_out_levels: tuple[LevelStat, ...]

    @property
    def accuracy(self) -> float:
        return _accuracy(self.verdicts)

    @property
    def held_out_accuracy(self) -> float | None:
        return _accuracy(self.held_out) if self.held_out else None

    def profile(self, skills: list[str]) -> tuple[SkillStat, ...]:
        return tuple(build_profile(list(self.verdicts), skills))

    def skill_accuracy(self, skills: list[str]) -> dict[str, float]:
        return {row.skill: row.accuracy for row in self.profile(skills) if row.evaluated}


def _accuracy(verdicts) -> float:
    return sum(v.correct for v in verdicts) / len(verdicts) if verdicts else 0.0


def evaluate(student: Student, family: TaskFamily, items: list[Item], *,
             held_out_levels: tuple[int, ...] = (), batch_size: int = 64,
             should_stop: Callable[[], bool] | None = None) -> EvalReport:
    """Evaluate ``items``; items at ``held_out_levels`` are judged and reported apart."""
    held = set(held_out_levels)
    main = [it for it in items if it.level not in held]
    apart = [it for it in items if it.level in held]
    max_new = eval_max_new_tokens(student, items)
    verdicts = evaluate_items(student, family, main, split="eval", batch_size=batch_size,
                              max_new_tokens=max_new, should_stop=should_stop)
    held_verdicts = evaluate_items(student, family, apart, split="held_out",
                                   batch_size=batch_size, max_new_tokens=max_new,
                                   should_stop=should_stop)
    return EvalReport(
        verdicts=tuple(verdicts), held_out=tuple(held_verdicts),
        levels=tuple(build_level_stats(verdicts)),
        held_out_levels=tuple(build_level_stats(held_verdicts)),
    )
