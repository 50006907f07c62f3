"""Headless Chromium against the live server, with a real Celery worker.

The worker processes come from the worker integration tests (same environment, same
PostgreSQL test database, same broker), so both suites start workers the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.workers.conftest import Cluster, worker_env  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("STUDIO_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (Debian's chromium package; "
                    "set STUDIO_CHROMIUM to use another binary)")
    return CHROMIUM


@pytest.fixture
def browser_worker(worker_env, transactional_db):  # noqa: F811
    """One real worker (queues gpu and default) for this test, killed afterwards."""
    cluster = Cluster(env=worker_env["env"], logs=worker_env["logs"])
    try:
        yield cluster.start()
    finally:
        cluster.stop_all()


@pytest.fixture
def page(chromium_path, live_server, monkeypatch):
    """A Chromium page; Playwright's sync API runs an event loop in this thread, which
    Django's ORM (used by the test itself) would otherwise refuse to run beside."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()
