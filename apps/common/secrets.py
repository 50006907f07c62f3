"""Secrets at rest: the one place that encrypts and decrypts them (teachers' API keys).

Values are encrypted with Fernet under the keys of ``settings.STUDIO_SECRET_KEYS``
(comma-separated in the environment): the first key encrypts, every key decrypts
(``MultiFernet``), so a key is rotated by putting a new one first, running
``manage.py rotate_secret_keys`` and then dropping the old one (docs/security.md). When the
setting is empty (development, tests) one key is derived from ``SECRET_KEY``; production
settings refuse to start without it.

A stored value is ``fernet:<token>``. :class:`EncryptedTextField` encrypts on the way to the
database and decrypts on the way back, so code reads the plain value from the model
(``teacher.api_key``) and the database, dumps and backups hold only tokens. An empty value
stays empty (``has_api_key`` and ``filter(api_key="")`` keep working); a value without the
prefix is a plain value from before encryption (the migration and the rotation command
encrypt those).
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction

PREFIX = "fernet:"
SETTING = "STUDIO_SECRET_KEYS"


class SecretKeyError(ImproperlyConfigured):
    """A stored secret cannot be decrypted with the configured keys."""


def derived_key(secret_key: str) -> str:
    """The Fernet key used when STUDIO_SECRET_KEYS is unset (development and tests only)."""
    digest = hashlib.sha256(b"curriculum-studio/secrets/v1\0" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def configured_keys() -> tuple[str, ...]:
    keys = tuple(getattr(settings, SETTING, None) or ())
    return keys or (derived_key(settings.SECRET_KEY),)


@functools.lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError):
        # never echo the keys themselves
        raise ImproperlyConfigured(
            f"{SETTING} must hold Fernet keys (32 url-safe base64-encoded bytes each)"
        ) from None


def _multi() -> MultiFernet:
    return _fernet(configured_keys())


def is_encrypted(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def encrypt(plaintext: str) -> str:
    """``fernet:<token>`` for ``plaintext`` under the first key; "" stays ""."""
    if not plaintext:
        return ""
    return PREFIX + _multi().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    """The plain value of ``fernet:<token>``; "" stays "". Raises SecretKeyError when no
    configured key opens it."""
    if not stored:
        return ""
    if not is_encrypted(stored):
        raise ValueError("not an encrypted value")
    try:
        return _multi().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise SecretKeyError(
            f"a stored secret cannot be decrypted with the keys in {SETTING}: was the key "
            "that encrypted it dropped before `manage.py rotate_secret_keys` ran? "
            "(docs/security.md)"
        ) from None


class EncryptedTextField(models.TextField):
    """Text stored encrypted (``fernet:<token>``) and read back as the plain value."""

    description = "Text encrypted at rest with the keys of STUDIO_SECRET_KEYS"

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if is_encrypted(value) else value

    def to_python(self, value):
        # Fixtures and dumps hold tokens (see value_to_string); typed input is plain text.
        if is_encrypted(value):
            try:
                return decrypt(value)
            except SecretKeyError:
                return value
        return super().to_python(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None else encrypt(value)

    def value_to_string(self, obj):
        # dumpdata and other serializations hold the token, never the plain value
        return encrypt(self.value_from_object(obj) or "")


def encrypted_fields(model) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]


def reencrypt_all() -> dict[str, int]:
    """Re-encrypt every stored secret of every model with the first configured key (and
    encrypt any plain value left from before encryption): ``{model label: values}``."""
    from django.apps import apps

    counts: dict[str, int] = {}
    for model in apps.get_models():
        names = encrypted_fields(model)
        if not names:
            continue
        done = 0
        with transaction.atomic():
            rows = model._base_manager.select_for_update().values_list("pk", *names)
            for pk, *values in rows:
                changes = {name: value for name, value in zip(names, values, strict=True)
                           if value}
                if changes:
                    # read decrypted with any key, written encrypted with the first
                    model._base_manager.filter(pk=pk).update(**changes)
                    done += len(changes)
        counts[model._meta.label] = done
    return counts
