"""Adapter for the ``reasoning-gym`` package of procedural reasoning datasets.

A project combines one or more datasets (``{"datasets": {"chain_sum": {}, "products":
{"levels": [1, 2, 3]}}}``). Each dataset is a skill (named after it, or after its
reasoning-gym category with ``skill_from: category``); three datasets whose items name their
sub-type in their metadata also have sub-skills, children of the dataset's skill
(:data:`SUB_SKILLS`): ``complex_arithmetic`` (``operation``: add, subtract, multiply,
divide), ``calendar_arithmetic`` (``task``: weekday_of_date, count_days, ...) and
``time_intervals`` (``task_type``: time, date, datetime_tz, ...). An item of those carries
both, e.g. ``("complex_arithmetic", "complex_arithmetic/multiply")``.

Difficulty levels come from each dataset's own configuration knobs, as the Self-Evolving
Curriculum paper sets its arms: level 1..N of a dataset in :data:`LEVEL_TABLES` writes
growing values into its size or length knobs (digits and terms, value ranges, day offsets).
Any other dataset gets its levels from the first difficulty attribute reasoning-gym's own
curriculum defines for it (its values in order, at most :data:`MAX_GENERIC_LEVELS`), or a
single level when it has none. ``level_field`` (with ``levels``) replaces the table with a
knob of one's own: each level number is written into the named field(s).

Answers are judged by the dataset's own ``score_answer``: a score of 1.0 is correct, so a
differently formatted correct answer counts where the dataset's scorer accepts it
(``chain_sum`` takes ``+01,000.00`` for ``1000``). An item whose reference answer is None,
the string "None" or empty, or fails the dataset's own scorer, is skipped when it is
generated and counted by reason (:meth:`ReasoningGymFamily.skipped_items`); it is never used.

Over 400 lines on purpose: one family class whose options, generation and scoring share
the datasets it builds; the level tables and sub-skills are in ``reasoning_gym_levels.py``.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workers.engine.errors import EngineError, SkillError, SpecError
from workers.engine.tasks.base import Item, SkillInfo, TaskFamily
from workers.engine.tasks.reasoning_gym_levels import (
    LEVEL_TABLES,
    SUB_SKILLS,
    SubSkills,
    curriculum_knob,
)

INSTALL_HINT = "pip install 'curriculum-studio[reasoning-gym]'"
OPTIONS_HELP = {
    "datasets": "reasoning-gym datasets by name, each with its own options (levels, config, "
                "level_field), e.g. {\"chain_sum\": {}, \"complex_arithmetic\": "
                "{\"levels\": [1, 2]}}",
    "dataset": "one reasoning-gym dataset by name (the single-dataset form; with levels, "
               "config, level_field beside it)",
    "levels": "the levels to keep, e.g. [1, 2, 3] (default: every level of the dataset's "
              "table); with level_field, the values written into it",
    "config": "fixed dataset config fields, e.g. {\"allow_negation\": true}",
    "level_field": "your own difficulty knob: a config field (or list of them) each level "
                   "number is written into; replaces the level table",
    "skill_from": "dataset (one skill per dataset, default) or category (the dataset's "
                  "reasoning-gym package, e.g. arithmetic)",
}
DATASET_OPTIONS = ("levels", "config", "level_field")
_FIELD = "spec.task.options"
PROBE_SIZE = 3  # items generated per level when the family is built (config check)
TOP_UP_ROUNDS = 6  # further draws when skipped items leave a request short
SKIP_NONE = "reference answer is None"
SKIP_EMPTY = "reference answer is empty"
SKIP_SELF = "reference answer fails the dataset's own scorer"


def load_reasoning_gym() -> Any:
    """Import ``reasoning_gym`` lazily, with an install hint when it is missing."""
    try:
        return importlib.import_module("reasoning_gym")
    except ImportError as exc:
        raise EngineError(
            f"the reasoning_gym task family needs the optional reasoning-gym package: "
            f"{INSTALL_HINT} ({exc})"
        ) from exc


def reference_problem(answer: Any) -> str | None:
    """Why a reference answer cannot be used (None, "None", empty), or None when it can."""
    if answer is None or str(answer).strip() == "None":
        return SKIP_NONE
    if not str(answer).strip():
        return SKIP_EMPTY
    return None


def _json_safe(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists, other objects strings),
    so an item verifies alike before and after a checkpoint or the database."""
    return json.loads(json.dumps(value, default=str))


@dataclass
class _Source:
    """One dataset of the project: its skill, level configs and sub-skills."""

    name: str
    field: str  # the spec field its errors name
    skill: str
    levels: dict[int, dict[str, Any]]  # level -> config (the level's knobs + fixed config)
    how: str  # where the levels come from (table, curriculum attribute, level_field, none)
    sub: SubSkills | None = None
    sub_values: tuple[str, ...] = ()

    def sub_skill(self, value: Any) -> str:
        return f"{self.name}/{self.sub.suffix(value)}"

    def sub_skills(self) -> dict[str, str]:
        """sub-skill name -> the config value that draws it."""
        return {self.sub_skill(v): v for v in self.sub_values} if self.sub else {}


class ReasoningGymFamily(TaskFamily):
    name = "reasoning_gym"

    def __init__(self, datasets: Mapping[str, Mapping[str, Any] | None], *,
                 skill_from: str = "dataset", fields: Mapping[str, str] | None = None):
        if not isinstance(datasets, Mapping) or not datasets:
            raise SpecError(f"{_FIELD}.datasets", "must name at least one reasoning-gym dataset")
        if skill_from not in ("dataset", "category"):
            raise SpecError(f"{_FIELD}.skill_from", "must be dataset or category")
        self.rg = load_reasoning_gym()
        self.skill_from = skill_from
        self._scorers: dict[tuple[str, int], Any] = {}
        self._skipped: Counter[str] = Counter()
        fields = dict(fields or {})
        self.sources: dict[str, _Source] = {}
        for name, options in datasets.items():
            where = fields.get(name, f"{_FIELD}.datasets.{name}")
            self.sources[name] = self._source(name, options, where)
        self._levels = sorted({lv for s in self.sources.values() for lv in s.levels})

    # -- options -----------------------------------------------------------------------
    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ReasoningGymFamily:
        skill_from = options.get("skill_from", "dataset")
        single = {k: options[k] for k in DATASET_OPTIONS if options.get(k) is not None}
        if options.get("datasets") is not None:
            if options.get("dataset") is not None or single:
                raise SpecError(f"{_FIELD}.datasets",
                                "give either datasets, or dataset with its levels, config and "
                                "level_field beside it, not both")
            datasets = options["datasets"]
            if isinstance(datasets, list) and all(isinstance(d, str) for d in datasets):
                datasets = dict.fromkeys(datasets)
            if not isinstance(datasets, Mapping):
                raise SpecError(f"{_FIELD}.datasets",
                                "must map dataset names to their options, or list names")
            return cls(datasets, skill_from=skill_from)
        name = options.get("dataset")
        if not isinstance(name, str) or not name.strip():
            raise SpecError(f"{_FIELD}.dataset", "must name a reasoning-gym dataset "
                                                 "(or give datasets)")
        return cls({name: single}, skill_from=skill_from, fields={name: _FIELD})

    def _source(self, name: Any, options: Mapping[str, Any] | None, where: str) -> _Source:
        if not isinstance(name, str) or not name.strip():
            raise SpecError(f"{_FIELD}.datasets", f"{name!r} is not a dataset name")
        options = {} if options is None else options
        if not isinstance(options, Mapping):
            raise SpecError(where, "must be a mapping of options (levels, config, level_field)")
        unknown = [k for k in options if k not in DATASET_OPTIONS]
        if unknown:
            raise SpecError(f"{where}.{unknown[0]}",
                            f"unknown option (known: {', '.join(DATASET_OPTIONS)})")
        registered = getattr(importlib.import_module("reasoning_gym.factory"), "DATASETS", None)
        if registered is not None and name not in registered:
            field_name = f"{where}.dataset" if where == _FIELD else where
            raise SpecError(field_name, f"reasoning-gym has no dataset {name!r}")
        config = options.get("config") or {}
        if not isinstance(config, Mapping):
            raise SpecError(f"{where}.config", "must be a mapping")
        config = dict(config)
        for key in ("seed", "size"):
            if key in config:
                raise SpecError(f"{where}.config.{key}", "is set by the run (its seed and "
                                                         "pool and eval sizes)")
        level_fields = options.get("level_field")
        if isinstance(level_fields, str):
            level_fields = [level_fields]
        wanted = options.get("levels")
        if wanted is not None and (
            not isinstance(wanted, list) or not wanted
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in wanted)
        ):
            raise SpecError(f"{where}.levels", "must be a non-empty list of whole numbers")
        if level_fields is not None:
            if not isinstance(level_fields, list) or not level_fields or not all(
                    isinstance(f, str) and f for f in level_fields):
                raise SpecError(f"{where}.level_field", "must be a field name or a list of them")
            if wanted is None:
                raise SpecError(f"{where}.levels", "required with level_field")
            levels = {lv: {**config, **dict.fromkeys(level_fields, lv)}
                      for lv in sorted(set(wanted))}
            how = f"level_field {', '.join(level_fields)}"
            levels = self._checked(name, levels, where, generic=False, base=config)
        else:
            table, how, generic = self._table(name)
            for lv_config in table:
                clash = sorted(set(lv_config) & set(config))
                if clash:
                    raise SpecError(f"{where}.config.{clash[0]}",
                                    f"is set by the level ({how}); keep some levels with "
                                    "levels, or write your own knob with level_field")
            levels = {i: {**lv_config, **config} for i, lv_config in enumerate(table, start=1)}
            if not generic:  # only the levels asked for are checked
                levels = self._wanted(name, levels, wanted, where)
            levels = self._checked(name, levels, where, generic=generic, base=config)
            if generic:  # the levels the dataset accepts are known once checked
                levels = self._wanted(name, levels, wanted, where)
        probe = self._scorer_for(name, min(levels), levels[min(levels)], where)
        if self.skill_from == "category":
            skill = getattr(probe, "category", None) or name
        else:
            skill = name
        sub = SUB_SKILLS.get(name)
        values: tuple[str, ...] = ()
        if sub is not None:
            listed = getattr(probe.config, sub.config_field, None) or ()
            values = tuple(dict.fromkeys(str(v) for v in listed))
        return _Source(name=name, field=where, skill=skill, levels=levels, how=how, sub=sub,
                       sub_values=values)

    @staticmethod
    def _wanted(name: str, levels: dict[int, dict[str, Any]], wanted: list[int] | None,
                where: str) -> dict[int, dict[str, Any]]:
        if wanted is None:
            return levels
        missing = sorted(set(wanted) - set(levels))
        if missing:
            raise SpecError(f"{where}.levels", f"{missing} are not levels of {name} (its "
                                               f"levels: {sorted(levels)})")
        return {lv: levels[lv] for lv in sorted(set(wanted))}

    def _table(self, name: str) -> tuple[list[dict[str, Any]], str, bool]:
        """(level configs, where they come from, whether they are the generic fallback)."""
        if name in LEVEL_TABLES:
            return [dict(c) for c in LEVEL_TABLES[name]], "the level table", False
        knob = curriculum_knob(name)
        if knob is None:
            return [{}], "one level: no difficulty knob", True
        attr_name, configs = knob
        return configs, f"reasoning-gym's curriculum attribute {attr_name}", True

    def _checked(self, name: str, levels: dict[int, dict[str, Any]], where: str, *,
                 generic: bool, base: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
        """``levels`` once each level's config is accepted and generates items. The generic
        fallback keeps the levels before the first refused one, or else one level with the
        dataset's defaults and ``base`` (the fixed config). A dataset none of whose probed
        items has a reference answer is refused."""
        kept: dict[int, dict[str, Any]] = {}
        usable = 0
        for lv, cfg in levels.items():
            try:
                entries = self._probe(name, cfg, where=where, level=lv)
            except SpecError:
                if generic:
                    break
                raise
            usable += sum(reference_problem(e.get("answer")) is None for e in entries)
            kept[lv] = cfg
        if not kept:
            kept = {1: dict(base)}
            entries = self._probe(name, kept[1], where=where, level=1)
            usable = sum(reference_problem(e.get("answer")) is None for e in entries)
        if not usable:
            raise SpecError(where, f"{name!r} gives no reference answers (None): its items are "
                                   "judged by their validity alone, which training on a "
                                   "reference answer cannot use")
        return kept

    def _probe(self, name: str, cfg: Mapping[str, Any], *, where: str,
               level: int) -> list[Mapping[str, Any]]:
        data = self._create(name, cfg, size=PROBE_SIZE, seed=0, where=where, level=level)
        try:
            return list(data)
        except Exception as exc:  # a config the dataset accepts but cannot generate from
            raise SpecError(where, f"reasoning-gym could not generate {name!r} at level "
                                   f"{level} with config {dict(cfg)}: {type(exc).__name__}: "
                                   f"{exc}") from exc

    def _create(self, name: str, cfg: Mapping[str, Any], *, size: int, seed: int,
                where: str, level: int) -> Any:
        try:
            return self.rg.create_dataset(name, seed=seed, size=size, **cfg)
        except Exception as exc:  # reasoning-gym raises ValueError, TypeError, AssertionError...
            raise SpecError(where, f"reasoning-gym refused {name!r} at level {level} with "
                                        f"config {dict(cfg)}: {type(exc).__name__}: {exc}"
                            ) from exc

    def _scorer_for(self, name: str, level: int, cfg: Mapping[str, Any], where: str) -> Any:
        key = (name, level)
        if key not in self._scorers:
            self._scorers[key] = self._create(name, cfg, size=1, seed=0, where=where,
                                              level=level)
        return self._scorers[key]

    # -- the family ----------------------------------------------------------------------
    def skills(self) -> list[SkillInfo]:
        out: dict[str, SkillInfo] = {}
        for s in self.sources.values():
            if s.skill not in out:
                what = s.name if s.skill == s.name else f"reasoning-gym {s.skill}"
                out[s.skill] = SkillInfo(s.skill, f"solve reasoning-gym {what} problems"
                                         if s.skill == s.name else f"solve {what} problems")
        for s in self.sources.values():
            for sub_name, value in s.sub_skills().items():
                out.setdefault(sub_name, SkillInfo(
                    sub_name, f"{s.name} items whose {s.sub.metadata_key} is {value}",
                    s.skill))
        return list(out.values())

    def levels(self) -> list[int]:
        return list(self._levels)

    def level_sources(self) -> dict[str, dict[int, dict[str, Any]]]:
        """Each dataset's levels and the config each one is drawn with (docs, the web)."""
        return {name: {lv: dict(cfg) for lv, cfg in s.levels.items()}
                for name, s in self.sources.items()}

    def skipped_items(self) -> dict[str, int]:
        """Generated items never used, by ``"<dataset>: <reason>"``."""
        return dict(sorted(self._skipped.items()))

    def sample(self, *, n: int, rng: random.Random, levels: list[int] | None = None) -> list[Item]:
        use = self._levels if levels is None else [lv for lv in levels if lv in self._levels]
        if not use:
            raise SpecError("levels", f"{levels} not within this task's levels {self._levels}")
        counts: Counter[tuple[str, int]] = Counter()
        for _ in range(n):
            level = rng.choice(use)
            names = [name for name, s in self.sources.items() if level in s.levels]
            counts[(rng.choice(names), level)] += 1
        items: list[Item] = []
        for (name, level), count in sorted(counts.items()):
            items += self._items(self.sources[name], level, count, rng.randrange(2**31))
        rng.shuffle(items)
        return items

    def can_generate(self) -> bool:
        return True

    def generate(self, *, skill: str, level: int, n: int, rng: random.Random) -> list[Item]:
        candidates = [(s, None) for s in self.sources.values() if s.skill == skill]
        for s in self.sources.values():
            if skill in s.sub_skills():
                candidates.append((s, s.sub_skills()[skill]))
        if not candidates:
            known = ", ".join(x.name for x in self.skills())
            raise SkillError(skill, f"not a skill of this task (known: {known})")
        candidates = [(s, v) for s, v in candidates if level in s.levels]
        if not candidates:
            raise SkillError(skill, f"level {level} is not a level of its datasets "
                                    f"{self._levels}")
        counts: Counter[int] = Counter(rng.randrange(len(candidates)) for _ in range(n))
        items: list[Item] = []
        for index, count in sorted(counts.items()):
            source, value = candidates[index]
            extra = source.sub.restrict(value) if value is not None else None
            items += self._items(source, level, count, rng.randrange(2**31), extra=extra)
        return items

    def _items(self, source: _Source, level: int, n: int, seed: int, *,
               extra: Mapping[str, Any] | None = None) -> list[Item]:
        """``n`` usable items of ``source`` at ``level`` (fewer only when the dataset keeps
        giving unusable ones); skipped ones are counted by reason."""
        cfg = {**source.levels[level], **(extra or {})}
        scorer = self._scorer_for(source.name, level, source.levels[level], source.field)
        out: list[Item] = []
        size, attempt = n, 0
        while len(out) < n and attempt <= TOP_UP_ROUNDS and size > 0:
            draw_seed = seed if attempt == 0 else (seed + 7919 * attempt) % 2**31
            data = self._create(source.name, cfg, size=size, seed=draw_seed,
                                where=source.field, level=level)
            for entry in data:
                item = self._to_item(source, level, entry, scorer)
                if item is not None and len(out) < n:
                    out.append(item)
            attempt += 1
            size = max(2 * (n - len(out)), 4) if len(out) < n else 0
        return out

    def _to_item(self, source: _Source, level: int, entry: Mapping[str, Any],
                 scorer: Any) -> Item | None:
        problem = reference_problem(entry.get("answer"))
        question, answer = str(entry["question"]), str(entry.get("answer"))
        metadata = _json_safe(dict(entry.get("metadata") or {}))
        if problem is None and not self._score(scorer, answer, question, answer, metadata):
            problem = SKIP_SELF
        if problem is not None:
            self._skipped[f"{source.name}: {problem}"] += 1
            return None
        skills: tuple[str, ...] = (source.skill,)
        if source.sub is not None and source.sub.metadata_key in metadata:
            sub_name = source.sub_skill(metadata[source.sub.metadata_key])
            if sub_name in source.sub_skills():
                skills = (source.skill, sub_name)
        digest = hashlib.sha1(
            f"{source.name}\x00{level}\x00{question}\x00{answer}".encode()
        ).hexdigest()[:12]
        return Item(id=f"rg-{digest}", prompt=question, answer=answer, skills=skills,
                    level=level, meta={"dataset": source.name, "metadata": metadata})

    @staticmethod
    def _score(scorer: Any, prediction: str, question: str, answer: str,
               metadata: Mapping[str, Any]) -> bool:
        entry = {"question": question, "answer": answer, "metadata": dict(metadata)}
        try:
            score = scorer.score_answer(prediction, entry)
        except Exception:  # a scorer that chokes on a malformed prediction: not correct
            return False
        return score is not None and float(score) >= 1.0

    def verify(self, item: Item, prediction: str) -> bool:
        name = item.meta.get("dataset")
        source = self.sources.get(name) if isinstance(name, str) else None
        if source is None:
            if len(self.sources) != 1:
                return False
            source = next(iter(self.sources.values()))
        level = item.level if item.level in source.levels else min(source.levels)
        scorer = self._scorer_for(source.name, level, source.levels[level], source.field)
        return self._score(scorer, prediction.strip(), item.prompt, item.answer,
                           item.meta.get("metadata") or {})
