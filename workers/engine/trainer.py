"""Supervised training of the student: N AdamW steps on a list of items, answer-only loss.

Written by hand rather than with ``transformers.Trainer``: batches are length-bucketed (sorted
by length inside a shuffled mega-batch) so little compute goes to padding, there is no per-step
callback machinery, and the order of batches comes from one seeded generator so a CPU run is
repeatable bit for bit. ``benchmarks/train_speed.py`` measures the difference.

On CUDA the step also packs each batch's items into fixed-width rows (``workers.engine.packing``:
the same items and the same loss, attention kept within each item) and runs forward and loss as
one ``torch.compile`` graph, under bf16 autocast with fused AdamW; batches go through pinned
memory with non-blocking copies, and the loss is read back only when progress is reported, so
the host does not wait on the GPU at every step. On CPU both stay off unless asked
(``Trainer(pack=True, compile=True)``): the padded eager step is the fastest there and keeps runs
repeatable bit for bit.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch

from workers.engine import torch_trace
from workers.engine.errors import EngineError, RunCancelled
from workers.engine.packing import collate_packed, packable, row_width
from workers.engine.student import Student
from workers.engine.tasks.base import Item

IGNORE = -100
MEGA_BATCHES = 16  # batches per mega-batch, sorted by length inside it
COMPILE_BACKEND = "inductor"  # torch.compile backend of the compiled step
SYNC_EVERY = 32  # on CUDA, steps between reading losses back (besides progress reports)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainProgress:
    step: int  # steps done in this call
    total_steps: int
    loss: float  # mean loss since the previous report
    tokens_per_s: float
    eta_s: float


@dataclass(frozen=True)
class TrainResult:
    steps: int
    loss: float  # mean loss over the last quarter of the steps
    first_loss: float
    losses: tuple[float, ...]
    tokens: int  # non-padding tokens seen
    seconds: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


def collate(student: Student, batch: list[tuple[list[int], int]]) -> dict[str, torch.Tensor]:
    """Right-padded input ids, attention mask and labels (-100 on prompt and padding)."""
    width = max(len(ids) for ids, _ in batch)
    input_ids = torch.full((len(batch), width), student.pad_id, dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    for row, (ids, n_prompt) in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        attention[row, : len(ids)] = 1
        labels[row, n_prompt: len(ids)] = torch.tensor(ids[n_prompt:])
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


def bucketed_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Indices grouped into batches of similar length, in a seeded random order.

    The indices are shuffled, cut into mega-batches of ``MEGA_BATCHES`` batches, each sorted by
    length and cut into batches; the batch order is then shuffled again.
    """
    order = list(range(len(lengths)))
    rng.shuffle(order)
    mega = batch_size * MEGA_BATCHES
    batches: list[list[int]] = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start: start + mega], key=lambda i: lengths[i])
        batches.extend(chunk[i: i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


class Trainer:
    """Holds the optimizer across rounds; :meth:`train` takes ``steps`` optimizer steps."""

    def __init__(self, student: Student, *, lr: float, batch_size: int,
                 weight_decay: float = 0.0, warmup_steps: int = 0,
                 pack: bool | None = None, compile: bool | str | None = None):
        """``pack``: lay each batch out packed (None: on CUDA for model families known to
        support it). ``compile``: run forward and loss through ``torch.compile`` (None: on
        CUDA when packing; a string is the compile mode)."""
        self.student = student
        self.lr = lr
        self.batch_size = batch_size
        self.warmup_steps = warmup_steps
        self.global_step = 0
        cuda = student.device.type == "cuda"
        self.pack = bool(cuda and packable(student.model)) if pack is None else bool(pack)
        if compile is None:
            compile = cuda and self.pack
        self.compile_mode = (compile if isinstance(compile, str) else
                             ("reduce-overhead" if cuda else "default")) \
            if compile else None
        self._compiled = None
        self.optimizer = torch.optim.AdamW(student.trainable_parameters(), lr=lr,
                                           weight_decay=weight_decay, fused=cuda)

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "global_step": self.global_step}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.global_step = int(state["global_step"])

    def _set_lr(self) -> None:
        scale = min(1.0, (self.global_step + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr * scale

    def train(self, items: list[Item], *, steps: int, seed: int,
              on_progress: Callable[[TrainProgress], None] | None = None,
              should_stop: Callable[[], bool] | None = None,
              report_every_s: float = 2.0, report_every_steps: int = 0) -> TrainResult:
        """Take ``steps`` optimizer steps over ``items`` (cycled in new orders when short).

        ``should_stop`` is checked before every step; a true answer raises RunCancelled.
        Progress is reported every ``report_every_s`` seconds (or ``report_every_steps``
        steps when given) and after the last step.
        """
        if not items:
            raise EngineError("nothing to train on: the round's training list is empty")
        student = self.student
        encoded = [student.encode_pair(it.prompt, it.answer) for it in items]
        lengths = [len(ids) for ids, _ in encoded]
        width = row_width(lengths)
        cuda = student.device.type == "cuda"
        rng = random.Random(seed)
        torch.manual_seed(seed)  # dropout (e.g. LoRA dropout) draws from the global generator
        model = student.model
        model.train()
        batches: list[list[int]] = []
        losses: list[float] = []
        pending: list[torch.Tensor] = []  # losses not yet read back from the device
        tokens = 0
        window_loss, window_steps, window_tokens = 0.0, 0, 0
        trace = torch_trace.current()
        start = last_report = time.perf_counter()
        for step in range(steps):
            if should_stop is not None and should_stop():
                raise RunCancelled(f"stopped at training step {step} of {steps}")
            if not batches:
                batches = bucketed_batches(lengths, self.batch_size, rng)
                batches.reverse()  # pop() from the end keeps the shuffled order
            chosen = [encoded[i] for i in batches.pop()]
            if self.pack:
                batch = collate_packed(chosen, pad_id=student.pad_id, width=width,
                                       bucket_rows=self.compile_mode is not None)
                n_tokens = int(batch.pop("tokens"))
            else:
                batch = collate(student, chosen)
                n_tokens = int(batch["attention_mask"].sum())
            if cuda:
                batch = {k: v.pin_memory() for k, v in batch.items()}
            batch = {k: v.to(student.device, non_blocking=True) for k, v in batch.items()}
            if trace is not None:
                trace.step(student.device)
            self._set_lr()
            loss = self._loss(batch)
            loss.backward()
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.global_step += 1
            pending.append(loss.detach().clone())  # a CUDA graph reuses its output buffer
            tokens += n_tokens
            window_steps += 1
            window_tokens += n_tokens
            now = time.perf_counter()
            due = (report_every_steps and (step + 1) % report_every_steps == 0) or (
                not report_every_steps and now - last_report >= report_every_s)
            last = step + 1 == steps
            reporting = on_progress is not None and (due or last)
            if not cuda or reporting or last or len(pending) >= SYNC_EVERY:
                values = torch.stack(pending).tolist()
                first = step + 1 - len(values)
                pending = []
                for k, value in enumerate(values):
                    if not math.isfinite(value):
                        raise EngineError(f"training loss became {value} at step "
                                          f"{first + k + 1}; lower spec.train.lr")
                losses.extend(values)
                window_loss += sum(values)
                if cuda:
                    now = time.perf_counter()  # after the GPU caught up: honest rates
            if reporting:
                elapsed = now - start
                on_progress(TrainProgress(
                    step=step + 1, total_steps=steps, loss=window_loss / window_steps,
                    tokens_per_s=window_tokens / max(now - last_report, 1e-9),
                    eta_s=elapsed / (step + 1) * (steps - step - 1),
                ))
                window_loss, window_steps, window_tokens = 0.0, 0, 0
                last_report = now
        if trace is not None:
            trace.finish()
        seconds = time.perf_counter() - start
        tail = losses[-max(1, len(losses) // 4):]
        return TrainResult(steps=steps, loss=sum(tail) / len(tail), first_loss=losses[0],
                           losses=tuple(losses), tokens=tokens, seconds=seconds)


    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The answer-only loss of one batch (padded or packed), compiled when asked; a
        compiled step that fails is dropped for the eager one, with a warning. Packed rows
        have a fixed width and a bucketed count, marked dynamic: one compilation, and with
        CUDA graphs one recorded graph per bucket."""
        if self.compile_mode is not None and self._compiled is None:
            mode = None if COMPILE_BACKEND != "inductor" else self.compile_mode
            self._compiled = torch.compile(self._forward_loss, backend=COMPILE_BACKEND,
                                           mode=mode)
        if self._compiled is not None and self._compiled is not False:
            if self.pack:  # the row count varies (a few buckets): one graph for all of them
                for tensor in batch.values():
                    torch._dynamo.maybe_mark_dynamic(tensor, 0)
            if self.compile_mode == "reduce-overhead":
                torch.compiler.cudagraph_mark_step_begin()  # a new iteration of the graphs
            try:
                return self._compiled(batch)
            except Exception as exc:  # noqa: BLE001 - any compiler failure: run eagerly
                log.warning("compiled training step failed, running eagerly: %s", exc)
                self._compiled = False
        return self._forward_loss(batch)

    def _forward_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        with self.student.autocast():
            if "position_ids" in batch:  # packed: no mask, attention kept within each item
                out = self.student.model(input_ids=batch["input_ids"],
                                         position_ids=batch["position_ids"], use_cache=False)
            else:
                out = self.student.model(input_ids=batch["input_ids"],
                                         attention_mask=batch["attention_mask"],
                                         use_cache=False)
        return answer_loss(out.logits, batch["labels"])


class TokenScore(NamedTuple):
    """One item's answer scored teacher-forced: tokens predicted right, answer tokens, and
    the summed probability the student gives the reference token at each of them."""

    hits: int
    tokens: int
    prob: float


@torch.no_grad()
def answer_token_scores(student: Student, items: list[Item], *,
                        batch_size: int = 64) -> list[TokenScore]:
    """A :class:`TokenScore` per item, teacher-forced: at each position of the answer (and
    its eos) the student's most likely next token is compared with the reference's, and the
    probability it gives the reference token is added up. Unlike a greedy answer, which is
    right or wrong as a whole, this says how much of an answer a student that solves none
    of a level already gets."""
    model = student.model
    was_training = model.training
    model.eval()
    out: list[TokenScore] = []
    try:
        for start in range(0, len(items), batch_size):
            chunk = items[start: start + batch_size]
            batch = collate(student, [student.encode_pair(it.prompt, it.answer) for it in chunk])
            batch = {k: v.to(student.device) for k, v in batch.items()}
            with student.autocast():
                logits = model(input_ids=batch["input_ids"],
                               attention_mask=batch["attention_mask"], use_cache=False).logits
            logits = logits[:, :-1].float()
            labels = batch["labels"][:, 1:]
            scored = labels != IGNORE
            hits = (logits.argmax(-1) == labels) & scored
            probs = logits.softmax(-1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            probs = (probs * scored).sum(1)
            out.extend(TokenScore(h, n, p) for h, n, p in zip(
                hits.sum(1).tolist(), scored.sum(1).tolist(), probs.tolist(), strict=True))
    finally:
        model.train(was_training)
    return out


def answer_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over the positions whose label is not -100."""
    shift_logits = logits[:, :-1].float()
    shift_labels = labels[:, 1:]
    return torch.nn.functional.cross_entropy(
        shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1),
        ignore_index=IGNORE,
    )
