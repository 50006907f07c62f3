"""CI must run on the real services: it sets STUDIO_REQUIRE_SERVICES and these tests hold it."""

import os

import pytest
from django.conf import settings
from django.db import connection

REQUIRED = os.environ.get("STUDIO_REQUIRE_SERVICES") == "1"


@pytest.mark.skipif(not REQUIRED, reason="only where STUDIO_REQUIRE_SERVICES=1 (CI)")
@pytest.mark.django_db
def test_ci_runs_on_postgresql():
    assert os.environ.get("DATABASE_URL", "").startswith("postgres")
    assert connection.vendor == "postgresql"


@pytest.mark.skipif(not REQUIRED, reason="only where STUDIO_REQUIRE_SERVICES=1 (CI)")
def test_ci_broker_is_a_reachable_redis():
    import redis

    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=5).ping()
