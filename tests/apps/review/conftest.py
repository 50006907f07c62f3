"""A project with a run whose round made pending teacher items, with their lineage."""

from types import SimpleNamespace

import pytest


@pytest.fixture
def world(project_a):
    from apps.projects.models import Example
    from apps.runs.models import EvalFailure
    from tests.factories import ExampleFactory, RoundFactory, RunFactory, SkillFactory

    add = SkillFactory(project=project_a, name="add")
    carry = SkillFactory(project=project_a, name="carry")
    seed = [ExampleFactory(project=project_a, skills=[add], level=lvl, key=f"seed-{i}",
                           prompt=f"{i}+{i}=", answer=str(2 * i))
            for i, lvl in enumerate([1, 2, 3, 1, 2])]
    Example.objects.filter(pk__in=[e.pk for e in seed]).update(added_at="2026-01-01T00:00Z")
    run = RunFactory(project=project_a, name="stat run")
    rnd = RoundFactory(run=run, index=1, plan={"entries": [
        {"skill": "add", "level": 2, "count": 4, "source": "synth", "reason": "weak"}]})
    EvalFailure.objects.create(run=run, round=rnd, item_id="seed-1", prompt="1+1=",
                               answer="2", prediction="11", level=2, skills=["add"],
                               blamed=["add"])
    pending = []
    for i in range(6):
        e = ExampleFactory(
            project=project_a, skills=[add if i % 2 == 0 else carry], level=2,
            prompt=f"synth question {i}", answer=str(40 + i), origin="synthesized",
            review_status="pending", round=rnd, teacher_kind="oracle", key=f"syn-{i}",
            triggering_example=seed[1],
            meta={"teacher": "oracle", "solutions": [str(40 + i), str(40 + i), "7"],
                  "agreement": 2 if i < 4 else 3, "n_solutions": 3,
                  "trigger_item": "seed-1", "references": ["seed-0", "seed-2"],
                  "prompt_version": "synthesize v1"})
        pending.append(e)
    return SimpleNamespace(project=project_a, add=add, carry=carry, seed=seed, run=run,
                           round=rnd, pending=pending)
