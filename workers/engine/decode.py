"""Greedy decoding of a batch of prompts with a static KV cache, stopping when all have ended.

The same decisions as ``model.generate`` with ``do_sample=False`` (the one-by-one path of
docs/checkpoints.md): prompts are left-padded, positions count real tokens only, each new
token is the argmax of the last logits, a sequence that produced eos gets pad from then on,
and decoding stops as soon as every sequence of the batch has ended (or at
``max_new_tokens``). tests/engine/test_decode.py checks the predictions against one
``generate`` call per prompt, with prompts of different lengths in one batch.

Without the ``generate`` machinery a step is one forward call and one argmax. The KV cache is
transformers' ``StaticCache``: its size is fixed before decoding, so on CUDA the decode step
(one token per sequence) is compiled with CUDA graphs (``torch.compile`` mode
``reduce-overhead``) and replayed at every step. To keep the number of graphs small, the
compiled path pads every batch of one call to the same shape (:meth:`GreedyDecoder.shape`:
the call's widest prompt and cache length rounded up, its rows to a power of two). On CPU
the decode step runs eagerly on batches cut to their own widest prompt (nothing to gain from
graphs there).
"""

from __future__ import annotations

import logging

import torch
from transformers import StaticCache

WIDTH_MULTIPLE = 16
KEPT_CACHES = 4  # static caches kept between calls (compiled path), one per shape
CUDA_CHECK_EVERY = 4  # on CUDA, steps between checks that every sequence has ended
log = logging.getLogger(__name__)


class GreedyDecoder:
    """Greedy decoding for one model (its compiled step and caches are kept between calls)."""

    def __init__(self, model: torch.nn.Module, *, pad_id: int, eos_id: int,
                 device: torch.device, autocast=None, compile: bool | None = None):
        self.model = model
        self.pad_id = pad_id
        self.eos_id = eos_id
        self.device = device
        self.autocast = autocast
        cuda = device.type == "cuda"
        self.compile = cuda if compile is None else bool(compile)
        self.check_every = CUDA_CHECK_EVERY if cuda else 1
        self._step = None  # the compiled decode step, or False after a failure
        self._caches: dict[tuple[int, int], StaticCache] = {}

    def shape(self, lengths: list[int], batch_size: int,
              max_new_tokens: int) -> tuple[int, int, int]:
        """(rows, prompt width, cache length) every batch of a compiled call is padded to:
        rows a power of two up to ``batch_size``, width and cache length rounded up to
        multiples of WIDTH_MULTIPLE, so calls of other sizes mostly meet known shapes."""
        rows = min(batch_size, 1 << max(len(lengths) - 1, 0).bit_length())
        width = -(-max(lengths, default=1) // WIDTH_MULTIPLE) * WIDTH_MULTIPLE
        total = -(-(width + max_new_tokens) // WIDTH_MULTIPLE) * WIDTH_MULTIPLE
        return rows, width, total

    @torch.no_grad()
    def decode(self, prompts: list[list[int]], *, max_new_tokens: int,
               shape: tuple[int, int, int] | None = None) -> list[list[int]]:
        """The new token ids for each prompt (a batch), pad after an eos; with ``shape``
        (rows, width, cache length) the batch is padded to it first (compiled path)."""
        n = len(prompts)
        if shape is None:
            rows, width = n, max(len(p) for p in prompts)
            total = width + max_new_tokens
        else:
            rows, width, total = max(shape[0], n), shape[1], shape[2]
            prompts = prompts + [prompts[0]] * (rows - n)  # filler rows, dropped below
        input_ids = torch.full((rows, width), self.pad_id, dtype=torch.long)
        mask = torch.ones((rows, total), dtype=torch.long)
        for r, ids in enumerate(prompts):
            input_ids[r, width - len(ids):] = torch.tensor(ids)
            mask[r, : width - len(ids)] = 0
        positions = (mask[:, :width].cumsum(-1) - 1).clamp(min=0)
        next_pos = positions[:, -1:] + 1
        if self.device.type == "cuda":
            input_ids, mask, positions, next_pos = (
                t.pin_memory().to(self.device, non_blocking=True)
                for t in (input_ids, mask, positions, next_pos))
        cache = self._cache(rows, total)
        with self._autocast():
            logits = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                                cache=cache, use_cache=True, logits_to_keep=1).logits
        token = logits[:, -1].argmax(-1)
        out = torch.full((rows, max_new_tokens), self.pad_id, dtype=torch.long,
                         device=self.device)
        finished = torch.zeros(rows, dtype=torch.bool, device=self.device)
        pad = torch.tensor(self.pad_id, device=self.device)
        for t in range(max_new_tokens):
            token = torch.where(finished, pad, token)
            out[:, t] = token
            finished |= token == self.eos_id
            if t + 1 == max_new_tokens:
                break
            if (t + 1) % self.check_every == 0 and bool(finished.all()):
                break
            token = self._decode_step(token[:, None], mask, next_pos + t, cache)
        return out[:n].tolist()

    def _autocast(self):
        import contextlib

        return self.autocast() if self.autocast is not None else contextlib.nullcontext()

    def _cache(self, rows: int, total: int) -> StaticCache:
        key = (rows, total)
        cache = self._caches.get(key) if self.compile else None
        if cache is None:
            cache = StaticCache(config=self.model.config, max_cache_len=total)
            if self.compile:  # kept for the next call of this shape (static addresses)
                if len(self._caches) >= KEPT_CACHES:
                    self._caches.pop(next(iter(self._caches)))
                self._caches[key] = cache
        else:
            cache.reset()
        return cache

    def _forward_step(self, token, mask, position, cache) -> torch.Tensor:
        with self._autocast():
            logits = self.model(input_ids=token, attention_mask=mask, position_ids=position,
                                cache=cache, use_cache=True).logits
        return logits[:, -1].argmax(-1)

    def _decode_step(self, token, mask, position, cache) -> torch.Tensor:
        if self.compile and self._step is None:
            self._step = torch.compile(self._forward_step, mode="reduce-overhead",
                                       fullgraph=False, dynamic=False)
        if self.compile and self._step is not False:
            torch.compiler.cudagraph_mark_step_begin()  # the last step's outputs are copied
            try:
                return self._step(token, mask, position, cache).clone()
            except Exception as exc:  # noqa: BLE001 - any compiler failure: run eagerly
                log.warning("compiled decode step failed, decoding eagerly: %s", exc)
                self._step = False
        return self._forward_step(token, mask, position, cache)
