"""Fixtures of the web tests."""

import pytest


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters live in the default cache (local memory in tests): every test
    starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
