"""Which line of a file first used each item id, in little memory.

An import checks every row's id against the ids of the project and of the lines before it.
A set of Python strings costs about 120 bytes an id (the string, the dict entry, the line
number), so a 200 MB file of 2 million short rows would hold some 240 MB for it alone;
this table keeps a 64-bit digest and a line number per id in two flat arrays: 16 bytes a
slot, 32 to 64 bytes an id (the table is kept between a quarter and a half full).

Two different ids with the same 64-bit digest would be taken for the same id (a row
wrongly reported as a repeat): the odds are about n² / 2^65, one in nine million for a
file of 2 million ids.
"""

from __future__ import annotations

from array import array
from hashlib import blake2b

_EMPTY = 0


def _digest(key: str) -> int:
    value = int.from_bytes(blake2b(key.encode("utf-8", "surrogatepass"),
                                   digest_size=8).digest(), "little")
    return value or 1  # 0 marks an empty slot


class KeyLines:
    """``add(key, line)`` and ``get(key) -> line | None`` over an open-addressing table."""

    def __init__(self, keys=(), line: int = 0):
        self._mask = 1023
        self._digests = array("Q", bytes(8 * (self._mask + 1)))
        self._lines = array("Q", bytes(8 * (self._mask + 1)))
        self._count = 0
        for key in keys:
            self.add(key, line)

    def __len__(self) -> int:
        return self._count

    def _slot(self, digest: int) -> int:
        i = digest & self._mask
        digests = self._digests
        while digests[i] != _EMPTY and digests[i] != digest:
            i = (i + 1) & self._mask
        return i

    def get(self, key: str) -> int | None:
        digest = _digest(key)
        i = self._slot(digest)
        return self._lines[i] if self._digests[i] == digest else None

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def add(self, key: str, line: int) -> None:
        """Record ``key`` at ``line`` (a key already there keeps its first line)."""
        digest = _digest(key)
        i = self._slot(digest)
        if self._digests[i] == digest:
            return
        self._digests[i], self._lines[i] = digest, line
        self._count += 1
        if 2 * self._count > self._mask:
            self._grow()

    def _grow(self) -> None:
        old_digests, old_lines = self._digests, self._lines
        self._mask = 2 * self._mask + 1
        self._digests = array("Q", bytes(8 * (self._mask + 1)))
        self._lines = array("Q", bytes(8 * (self._mask + 1)))
        for digest, line in zip(old_digests, old_lines, strict=True):
            if digest != _EMPTY:
                i = self._slot(digest)
                self._digests[i], self._lines[i] = digest, line
