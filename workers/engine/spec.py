"""The frozen run spec: the one seam between the web (or the headless command) and the engine.

A ``RunSpec`` is built from plain JSON (``RunSpec.from_dict``), which names the field at
fault on bad input, and turns back into JSON with ``to_dict`` so runs can store it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from workers.engine.errors import SpecError


@dataclass(frozen=True)
class TaskSpec:
    family: str = "arithmetic"  # arithmetic | jsonl | reasoning_gym
    options: dict = field(default_factory=dict)  # family-specific (see the family's docs)
    # Options laid over ``options`` for drawing the seed pool only (e.g. arithmetic
    # ``skill_weights`` to make skills rare in the pool); the eval split, verification,
    # attribution and synthesis use ``options`` alone. Must not change skills or levels.
    pool_options: dict = field(default_factory=dict)
    pool_size: int = 2000  # seed pool (train split) size
    eval_size: int = 200  # eval split size
    held_out_levels: tuple[int, ...] = ()  # harder levels kept out of training, evaluated apart


@dataclass(frozen=True)
class StudentSpec:
    preset: str | None = "tiny"  # tiny | small | base (from scratch); None with model_dir
    model_dir: str | None = None  # a local Hugging Face model directory
    lora: dict | None = None  # peft LoraConfig keywords, e.g. {"r": 8}
    max_length: int = 64  # tokens per prompt + answer


@dataclass(frozen=True)
class TeacherSpec:
    kind: str = "oracle"  # oracle | openai | hf_local
    base_url: str = ""
    model: str = ""
    # Secret: left out of repr() and of RunSpec.to_dict(), so no log line, stored spec,
    # checkpoint or spec.json holds it; the caller passes it in (the web from the database).
    api_key: str = field(default="", repr=False, metadata={"secret": True})
    model_dir: str = ""
    timeout_s: float = 60.0
    max_retries: int = 3
    concurrency: int = 4
    prompts: dict = field(default_factory=dict)  # role -> template text; missing roles: defaults
    # Hosts (``host`` or ``host:port``) an openai teacher may call although they resolve to a
    # loopback, private or link-local address (a local vLLM or Ollama server); see
    # workers/engine/teachers/outbound.py. The web fills it from STUDIO_TEACHER_ALLOWED_HOSTS.
    allowed_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class CurriculumSpec:
    strategy: str = "uniform"
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TrainSpec:
    steps_per_round: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup_steps: int = 0


@dataclass(frozen=True)
class RunSpec:
    task: TaskSpec = field(default_factory=TaskSpec)
    student: StudentSpec = field(default_factory=StudentSpec)
    teacher: TeacherSpec = field(default_factory=TeacherSpec)
    curriculum: CurriculumSpec = field(default_factory=CurriculumSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    rounds: int = 5
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    synth_requires_review: bool = False  # synthesized items wait for human review

    def to_dict(self, *, secrets: bool = False) -> dict:
        """Plain JSON of the spec, without its secret fields (the teacher's ``api_key``):
        what is stored or written to disk never holds a key. ``secrets=True`` keeps them,
        for handing a spec to another process in memory only."""
        data = dataclasses.asdict(self)
        if not secrets:
            _drop_secrets(self, data)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> RunSpec:
        spec = _build(cls, data, "spec")
        _check_values(spec)
        return spec


def _drop_secrets(obj: Any, data: dict) -> None:
    for f in dataclasses.fields(obj):
        if f.metadata.get("secret"):
            data.pop(f.name, None)
        elif dataclasses.is_dataclass(value := getattr(obj, f.name)):
            _drop_secrets(value, data[f.name])


def _build(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise SpecError(path, f"must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            raise SpecError(f"{path}.{key}", f"unknown field (known: {', '.join(fields)})")
    kwargs = {}
    for name in fields:
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], f"{path}.{name}")
    return cls(**kwargs)


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path)
    if origin in (types.UnionType, typing.Union):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, path)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise SpecError(path, "must be a list")
        (item_tp, _) = typing.get_args(tp)
        return tuple(_convert(item_tp, v, f"{path}[{i}]") for i, v in enumerate(value))
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise SpecError(path, "must be a mapping")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise SpecError(path, "must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(path, "must be a whole number")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(path, "must be a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(path, "must be a string")
        return value
    raise SpecError(path, f"unsupported type {tp!r}")


def _check_values(spec: RunSpec) -> None:
    positive = {
        "spec.rounds": spec.rounds,
        "spec.train.steps_per_round": spec.train.steps_per_round,
        "spec.train.batch_size": spec.train.batch_size,
        "spec.task.pool_size": spec.task.pool_size,
        "spec.task.eval_size": spec.task.eval_size,
        "spec.student.max_length": spec.student.max_length,
    }
    for name, value in positive.items():
        if value < 1:
            raise SpecError(name, "must be at least 1")
    if spec.train.lr <= 0:
        raise SpecError("spec.train.lr", "must be positive")
    if spec.student.preset is None and not spec.student.model_dir:
        raise SpecError("spec.student", "give a preset or a model_dir")
    if spec.teacher.kind not in ("oracle", "openai", "hf_local"):
        raise SpecError("spec.teacher.kind", "must be one of oracle, openai, hf_local")
