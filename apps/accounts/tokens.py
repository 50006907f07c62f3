"""The form of a personal API token: ``cst_<prefix>_<secret>``.

``prefix`` is 12 hex characters, stored in clear to find the token's row; ``secret`` is 32
random bytes (URL-safe base64, 43 characters), of which only the sha256 digest is stored.
A slow password hash is not needed: the secret is random and 256 bits long, so a leaked
digest cannot be turned back into a token by guessing.
"""

from __future__ import annotations

import hashlib
import re
import secrets

SCHEME = "cst"
PREFIX_BYTES = 6  # 12 hex characters
SECRET_BYTES = 32
_TOKEN = re.compile(rf"{SCHEME}_([0-9a-f]{{{2 * PREFIX_BYTES}}})_([A-Za-z0-9_-]{{43}})")


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def token_generate() -> tuple[str, str, str]:
    """A new token: ``(token, prefix, digest of its secret)``."""
    prefix = secrets.token_hex(PREFIX_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return f"{SCHEME}_{prefix}_{secret}", prefix, token_digest(secret)


def token_parse(raw: str) -> tuple[str, str] | None:
    """``(prefix, digest of the secret)`` of a well-formed token, else None."""
    match = _TOKEN.fullmatch(raw or "")
    if match is None:
        return None
    prefix, secret = match.groups()
    return prefix, token_digest(secret)


def token_display(prefix: str) -> str:
    """How a stored token is named on pages: its public part only."""
    return f"{SCHEME}_{prefix}_…"
