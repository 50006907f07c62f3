"""Sequence packing for training: several items share one row, with no leakage between them.

A step still trains on the same items as the padded layout (one bucketed batch); packing only
changes how they are laid out. Items are placed into rows of a fixed width by first-fit
decreasing; each item's position ids start again at 0 and no attention mask is passed, so
transformers (5.x, ``masking_utils.find_packed_sequence_indices``) builds a block-diagonal
causal mask from the position ids: a token attends only to earlier tokens of its own item, and
rotary positions are those the item would have alone. The padding tail of a row is a segment
of its own. Labels are -100 on prompts, padding and every item's first token, so no token is
ever asked to predict the next item's first token. The loss (mean over answer tokens) equals
the padded layout's loss on the same items (tests/engine/test_packing.py).

Fixed shapes help compiled steps and CUDA graphs: the row width is a multiple of
:data:`WIDTH_MULTIPLE` (at least :data:`MIN_WIDTH`), and with ``bucket_rows`` the number of
rows is rounded up to one of a few sizes (:func:`row_bucket`), so a run compiles a handful of
graphs rather than one per batch.
"""

from __future__ import annotations

import torch

IGNORE = -100
WIDTH_MULTIPLE = 16
MIN_WIDTH = 64
# model families whose transformers implementation reads packed position ids (attention and
# rotary positions reset per item); packing is only switched on by default for these
PACKABLE_MODEL_TYPES = frozenset({"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2",
                                  "gemma3_text", "phi3", "olmo", "olmo2", "granite"})


def packable(model: torch.nn.Module) -> bool:
    """Whether packing is known to keep items apart for this model's family."""
    config = getattr(model, "config", None)
    base = getattr(model, "get_base_model", None)  # peft wraps the model
    if base is not None:
        config = getattr(base(), "config", config)
    return getattr(config, "model_type", None) in PACKABLE_MODEL_TYPES


def row_width(lengths: list[int]) -> int:
    """The width of packed rows for items of ``lengths``: the longest rounded up to a multiple
    of WIDTH_MULTIPLE, at least MIN_WIDTH (few distinct widths across rounds)."""
    longest = max(lengths, default=1)
    return max(MIN_WIDTH, -(-longest // WIDTH_MULTIPLE) * WIDTH_MULTIPLE)


def pack_rows(lengths: list[int], width: int) -> list[list[int]]:
    """Indices of ``lengths`` grouped into rows whose total length is at most ``width``
    (first-fit decreasing, ties by index, so the layout is deterministic)."""
    rows: list[list[int]] = []
    room: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        n = lengths[i]
        if n > width:
            raise ValueError(f"an item of {n} tokens does not fit a packed row of {width}")
        for r, free in enumerate(room):
            if n <= free:
                rows[r].append(i)
                room[r] -= n
                break
        else:
            rows.append([i])
            room.append(width - n)
    return rows


def row_bucket(n: int) -> int:
    """``n`` rounded up to 1, 2, 3, 4, 6, 8, 12, 16, 24, ... (at most a third wasted)."""
    size = 1
    while size < n:
        if size == 1:
            size = 2
        elif size & (size - 1) == 0:  # a power of two: the step to 1.5 times it
            size = size * 3 // 2
        else:  # 1.5 times a power of two: on to the next power of two
            size = size * 4 // 3
    return size


def collate_packed(batch: list[tuple[list[int], int]], *, pad_id: int, width: int,
                   bucket_rows: bool = False) -> dict[str, torch.Tensor]:
    """Packed ``input_ids``, ``position_ids`` and ``labels`` for ``batch`` (pairs of token ids
    and prompt length), in rows of ``width``; ``tokens`` counts the items' tokens."""
    rows = pack_rows([len(ids) for ids, _ in batch], width)
    n_rows = row_bucket(len(rows)) if bucket_rows else len(rows)
    input_ids = torch.full((n_rows, width), pad_id, dtype=torch.long)
    position_ids = torch.arange(width, dtype=torch.long).repeat(n_rows, 1)
    labels = torch.full((n_rows, width), IGNORE, dtype=torch.long)
    tokens = 0
    for r, members in enumerate(rows):
        at = 0
        for i in members:
            ids, n_prompt = batch[i]
            n = len(ids)
            input_ids[r, at: at + n] = torch.tensor(ids)
            position_ids[r, at: at + n] = torch.arange(n)
            # the first token of an item is never a label (it is a prompt token anyway)
            start = max(n_prompt, 1)
            labels[r, at + start: at + n] = torch.tensor(ids[start:])
            at += n
            tokens += n
        if at < width:  # the padding tail: a segment of its own, positions from 0
            position_ids[r, at:] = torch.arange(width - at)
    return {"input_ids": input_ids, "position_ids": position_ids, "labels": labels,
            "tokens": torch.tensor(tokens)}
