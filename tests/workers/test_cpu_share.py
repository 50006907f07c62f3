"""Pool processes of a worker share the CPU's cores: each trains with its share of torch
threads, unless the operator set ``OMP_NUM_THREADS``."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
import torch

from workers.tasks import runs


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_threads_per_process():
    assert runs.threads_per_process(2, 1) == 2
    assert runs.threads_per_process(2, 2) == 1
    assert runs.threads_per_process(8, 2) == 4
    assert runs.threads_per_process(2, 4) == 1  # never 0
    assert runs.threads_per_process(4, 0) == 4


def test_the_pool_size_reaches_the_pool_processes(monkeypatch):
    monkeypatch.delenv("STUDIO_POOL_SIZE", raising=False)
    runs._remember_pool_size(sender=SimpleNamespace(concurrency=3))
    assert os.environ["STUDIO_POOL_SIZE"] == "3"
    runs._remember_pool_size(sender=SimpleNamespace(concurrency="auto"))  # left as it was
    assert os.environ["STUDIO_POOL_SIZE"] == "3"


def test_each_process_takes_its_share(monkeypatch, threads):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(4)))
    monkeypatch.setenv("STUDIO_POOL_SIZE", "2")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    runs._share_cores()
    assert os.environ["OMP_NUM_THREADS"] == "2"
    assert torch.get_num_threads() == 2


def test_the_operators_setting_wins(monkeypatch, threads):
    monkeypatch.setenv("STUDIO_POOL_SIZE", "2")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    torch.set_num_threads(1)
    runs._share_cores()
    assert os.environ["OMP_NUM_THREADS"] == "3" and torch.get_num_threads() == 1
