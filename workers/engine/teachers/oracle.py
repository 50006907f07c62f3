"""The programmatic oracle: exact skills, exact verifier and a generator, from the task family.

It attributes failures with the family's error analysis (:meth:`TaskFamily.attribute`) and
checks each generated item's stated answer with the family's own solver
(:meth:`TaskFamily.solve`), never by comparing the answer with itself.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict

from workers.engine.errors import SkillError, TeacherError
from workers.engine.tasks.base import Item, SkillInfo, TaskFamily
from workers.engine.teachers import prompts
from workers.engine.teachers.base import (
    MIN_AGREEMENT,
    SOLVE_SAMPLES,
    Synthesis,
    Teacher,
    TeacherFailure,
    map_concurrent,
    solver_disagrees,
)

ORACLE_VERSION = "oracle"
# candidates drawn from the generator per item asked for, to find ones like the references
LIKE_OVERDRAW = 16


class OracleTeacher(Teacher):
    kind = "oracle"

    def __init__(self, family: TaskFamily, *, concurrency: int = 1):
        super().__init__(family)
        self.concurrency = concurrency

    @property
    def attribution(self) -> str:
        return self.family.attribution

    def diagnose(self, item: Item, prediction: str, skills: list[str]) -> tuple[str, ...]:
        """The family's attribution, limited to skills on the item and on the list; blaming
        a skill the item does not have is recorded as a failure (never counted)."""
        self._count_usage()
        attributed = tuple(self.family.attribute(item, prediction))
        off_item = [s for s in attributed if s not in item.skills]
        if off_item:
            self._record_failure(TeacherFailure(
                "grade",
                f"item {item.id!r}: attributed skills {off_item} are not skills of the item "
                f"{list(item.skills)}",
                ", ".join(attributed), 1,
            ))
        allowed = set(skills)
        missing = tuple(s for s in attributed if s in allowed and s in item.skills)
        if attributed and not missing and not off_item:
            self._record_failure(TeacherFailure(
                "grade",
                f"item {item.id!r}: attributed skills {list(attributed)} are not in the "
                "skill list",
                ", ".join(attributed), 1,
            ))
        return missing

    def diagnose_many(
        self, failed: list[tuple[Item, str]], skills: list[str]
    ) -> list[tuple[str, ...]]:
        return map_concurrent(lambda p: self.diagnose(p[0], p[1], skills), failed,
                              self.concurrency)

    def propose(
        self, *, skill: str, level: int, references: list[Item], n: int, rng: random.Random,
        n_solutions: int = SOLVE_SAMPLES, n_agree: int = MIN_AGREEMENT,
    ) -> Synthesis:
        """``n`` items from the family's generator, each checked with the family's solver
        (``n_solutions``/``n_agree`` do not apply: the solver decides). A family without a
        solver cannot check its generator; such items say so in ``meta["verification"]``.

        Like STAT's teacher, which writes new items similar to the references it is shown,
        each new item has the skill set of one reference at this level (:meth:`_like`)."""
        out = Synthesis(requested=max(0, n))
        if n < 1:
            return out
        if not self.family.can_generate():
            raise TeacherError(
                "synthesize", f"task family {self.family.name!r} cannot generate items"
            )
        self._count_usage()
        try:
            generated = self._like(skill, level, references, n, rng)
        except SkillError as exc:  # e.g. a skill that cannot occur at this level
            self._record_failure(TeacherFailure("synthesize", str(exc), "", 1))
            out.reject("teacher_error", n)
            return out
        out.proposed = len(generated)
        out.reject("duplicate", n - len(generated))  # the generator found no more new problems
        known = {r.prompt for r in references}
        for item in generated:
            why = solver_disagrees(self.family, item, item.answer)
            if why is not None:
                self._record_rejection("synthesize", f"disagreement: item {item.id!r}: {why}",
                                       item.prompt, 1)
                out.reject("disagreement")
                continue
            if item.prompt in known:
                self._record_rejection(
                    "synthesize", f"duplicate: item {item.id!r} repeats a reference item",
                    item.prompt, 1
                )
                out.reject("duplicate")
                continue
            known.add(item.prompt)
            checked = self.family.solve(item) is not None
            meta = dict(item.meta)
            meta.update({
                "origin": "synthesized",
                "teacher": self.kind,
                "prompt_role": "synthesize",
                "prompt_version": ORACLE_VERSION,
                "reason": f"generated by the {self.family.name} family for skill "
                          f"{skill!r} at level {level}",
                "verification": "the family's solver agrees" if checked else
                                "none: the family has no solver (its generator's answer)",
            })
            out.items.append(Item(id=item.id, prompt=item.prompt, answer=item.answer,
                                  skills=item.skills, level=item.level, meta=meta))
        return out

    def _like(self, skill: str, level: int, references: list[Item], n: int,
              rng: random.Random) -> list[Item]:
        """Up to ``n`` generated items requiring ``skill`` at ``level``, the i-th with the
        skill set of the i-th reference at this level (cycling), so synthesis follows the
        mix of skills the references have (e.g. an addition without a carry is answered with
        another addition without a carry, not with whatever the generator draws). Where the
        generator offers no item like a reference, any generated item takes its place."""
        wanted = [frozenset(r.skills) for r in references
                  if r.level == level and skill in r.skills]
        count = n * LIKE_OVERDRAW if wanted else n
        generated = list(self.family.generate(skill=skill, level=level, n=count, rng=rng))
        if not wanted:
            return generated[:n]
        by_skills: dict[frozenset, list[Item]] = defaultdict(list)
        for item in generated:
            by_skills[frozenset(item.skills)].append(item)
        chosen: list[Item | None] = []
        for i in range(min(n, len(generated))):
            like = by_skills.get(wanted[i % len(wanted)])
            chosen.append(like.pop() if like else None)
        spare = iter([it for items in by_skills.values() for it in items])
        return [it if it is not None else next(spare) for it in chosen]

    def label_skills(self, item: Item, skills: list[str]) -> tuple[str, ...]:
        self._count_usage()
        names = tuple(s for s in item.skills if s in set(skills))
        if not names:
            message = f"item {item.id!r}: none of its skills {list(item.skills)} is in the list"
            self._record_failure(TeacherFailure("label_skills", message, "", 1))
            raise TeacherError("label_skills", message)
        return names

    def extract_skills(self, items: list[Item]) -> list[SkillInfo]:
        self._count_usage()
        return list(self.family.skills())

    def solve(self, item: Item) -> str:
        """The family's solver's answer; the item's own answer only when it has none."""
        self._count_usage()
        answer = self.family.solve(item)
        return item.answer if answer is None else answer

    def rate_difficulty(self, item: Item, levels: list[int]) -> int:
        self._count_usage()
        if levels and item.level not in levels:
            message = f"item {item.id!r}: level {item.level} is not on the scale {levels}"
            self._record_failure(TeacherFailure("rate_difficulty", message, "", 1))
            raise TeacherError("rate_difficulty", message)
        return item.level

    def call_raw(self, role: str, prompt: str) -> str:
        """What the oracle would answer, in the role's output contract.

        The oracle does not read prompts; it answers about an item drawn deterministically
        from the prompt's hash, so "try it" gives the same text for the same prompt.
        """
        prompts.role_prompt(role)  # unknown role -> TemplateError
        self._count_usage()
        seed = int(hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16], 16)
        rng = random.Random(seed)
        if role == "extract_skills":
            return "\n".join(
                f"{i}. {s.name}: {s.description or s.name}"
                for i, s in enumerate(self.family.skills(), 1)
            )
        levels = self.family.levels()
        item = self.family.sample(n=1, rng=rng, levels=[rng.choice(levels)])[0]
        if role == "label_skills":
            return f"<skill>{', '.join(item.skills)}</skill>"
        if role == "grade":
            missing = self.family.attribute(item, "") or item.skills
            return (
                "<judge>incorrect</judge><reason>The oracle attributes the failure on "
                f"{item.prompt!r} by error analysis.</reason><skill>{', '.join(missing)}</skill>"
            )
        if role == "synthesize":
            skill = item.skills[0]
            try:
                new = self.family.generate(skill=skill, level=item.level, n=2, rng=rng)
            except (NotImplementedError, SkillError):
                new = self.family.sample(n=2, rng=rng, levels=[item.level])
            return "".join(
                f"<reason>Generated for skill {skill} at level {item.level}.</reason>"
                f"<question>{it.prompt}</question>"
                for it in new
            )
        if role == "solve":
            return f"Exact solution of {item.prompt!r} by the task's solver.\n" \
                   f"<answer>{item.answer}</answer>"
        return f"<level>{item.level}</level>"  # rate_difficulty
