"""Small builders shared by the student, trainer, evaluator and loop tests (tiny sizes)."""

from __future__ import annotations

import random

import torch

from workers.engine.spec import RunSpec, StudentSpec
from workers.engine.student import Student, build_student
from workers.engine.tasks.arithmetic import ArithmeticFamily
from workers.engine.tasks.base import Item

torch.set_num_threads(1)


def tiny_student(seed: int = 0, max_length: int = 24, **kw) -> Student:
    return build_student(StudentSpec(preset="tiny", max_length=max_length, **kw),
                         device=torch.device("cpu"), seed=seed)


def add_family() -> ArithmeticFamily:
    return ArithmeticFamily(levels=[1, 2], ops=["add"])


def add_items(n: int, seed: int = 0) -> list[Item]:
    return add_family().sample(n=n, rng=random.Random(seed))


def tiny_run_spec(**over) -> RunSpec:
    data = {
        "task": {"family": "arithmetic", "options": {"levels": [1, 2], "ops": ["add", "sub"]},
                 "pool_size": 64, "eval_size": 16},
        "student": {"preset": "tiny", "max_length": 16},
        "train": {"steps_per_round": 3, "batch_size": 8, "lr": 0.003},
        "rounds": 2, "seed": 0, "device": "cpu",
    }
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return RunSpec.from_dict(data)
