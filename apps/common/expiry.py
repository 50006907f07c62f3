"""The state of something that can expire or be revoked (API tokens, share links)."""

from __future__ import annotations

from datetime import datetime


def expiry_state(*, revoked_at: datetime | None, expires_at: datetime | None,
                 now: datetime) -> str:
    """"active", "expired" or "revoked" at ``now``; revoked wins over expired."""
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and expires_at <= now:
        return "expired"
    return "active"
