"""Column arithmetic of the arithmetic family: which columns carry or borrow, the answers
a student gets when it skips a carry or a borrow (for diagnosis), the column error
analysis that attributes a wrong answer to the skills it missed, and the exact solver
that checks a generated problem from its prompt alone."""

from __future__ import annotations

import re

SYMBOL = {"add": "+", "sub": "-", "mul": "*", "compare": "?"}
PROMPT_RE = re.compile(r"^(\d+)([+\-*?])(\d+)=$")


def _digits(x: int) -> list[int]:
    """Little-endian decimal digits."""
    return [int(c) for c in reversed(str(x))]


def _from_digits(ds: list[int]) -> int:
    return int("".join(str(d) for d in reversed(ds)) or "0")


def _columns(a: int, b: int) -> tuple[list[int], list[int]]:
    da, db = _digits(a), _digits(b)
    width = max(len(da), len(db))
    return da + [0] * (width - len(da)), db + [0] * (width - len(db))


def has_carry(a: int, b: int) -> bool:
    da, db = _columns(a, b)
    carry = 0
    for x, y in zip(da, db, strict=True):
        carry = (x + y + carry) // 10
        if carry:
            return True
    return False


def has_borrow(a: int, b: int) -> bool:
    """Whether ``a - b`` (a >= b) borrows in some column."""
    da, db = _columns(a, b)
    borrow = 0
    for x, y in zip(da, db, strict=True):
        borrow = 1 if x - y - borrow < 0 else 0
        if borrow:
            return True
    return False


def sum_without_carries(a: int, b: int) -> int:
    da, db = _columns(a, b)
    return _from_digits([(x + y) % 10 for x, y in zip(da, db, strict=True)])


def diff_without_borrows(a: int, b: int) -> int:
    da, db = _columns(a, b)
    return _from_digits([(x - y) % 10 for x, y in zip(da, db, strict=True)])


def diff_smaller_from_larger(a: int, b: int) -> int:
    """The classic borrow bug: each column subtracts its smaller digit from its larger one."""
    da, db = _columns(a, b)
    return _from_digits([abs(x - y) for x, y in zip(da, db, strict=True)])


def column_error_skills(a: int, b: int, op: str, prediction: str) -> tuple[str, ...]:
    """Error analysis of a wrong answer to ``a + b`` (op ``add``) or ``a - b`` (op ``sub``,
    a >= b), column by column; () when the answer is right.

    A carry column is one whose correct digit takes a carry in (the extra leading digit a
    final carry makes is one); a borrow column is one that borrows or lends. A wrong digit in
    a carry (borrow) column blames ``carry`` (``borrow``), a wrong digit in any other column
    blames ``add`` (``sub``), so an answer can blame both. An answer that is not a plain
    number, or whose digits are all right but written differently (leading zeros), blames
    ``add`` (``sub``): the operation itself failed, not one of its steps.
    """
    if op not in ("add", "sub"):
        raise ValueError(f"column analysis covers add and sub, not {op!r}")
    right = a + b if op == "add" else a - b
    pred = prediction.strip()
    if pred == str(right):
        return ()
    base, step = ("add", "carry") if op == "add" else ("sub", "borrow")
    if not pred.isascii() or not pred.isdigit():
        return (base,)
    da, db = _columns(a, b)
    special: set[int] = set()
    flow = 0  # the carry (add) or borrow (sub) coming into the column
    for i, (x, y) in enumerate(zip(da, db, strict=True)):
        if op == "add":
            if flow:
                special.add(i)
            flow = (x + y + flow) // 10
        else:
            out = 1 if x - y - flow < 0 else 0
            if flow or out:
                special.add(i)
            flow = out
    if flow:  # a final carry makes one more digit
        special.add(len(da))
    want, got = _digits(right), [int(c) for c in reversed(pred)]
    width = max(len(want), len(got))
    want, got = want + [0] * (width - len(want)), got + [0] * (width - len(got))
    wrong = [i for i in range(width) if want[i] != got[i]]
    blamed = [step] if any(i in special for i in wrong) else []
    if any(i not in special for i in wrong) or not wrong:
        blamed.insert(0, base)
    return tuple(blamed)


def solve_prompt(prompt: str) -> str | None:
    """The exact answer of an arithmetic prompt (``"47+38="`` -> ``"85"``), computed from the
    prompt alone; None when the prompt is not ``<number><op><number>=``."""
    m = PROMPT_RE.match(prompt.strip())
    if not m:
        return None
    a, sym, b = int(m.group(1)), m.group(2), int(m.group(3))
    if sym == "+":
        return str(a + b)
    if sym == "-":
        return str(a - b)
    if sym == "*":
        return str(a * b)
    return "<" if a < b else ">" if a > b else "="


def _partial_products(a: int, b: int) -> list[int]:
    return [a * d * 10**i for i, d in enumerate(_digits(b))]


def partials_carry(a: int, b: int) -> bool:
    """Whether summing the shifted partial products of ``a * b`` carries in some column."""
    rows = [_digits(p) for p in _partial_products(a, b)]
    width = max(len(r) for r in rows)
    carry = 0
    for col in range(width):
        total = sum(r[col] for r in rows if col < len(r)) + carry
        carry = total // 10
        if carry:
            return True
    return False


def partials_without_carries(a: int, b: int) -> int:
    rows = [_digits(p) for p in _partial_products(a, b)]
    width = max(len(r) for r in rows)
    return _from_digits([sum(r[col] for r in rows if col < len(r)) % 10 for col in range(width)])


def partials_without_shift(a: int, b: int) -> int:
    return sum(a * d for d in _digits(b))
