"""Reading settings from the environment, failing fast with a message naming the variable."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_paths(name: str, default: list[Path]) -> list[Path]:
    """A comma-separated list of absolute paths."""
    paths = [Path(p) for p in env_list(name, [str(p) for p in default])]
    for path in paths:
        if not path.is_absolute():
            raise ImproperlyConfigured(f"{name} must list absolute paths, got {str(path)!r}")
    return paths


def env_fernet_keys(name: str) -> list[str]:
    """Comma-separated Fernet keys (32 url-safe base64-encoded bytes each), or [] when unset.

    A malformed key stops start-up naming the variable and the key's position, never its
    value."""
    keys = env_list(name, [])
    for position, key in enumerate(keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except (ValueError, binascii.Error):
            raw = b""
        if len(raw) != 32:
            raise ImproperlyConfigured(
                f"{name}: key {position} of {len(keys)} is not a Fernet key (32 url-safe "
                "base64-encoded bytes); make one with `python -c \"from cryptography.fernet "
                "import Fernet; print(Fernet.generate_key().decode())\"`"
            )
    return keys


def database_config(name: str, default_sqlite: Path) -> dict:
    """The DATABASES['default'] entry: SQLite in the data folder unless ``name`` is set."""
    import dj_database_url

    raw = os.environ.get(name, "")
    if not raw:
        default_sqlite.parent.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(default_sqlite),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    scheme = urlsplit(raw).scheme
    if scheme not in ("postgres", "postgresql", "pgsql", "sqlite"):
        raise ImproperlyConfigured(
            f"{name} must be a postgres:// (or sqlite://) URL, got scheme {scheme or 'none'!r} "
            f"in {_redact(raw)!r}"
        )
    try:
        config = dj_database_url.parse(raw, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # dj-database-url raises several types on bad input
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None
    if scheme != "sqlite" and not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} names no database (expected postgres://host/dbname)")
    return config


def enable_pool(config: dict, *, max_size: int, timeout_s: float) -> None:
    """Turn a PostgreSQL DATABASES entry into a pooled one (Django's psycopg pool): no
    persistent connections of its own, at most ``max_size`` per process, a request waits
    up to ``timeout_s`` for a free one. SQLite is left as it is."""
    if config.get("ENGINE") != "django.db.backends.postgresql":
        return
    if max_size < 1:
        raise ImproperlyConfigured("STUDIO_DB_POOL_MAX_SIZE must be at least 1")
    config["CONN_MAX_AGE"] = 0  # the pool keeps the connections; Django refuses both
    config["CONN_HEALTH_CHECKS"] = False
    config.setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": max_size, "timeout": timeout_s,
    }


BROKER_SCHEMES = ("redis", "rediss", "amqp", "pyamqp", "filesystem", "memory")


def broker_url(name: str, default: str) -> str:
    raw = os.environ.get(name, "") or default
    parts = urlsplit(raw)
    if parts.scheme not in BROKER_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must start with one of {', '.join(s + '://' for s in BROKER_SCHEMES)}, "
            f"got {_redact(raw)!r}"
        )
    if parts.scheme in ("redis", "rediss", "amqp", "pyamqp"):
        try:
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            raise ImproperlyConfigured(f"{name} has a malformed port: {_redact(raw)!r}") from None
        if not parts.hostname:
            raise ImproperlyConfigured(f"{name} names no host: {_redact(raw)!r}")
    return raw


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(parts.password, "***")
    return url
