"""CI must never fall back to SQLite silently when it asked for PostgreSQL."""

import os

import pytest
from django.db import connection


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://", "pgsql://")),
    reason="DATABASE_URL does not name a PostgreSQL database",
)
@pytest.mark.django_db
def test_postgres_url_means_postgres_connection():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("select version()")
        assert "PostgreSQL" in cursor.fetchone()[0]


def test_without_database_url_the_tests_use_sqlite():
    if os.environ.get("DATABASE_URL"):
        pytest.skip("DATABASE_URL is set")
    assert connection.vendor == "sqlite"
