"""The demo comparison: a project where carry and borrow are rare in training, six runs
(uniform and stat_sel over 3 seeds) queued for the workers, and a saved comparison."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.compare.models import Comparison
from apps.core import demo_compare
from apps.projects.models import Example
from apps.runs.models import Run, RunStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small(monkeypatch):
    monkeypatch.setattr(demo_compare, "TRAIN", 600)
    monkeypatch.setattr(demo_compare, "EVAL", 300)


def _share(project, split, skill):
    examples = Example.objects.filter(project=project, split=split)
    return examples.filter(skills__name=skill).count() / examples.count()


def test_the_command_queues_six_runs_and_saves_their_comparison(capsys):
    call_command("demo_compare")
    comparison = Comparison.objects.get(name=demo_compare.COMPARISON)
    project = comparison.project
    runs = Run.objects.filter(project=project)
    assert sorted(runs.values_list("curriculum__strategy", "seed")) == [
        (s, seed) for s in ("stat_sel", "uniform") for seed in (0, 1, 2)]
    assert set(runs.values_list("status", flat=True)) == {RunStatus.QUEUED}
    assert all(r.steps_per_round * r.rounds == 3000 for r in runs)
    # queued seed by seed, so the first pair trains first
    assert list(runs.order_by("pk").values_list("seed", flat=True)) == [0, 0, 1, 1, 2, 2]
    assert sorted(comparison.run_ids) == sorted(runs.values_list("pk", flat=True))
    assert comparison.group_by == "strategy"
    # carrying is rare in the pool, on its natural share in the eval split
    assert _share(project, "train", "carry") < 0.5 * _share(project, "eval", "carry")
    out = capsys.readouterr().out
    assert "6 run(s) launched" in out and f"/comparisons/{comparison.pk}/" in out


def test_calling_again_relaunches_only_what_failed():
    call_command("demo_compare")
    failed = Run.objects.get(name="stat_sel · seed 1")
    Run.objects.filter(pk=failed.pk).update(status=RunStatus.FAILED)
    call_command("demo_compare")
    assert Run.objects.filter(name="stat_sel · seed 1").count() == 2
    assert Run.objects.count() == 7
    comparison = Comparison.objects.get(name=demo_compare.COMPARISON)
    assert failed.pk not in comparison.run_ids and len(comparison.run_ids) == 6
