"""The web under concurrent load on PostgreSQL: pooled servers answer every request and
never hold more connections than their pools allow (benchmarks/web_load.py, short)."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
POOL = 3


@pytest.mark.slow
def test_pooled_servers_answer_every_request_within_their_pool(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    parts = urlsplit(url)
    scratch = urlunsplit((parts.scheme, parts.netloc, "/studio_test_web_load", "", ""))
    out = tmp_path / "load.json"
    subprocess.run(
        [sys.executable, "benchmarks/web_load.py", "--database", scratch, "--clients", "16",
         "--seconds", "4", "--modes", "runserver+pool,gunicorn+pool",
         "--pool-max-size", str(POOL), "--data-dir", str(tmp_path / "data"),
         "--json", str(out)],
        cwd=ROOT, check=True, timeout=300, capture_output=True,
    )
    results = json.loads(out.read_text())
    for mode, r in results.items():
        assert r["failed_logins"] == 0, mode
        assert r["requests"] > 16, mode
        assert r["errors"] == 0, (mode, r["statuses"])
    assert results["runserver+pool"]["peak_db_connections"] <= POOL
    assert results["gunicorn+pool"]["peak_db_connections"] <= 2 * POOL  # 2 worker processes
