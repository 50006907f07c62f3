"""Seeds of a run: every random draw of round ``r`` comes from ``(spec.seed, r, purpose)``.

Each purpose (pool, eval, draw, synth, signals, train) gets its own generator, so adding draws
for one purpose never shifts another's.
"""

from __future__ import annotations

import hashlib
import random


def derive_seed(seed: int, round_: int, purpose: str) -> int:
    digest = hashlib.sha256(f"{seed}:{round_}:{purpose}".encode()).hexdigest()
    return int(digest[:8], 16)


def round_rng(seed: int, round_: int, purpose: str) -> random.Random:
    return random.Random(derive_seed(seed, round_, purpose))
