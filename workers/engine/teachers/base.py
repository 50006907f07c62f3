"""The teacher contract, and the shared machinery of LLM teachers (render, call, parse, retry).

A teacher call that fails for good is recorded in ``Teacher.failures`` with the raw text,
never dropped silently. Methods whose result is optional (``diagnose``, ``synthesize``)
return an empty result after recording; the others raise :class:`TeacherError`.

Synthesis (:meth:`Teacher.propose`) reports every item it was asked for: kept, or rejected
with one of :data:`REJECT_REASONS`. LLM teachers keep a new item only when ``n_agree`` of
``n_solutions`` independent solutions agree (the majority answer is kept) and, where the task
family has an exact solver, the solver agrees too; the oracle checks its generator's answer
with the family's solver. A grade may only blame skills the failed item has.

Over 400 lines on purpose: the contract and the one LLM implementation of it (render,
call, parse, retry, self-consistency) read best together; synthesis accounting is in
``synthesis.py``.
"""

from __future__ import annotations

import hashlib
import random
import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from workers.engine.errors import TeacherError
from workers.engine.tasks.base import ATTRIBUTION_GRADE, Item, SkillInfo, TaskFamily
from workers.engine.teachers import parsers, prompts
from workers.engine.teachers.parsers import ParseError
from workers.engine.teachers.synthesis import (
    MIN_AGREEMENT,
    SOLVE_SAMPLES,
    Synthesis,
    solver_disagrees,
)

T = TypeVar("T")
R = TypeVar("R")

MAX_ATTEMPTS = 3  # parse attempts per teacher call (first try + 2 retries)
class UnparsableAnswer(TeacherError):
    """A teacher call whose text never followed the role's contract in MAX_ATTEMPTS tries."""


@dataclass(frozen=True)
class TeacherFailure:
    role: str
    message: str
    raw: str
    attempts: int

    def to_dict(self) -> dict:
        return {"role": self.role, "message": self.message, "raw": self.raw,
                "attempts": self.attempts}


@dataclass
class TeacherUsage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_dict(self) -> dict:
        return {"calls": self.calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens}


def map_concurrent(fn: Callable[[T], R], items: Iterable[T], concurrency: int) -> list[R]:
    """``[fn(x) for x in items]`` with up to ``concurrency`` calls in flight, order kept."""
    items = list(items)
    if concurrency <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        return list(pool.map(fn, items))


def task_description(family: TaskFamily) -> str:
    description = getattr(family, "description", "") or ""
    name = family.name or type(family).__name__
    return f"{name}: {description}" if description else name


def synthesized_id(skill: str, level: int, question: str) -> str:
    digest = hashlib.sha256(f"{skill}\0{level}\0{question}".encode()).hexdigest()[:12]
    return f"syn-{digest}"


class Teacher(ABC):
    """A backend that answers the teacher roles for one task family."""

    kind: str = ""
    concurrency: int = 1

    def __init__(self, family: TaskFamily):
        self.family = family
        self.failures: list[TeacherFailure] = []
        self.rejected: list[TeacherFailure] = []  # synthesized items dropped by verification
        self.usage = TeacherUsage()
        self._lock = threading.Lock()

    # -- bookkeeping (thread-safe: diagnose runs concurrently) --------------------------
    def _record_failure(self, failure: TeacherFailure) -> None:
        with self._lock:
            self.failures.append(failure)

    def _record_rejection(self, role: str, message: str, raw: str, attempts: int) -> None:
        with self._lock:
            self.rejected.append(TeacherFailure(role, message, raw, attempts))

    def _count_usage(self, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        with self._lock:
            self.usage.calls += 1
            self.usage.prompt_tokens += prompt_tokens
            self.usage.completion_tokens += completion_tokens

    # -- the roles ---------------------------------------------------------------------
    @property
    def attribution(self) -> str:
        """How :meth:`diagnose` blames skills (``metrics["attribution"]`` of a round)."""
        return ATTRIBUTION_GRADE

    @abstractmethod
    def diagnose(self, item: Item, prediction: str, skills: list[str]) -> tuple[str, ...]:
        """Missing skills of a failed item, all of them among the item's own skills; ``()``
        and a recorded failure if the teacher fails."""

    def diagnose_many(
        self, failed: list[tuple[Item, str]], skills: list[str]
    ) -> list[tuple[str, ...]]:
        """:meth:`diagnose` over many (item, prediction) pairs, results in the same order."""
        return [self.diagnose(item, prediction, skills) for item, prediction in failed]

    @abstractmethod
    def propose(
        self, *, skill: str, level: int, references: list[Item], n: int, rng: random.Random,
        n_solutions: int = SOLVE_SAMPLES, n_agree: int = MIN_AGREEMENT,
    ) -> Synthesis:
        """Ask for ``n`` new items requiring ``skill`` at ``level`` like ``references``; the
        verified ones with lineage, and every other one counted by its rejection reason."""

    def synthesize(
        self, *, skill: str, level: int, references: list[Item], n: int, rng: random.Random,
        n_solutions: int = SOLVE_SAMPLES, n_agree: int = MIN_AGREEMENT,
    ) -> list[Item]:
        """Up to ``n`` new verified items requiring ``skill`` at ``level``, with lineage."""
        return self.propose(skill=skill, level=level, references=references, n=n, rng=rng,
                            n_solutions=n_solutions, n_agree=n_agree).items

    @abstractmethod
    def label_skills(self, item: Item, skills: list[str]) -> tuple[str, ...]:
        """1..5 names from ``skills`` that ``item`` requires."""

    @abstractmethod
    def extract_skills(self, items: list[Item]) -> list[SkillInfo]:
        """The skills the task needs, read from sample items."""

    @abstractmethod
    def solve(self, item: Item) -> str:
        """The teacher's final answer to ``item``."""

    @abstractmethod
    def rate_difficulty(self, item: Item, levels: list[int]) -> int:
        """One of ``levels`` for ``item``."""

    @abstractmethod
    def call_raw(self, role: str, prompt: str) -> str:
        """One raw call with an already rendered prompt (no parsing, no retry on content)."""


class LLMTeacher(Teacher):
    """Shared logic of teachers backed by a language model: subclasses implement ``_complete``.

    ``_complete`` returns the model's text; it may raise :class:`ParseError` for a response
    it cannot read (counted as an attempt) or :class:`TeacherError` when the backend fails
    for good (recorded at once, no further attempts).
    """

    def __init__(
        self,
        family: TaskFamily,
        *,
        prompts_by_role: Mapping[str, str] | None = None,
        concurrency: int = 1,
        solve_temperature: float = 0.7,
    ):
        super().__init__(family)
        self.templates: dict[str, str] = {}
        for role in prompts.ROLES:
            text = (prompts_by_role or {}).get(role) or prompts.default_template(role)
            errors = prompts.validate_template(role, text)
            if errors:
                raise prompts.TemplateError(role, errors)
            self.templates[role] = text
        unknown = sorted(set(prompts_by_role or {}) - set(prompts.ROLES))
        if unknown:
            raise prompts.TemplateError(unknown[0], [f"unknown role (known: {prompts.ROLES})"])
        self.concurrency = max(1, int(concurrency))
        self.solve_temperature = solve_temperature

    @abstractmethod
    def _complete(self, role: str, prompt: str, *, temperature: float = 0.0) -> str:
        """One backend call: the model's text for ``prompt``."""

    def call_raw(self, role: str, prompt: str) -> str:
        return self._complete(role, prompt)

    def prompt_version(self, role: str) -> str:
        return prompts.prompt_version(self.templates[role])

    def _ask(
        self,
        role: str,
        context: Mapping[str, Any],
        parse: Callable[[str], T],
        *,
        temperature: float = 0.0,
    ) -> tuple[T, str]:
        """Render, call, parse; up to MAX_ATTEMPTS on ParseError. Returns (result, raw).

        Raises :class:`TeacherError` after recording a :class:`TeacherFailure`.
        """
        prompt = prompts.render(role, self.templates[role], context)
        raw, message = "", ""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                raw = self._complete(role, prompt, temperature=temperature)
                return parse(raw), raw
            except ParseError as exc:
                raw = exc.raw or raw
                message = exc.message
            except TeacherError as exc:
                self._record_failure(TeacherFailure(role, str(exc), exc.raw, attempt))
                raise
        failure = TeacherFailure(
            role, f"no valid answer after {MAX_ATTEMPTS} attempts: {message}", raw, MAX_ATTEMPTS
        )
        self._record_failure(failure)
        raise UnparsableAnswer(role, failure.message, raw)

    # -- roles -------------------------------------------------------------------------
    def grade(self, item: Item, prediction: str, skills: list[str]) -> tuple[parsers.Grade, str]:
        """The parsed grade and the raw teacher text; :class:`TeacherError` if it fails."""
        context = {
            "task": task_description(self.family),
            "question": item.prompt,
            "reference": item.answer,
            "prediction": prediction,
            "skills": self._skill_infos(skills),
        }
        return self._ask("grade", context, lambda raw: parsers.parse_grade(raw, skills))

    def diagnose(self, item: Item, prediction: str, skills: list[str]) -> tuple[str, ...]:
        """The grade's missing skills. The grade sees and may name only the item's own skills
        (of ``skills``): a skill not on the item is retried like any contract violation, then
        recorded as a teacher failure with the raw text, and nothing is blamed."""
        own = [s for s in skills if s in item.skills]
        if not own:
            return ()  # nothing on the list to blame
        try:
            grade, _ = self.grade(item, prediction, own)
        except TeacherError:
            return ()
        return () if grade.correct else grade.missing_skills

    def diagnose_many(
        self, failed: list[tuple[Item, str]], skills: list[str]
    ) -> list[tuple[str, ...]]:
        return map_concurrent(lambda pair: self.diagnose(pair[0], pair[1], skills), failed,
                              self.concurrency)

    def label_skills(self, item: Item, skills: list[str]) -> tuple[str, ...]:
        context = {
            "task": task_description(self.family),
            "question": item.prompt,
            "answer": item.answer,
            "skills": self._skill_infos(skills),
        }
        names, _ = self._ask(
            "label_skills", context, lambda raw: parsers.parse_label_skills(raw, skills)
        )
        return names

    def extract_skills(self, items: list[Item], max_skills: int = 12) -> list[SkillInfo]:
        context = {"task": task_description(self.family), "items": items,
                   "max_skills": max_skills}
        found, _ = self._ask("extract_skills", context, parsers.parse_extract_skills)
        return [SkillInfo(name=name, description=description) for name, description in found]

    def _solve(self, question: str, *, temperature: float = 0.0) -> parsers.Solution:
        context = {"task": task_description(self.family), "question": question}
        solution, _ = self._ask("solve", context, parsers.parse_solve, temperature=temperature)
        return solution

    def solve(self, item: Item) -> str:
        return self._solve(item.prompt).answer

    def rate_difficulty(self, item: Item, levels: list[int]) -> int:
        context = {
            "task": task_description(self.family),
            "question": item.prompt,
            "answer": item.answer,
            "levels": list(levels),
        }
        level, _ = self._ask(
            "rate_difficulty", context, lambda raw: parsers.parse_rate_difficulty(raw, levels)
        )
        return level

    def propose(
        self, *, skill: str, level: int, references: list[Item], n: int, rng: random.Random,
        n_solutions: int = SOLVE_SAMPLES, n_agree: int = MIN_AGREEMENT,
    ) -> Synthesis:
        """One synthesize call for ``n`` items, shown every one of ``references``; each
        proposal is solved ``n_solutions`` times (at ``solve_temperature``) and kept with the
        majority answer when at least ``n_agree`` solutions agree."""
        if not 1 <= n_agree <= n_solutions:
            raise ValueError(f"n_agree must be within 1..n_solutions ({n_agree}/{n_solutions})")
        out = Synthesis(requested=max(0, n))
        if n < 1:
            return out
        context = {
            "task": task_description(self.family),
            "skill": skill,
            "skill_description": self._skill_infos([skill])[0].description,
            "level": level,
            "references": list(references),
            "n": n,
        }
        try:
            proposals, raw = self._ask("synthesize", context, parsers.parse_synthesize)
        except UnparsableAnswer:
            out.reject("unparsable", n)
            return out
        except TeacherError:
            out.reject("teacher_error", n)
            return out
        proposals = proposals[:n]
        out.proposed = len(proposals)
        out.reject("unparsable", n - len(proposals))  # asked for n, named fewer
        known = {parsers.normalize_answer(r.prompt) for r in references}
        for proposal in proposals:
            key = parsers.normalize_answer(proposal.question)
            if key in known:
                self._record_rejection(
                    "synthesize", "duplicate: the question repeats a reference or an earlier "
                    "proposal", proposal.question, 1,
                )
                out.reject("duplicate")
                continue
            known.add(key)
            item, reason = self._verify_proposal(skill, level, proposal, raw, n_solutions,
                                                 n_agree)
            if item is None:
                out.reject(reason)
            else:
                out.items.append(item)
        return out

    def _verify_proposal(
        self, skill: str, level: int, proposal: parsers.Proposal, raw: str, n_solutions: int,
        n_agree: int,
    ) -> tuple[Item | None, str]:
        """Self-consistency: ``n_solutions`` independent solutions; the item is kept with the
        majority answer when at least ``n_agree`` agree and the family's solver (if it has
        one) agrees too. Returns (item, "") or (None, rejection reason)."""
        answers: list[str] = []
        errors: list[str] = []
        for _ in range(n_solutions):
            try:
                answers.append(
                    self._solve(proposal.question, temperature=self.solve_temperature).answer
                )
            except UnparsableAnswer:
                errors.append("unparsable")
            except TeacherError:
                errors.append("teacher_error")
        counts = Counter(parsers.normalize_answer(a) for a in answers)
        best, agree = counts.most_common(1)[0] if counts else ("", 0)
        if agree < n_agree:
            # too few solutions to agree at all: the failed calls are the reason
            reason = "disagreement" if len(answers) >= n_agree or not errors else \
                ("unparsable" if "unparsable" in errors else "teacher_error")
            self._record_rejection(
                "synthesize",
                f"{reason}: {agree} of {n_solutions} solutions agree at most, need {n_agree} "
                f"(answers {answers!r}, failed calls {len(errors)})",
                proposal.question, n_solutions,
            )
            return None, reason
        # the majority answer (ties: the first answer to reach the top count)
        answer = next(a for a in answers if parsers.normalize_answer(a) == best)
        item = Item(
            id=synthesized_id(skill, level, proposal.question),
            prompt=proposal.question,
            answer=answer,
            skills=(skill,),
            level=level,
            meta={
                "origin": "synthesized",
                "teacher": self.kind,
                "prompt_role": "synthesize",
                "prompt_version": self.prompt_version("synthesize"),
                "solve_prompt_version": self.prompt_version("solve"),
                "reason": proposal.reason,
                "solutions": answers,
                "agreement": agree,
                "n_solutions": n_solutions,
                "raw": raw,
            },
        )
        why = solver_disagrees(self.family, item, answer)
        if why is not None:
            self._record_rejection("synthesize", f"disagreement: {why}", proposal.question,
                                   n_solutions)
            return None, "disagreement"
        item.meta["verification"] = (
            f"{agree} of {n_solutions} solutions agree"
            + ("; the family's solver agrees" if self.family.solve(item) is not None else "")
        )
        return item, ""

    def _skill_infos(self, names: list[str]) -> list[SkillInfo]:
        """SkillInfo (with the family's descriptions where it has them) for ``names``."""
        try:
            described = {s.name: s for s in self.family.skills()}
        except NotImplementedError:
            described = {}
        return [described.get(name, SkillInfo(name=name)) for name in names]
