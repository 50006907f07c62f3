"""Worker, database and broker faults in the middle of a run."""

import signal
import subprocess
import time
from datetime import timedelta

import pytest
from django.db import connection

from apps.runs.artifacts import run_artifacts_dir
from apps.runs.models import Round, Run, RunStatus
from apps.runs.services import run_create
from apps.runs.sweep import run_sweep_stale
from tests.workers.conftest import Cluster, wait_for, with_redis_port
from tests.workers.helpers import (
    describe,
    launch,
    rows,
    run_parts,
    starts,
    status,
    train_progress,
)
from workers.queues import Queue, TaskName

pytestmark = [pytest.mark.integration, pytest.mark.slow]
DONE = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


def test_sigkilled_worker_run_resumes_elsewhere_like_an_undisturbed_run(workers):
    parts = run_parts()
    # enough steps that round 2 is still training when the kill comes, on a quiet machine too
    killed = launch(parts, rounds=3, steps=200, seed=7, name="killed")
    calm = launch(parts, rounds=3, steps=200, seed=7, name="undisturbed")
    # SIGKILL in the middle of round 2's training (rounds 0 and 1 are stored)
    wait_for(lambda: train_progress(killed, round_=2), timeout=120, what="round 2 to train",
             interval=0.05, on_fail=lambda: describe(killed))
    holder = workers.holding(Run.objects.get(pk=killed.pk).worker)
    holder.kill(signal.SIGKILL)
    before = list(Round.objects.filter(run=killed).order_by("index").values_list("id", "index"))
    assert status(killed) == RunStatus.RUNNING  # nobody told the database
    workers.start(wait=False)  # the replacement machine

    # the beat sweep finds the stale heartbeat and requeues the run
    wait_for(lambda: run_sweep_stale(stale_after=timedelta(seconds=3)).requeued == [killed.pk],
             timeout=30, what="the sweep to requeue the run", interval=0.5)
    for run in (killed, calm):
        wait_for(lambda run=run: status(run) in DONE, timeout=180, what="the runs to finish",
                 on_fail=lambda run=run: describe(run))
    assert status(killed) == status(calm) == RunStatus.SUCCEEDED, describe(killed)
    after = list(Round.objects.filter(run=killed).order_by("index").values_list("id", "index"))
    assert [i for _, i in after] == [0, 1, 2, 3]  # none lost, none duplicated
    assert after[: len(before)] == before
    assert rows(killed) == rows(calm)  # the same rows as a run nobody disturbed
    executions = starts(killed)
    assert len(executions) == 2 and executions[1].endswith(f"after round {before[-1][1]}")
    leftovers = list((run_artifacts_dir(killed.pk) / "checkpoints").glob("*.tmp-*"))
    assert leftovers == []


def test_dropped_database_connections_mid_round_are_retried(workers):
    parts = run_parts()
    run = launch(parts, rounds=2, steps=60)
    wait_for(lambda: train_progress(run, round_=1), timeout=60, what="training to start",
             interval=0.05, on_fail=lambda: describe(run))
    terminated = 0
    for _ in range(3):  # the workers' connections, several times during the round
        with connection.cursor() as cur:
            cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            terminated += cur.fetchone()[0]
        time.sleep(0.7)
    assert terminated >= 1
    wait_for(lambda: status(run) in DONE, timeout=120, what="the run to finish",
             on_fail=lambda: describe(run))
    assert status(run) == RunStatus.SUCCEEDED, describe(run)
    assert list(Round.objects.filter(run=run).values_list("index", flat=True)) == [0, 1, 2]
    assert len(starts(run)) == 1  # retried in place: never handed to another worker


@pytest.fixture
def second_redis(tmp_path):
    """A Redis of our own on another port, to kill and restart."""
    port = 6390
    log = tmp_path / "redis.log"

    def start() -> subprocess.Popen:
        with open(log, "a") as out:
            proc = subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--daemonize", "no", "--dir", str(tmp_path)],
                stdout=out, stderr=subprocess.STDOUT,
            )
        import redis

        wait_for(lambda: _ping(redis, port), timeout=10, what=f"redis on port {port}")
        return proc

    state = {"proc": start()}

    def restart(down_s: float) -> None:
        state["proc"].kill()
        state["proc"].wait(timeout=10)
        time.sleep(down_s)
        state["proc"] = start()

    try:
        yield port, restart
    finally:
        state["proc"].kill()
        state["proc"].wait(timeout=10)


def _ping(redis, port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _send(url: str, run_id: int) -> None:
    from kombu import Connection

    from config.celery import app

    with Connection(url) as conn:
        app.send_task(TaskName.RUN_EXECUTE, args=[run_id], queue=Queue.GPU,
                      connection=conn)


def test_run_goes_on_when_the_broker_restarts_mid_run(workers, worker_env, second_redis,
                                                      settings):
    port, restart = second_redis
    url = with_redis_port(settings.CELERY_BROKER_URL, port)
    own = Cluster(env={**worker_env["env"], "CELERY_BROKER_URL": url}, logs=worker_env["logs"])
    try:
        own.start()
        parts = run_parts()
        run = run_create(**parts, rounds=2, steps_per_round=60, batch_size=8, eval_size=16,
                         lr=0.003, enqueue=False)
        _send(url, run.pk)
        wait_for(lambda: train_progress(run, round_=1), timeout=60, what="training to start",
                 interval=0.05, on_fail=lambda: describe(run))
        restart(2.0)  # killed mid-round, back empty two seconds later
        wait_for(lambda: status(run) in DONE, timeout=120, what="the run to finish",
                 on_fail=lambda: describe(run) + "\n" + own.workers[0].tail())
        assert status(run) == RunStatus.SUCCEEDED, describe(run)
        assert list(Round.objects.filter(run=run).values_list("index", flat=True)) == [0, 1, 2]
        # the worker reconnected: a run sent to the restarted broker is taken too
        later = run_create(**parts, rounds=1, steps_per_round=2, batch_size=8, eval_size=8,
                           lr=0.003, enqueue=False)
        _send(url, later.pk)
        wait_for(lambda: status(later) in DONE, timeout=90, what="a run after the restart",
                 on_fail=lambda: describe(later) + "\n" + own.workers[0].tail())
        assert status(later) == RunStatus.SUCCEEDED
    finally:
        own.stop_all()
