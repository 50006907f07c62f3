"""A launched run goes through real Celery workers to the end: every round stored once, with
its Missing-Skill-Profile, difficulty progress and a loadable checkpoint."""

import pytest

from apps.runs.artifacts import artifact_abspath
from apps.runs.models import LevelStat, Round, RunEvent, RunStatus, SkillStat
from tests.workers.conftest import wait_for
from tests.workers.helpers import FINAL, describe, launch, run_parts, starts, status

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_launched_run_stores_every_round_with_profile_and_checkpoint(workers):
    parts = run_parts()
    run = launch(parts, rounds=2)
    wait_for(lambda: status(run) in FINAL, timeout=90, what="the run to finish",
             on_fail=lambda: describe(run))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, describe(run)
    assert run.current_round == 2 and run.finished_at and run.error == ""
    rounds = list(Round.objects.filter(run=run).order_by("index"))
    assert [r.index for r in rounds] == [0, 1, 2]
    skills = {"add", "carry", "sub", "borrow"}
    for rnd in rounds:
        profile = SkillStat.objects.filter(round=rnd)
        assert {s.skill.name for s in profile} == skills
        assert LevelStat.objects.filter(round=rnd).count() == 2  # levels 1 and 2
        assert "accuracy" in rnd.metrics and rnd.curriculum_state is not None
        path = artifact_abspath(rnd.checkpoint_path)
        assert not rnd.checkpoint_path.startswith("/")  # relative to the artifacts store
        assert path.name == f"round-{rnd.index:03d}"
        from transformers import AutoModelForCausalLM

        from workers.engine import checkpoint as ckpt

        assert ckpt.is_complete(path)
        model = AutoModelForCausalLM.from_pretrained(path)
        assert model.num_parameters() > 0
    assert rounds[1].plan["entries"] and rounds[2].metrics["steps"] == 4
    # eval drawn first, the pool around it: the worker stores overlap 0 in round 0
    assert rounds[0].metrics["overlap"] == 0 == rounds[0].metrics["overlap_removed"]
    progress = RunEvent.objects.filter(run=run, kind=RunEvent.Kind.PROGRESS, message="train",
                                       step__gt=0)
    last = progress.order_by("-id").first()
    assert last.step == last.total_steps == 4
    assert last.loss is not None and last.tokens_per_s > 0 and last.eta_s is not None
    assert len(starts(run)) == 1
