"""Tests: fast password hashing, eager nothing (real broker where tests need one)."""

from config.settings.base import *  # noqa: F403
from config.settings.base import DATA_DIR

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STUDIO_ARTIFACTS_DIR = DATA_DIR / "test-artifacts"
