"""Tests: fast password hashing, eager nothing (real broker where tests need one)."""

from config.settings.base import *  # noqa: F403
from config.settings.base import DATA_DIR

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STUDIO_ARTIFACTS_DIR = DATA_DIR / "test-artifacts"
# The fake teacher servers of the tests listen on loopback; tests that check the outbound
# policy clear this list.
STUDIO_TEACHER_ALLOWED_HOSTS = ["127.0.0.1"]
