"""A real race: many threads, each with its own database connection, claim one run."""

import threading

import pytest
from django.db import connection, connections

from apps.runs.models import Run
from apps.runs.states import run_claim
from tests.factories import RunFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a real concurrent claim needs PostgreSQL (SQLite serializes writers)",
)


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_have_exactly_one_winner():
    run = RunFactory()
    barrier = threading.Barrier(8)
    results: dict[str, bool] = {}

    def claim(name: str) -> None:
        try:
            barrier.wait()
            results[name] = run_claim(run.pk, name)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [name for name, won in results.items() if won]
    assert len(results) == 8 and len(winners) == 1
    assert Run.objects.get(pk=run.pk).worker == winners[0]
