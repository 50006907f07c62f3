"""`make stop` (scripts/stop.sh): stops what the demo script started, and says so when
nothing runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _stop(data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "STUDIO_DATA_DIR": str(data_dir)}
    return subprocess.run([str(ROOT / "scripts" / "stop.sh")], env=env, capture_output=True,
                          text=True, timeout=30)


def test_stop_says_nothing_runs_without_a_pid_file(tmp_path):
    done = _stop(tmp_path)
    assert done.returncode == 0 and "Nothing to stop" in done.stdout


def test_stop_signals_the_demo_and_removes_its_pid_file(tmp_path):
    demo = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    # Reaped as soon as it ends, as the demo's own shell would be (a zombie still "runs").
    reaper = threading.Thread(target=demo.wait, daemon=True)
    reaper.start()
    try:
        (tmp_path / "demo.pid").write_text(str(demo.pid))
        done = _stop(tmp_path)
        assert done.returncode == 0 and "Stopped the demo" in done.stdout
        reaper.join(timeout=5)
        assert demo.returncode == -signal.SIGTERM
    finally:
        demo.kill()


def test_stop_cleans_up_a_stale_pid_file(tmp_path):
    (tmp_path / "demo.pid").write_text("999999")
    done = _stop(tmp_path)
    assert "had already ended" in done.stdout and not (tmp_path / "demo.pid").exists()
