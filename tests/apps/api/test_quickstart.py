"""The quick start of docs/api.md runs as written: ``docs/examples/api_quickstart.py`` in
its own process, against a live server, with a real token. No GPU worker runs here: the
launch is recorded (the task would go to the GPU queue), and the test plays the worker's
part in the database (running, a round with its Missing-Skill-Profile, succeeded) while the
script polls; without that the script reports the run still queued."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.apps.api.conftest import make_token

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "docs" / "examples" / "api_quickstart.py"
ITEMS = ROOT / "docs" / "examples" / "items.jsonl"


@pytest.fixture
def launched(monkeypatch, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    sent = []
    monkeypatch.setattr("apps.runs.dispatch.enqueue", lambda name, *args: sent.append(
        (str(name), *args)))
    return sent


def _start(live_server, token: str, *, wait: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(ITEMS), "--url", live_server.url, "--token", token,
         "--name", "quick start", "--wait", str(wait), "--poll", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _the_run(timeout: float = 60):
    from apps.runs.models import Run

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = Run.objects.filter(project__name="quick start").first()
        if run is not None:
            return run
        time.sleep(0.1)
    raise AssertionError("the script launched no run")


def test_quickstart_creates_launches_polls_and_reads_the_profile(live_server, editor,
                                                                 launched):
    from apps.projects.models import Skill
    from apps.runs.models import RunStatus
    from tests.factories import RoundFactory, SkillStatFactory

    script = _start(live_server, make_token(editor), wait=90)
    run = _the_run()
    assert run.status == RunStatus.QUEUED and run.project.examples.count() == 40
    time.sleep(0.5)
    run.status = RunStatus.RUNNING  # what a GPU worker would record
    run.save(update_fields=["status"])
    time.sleep(0.5)
    rnd = RoundFactory(run=run, index=0, metrics={"accuracy": 0.25})
    for name, failed in (("add", 3), ("carry", 9)):
        SkillStatFactory(round=rnd, run=run, skill=Skill.objects.get(project=run.project,
                                                                     name=name),
                         evaluated=10, failed=failed, miss_rate=failed / 10)
    run.status = RunStatus.SUCCEEDED
    run.save(update_fields=["status"])
    out, _ = script.communicate(timeout=90)
    assert script.returncode == 0, out
    assert launched == [("runs.execute", run.pk)]
    lines = out.splitlines()
    assert lines[0].startswith(f"project {run.project_id}: ")
    assert f"run {run.pk}: queued" in lines and f"run {run.pk}: succeeded" in lines
    assert "round 0: accuracy 0.25" in lines
    profile = [line.split() for line in lines[lines.index("round 0: accuracy 0.25") + 1:]]
    assert [(p[0], p[2]) for p in profile] == [("carry", "9/10"), ("add", "3/10")]


def test_without_a_worker_the_run_stays_queued(live_server, owner, launched):
    script = _start(live_server, make_token(owner), wait=1)
    out, _ = script.communicate(timeout=90)
    assert script.returncode == 0, out
    run = _the_run(timeout=1)
    assert f"run {run.pk} is queued with no round yet (is a GPU worker running?)" in out
    assert launched == [("runs.execute", run.pk)]


def test_the_docs_show_the_scripts_code():
    docs = (ROOT / "docs" / "api.md").read_text()
    block = docs.split("```python\n", 1)[1].split("```", 1)[0]
    assert block.startswith("def quickstart(")
    assert block in SCRIPT.read_text()
