"""The run page shows the train/eval overlap the worker recorded (0 for an honest run)."""

from django.urls import reverse

from apps.runs.display import split_overlap
from apps.runs.models import RunStatus
from tests.factories import RoundFactory, RunFactory


def test_split_overlap_line():
    assert split_overlap([]) is None
    assert split_overlap([{"index": 0, "overlap": None}]) == {
        "recorded": False, "label": "train/eval overlap: not recorded"}
    line = split_overlap([{"index": 0, "overlap": 0.0, "overlap_removed": 3.0},
                          {"index": 1, "overlap": 0.0, "overlap_removed": 3.0}])
    assert line["label"] == "train/eval overlap: 0 items" and line["ok"]
    assert line["removed"] == 3
    bad = split_overlap([{"index": 0, "overlap": 0.0}, {"index": 1, "overlap": 1.0}])
    assert bad["label"] == "train/eval overlap: 1 item" and not bad["ok"]


def test_run_page_shows_the_overlap_and_the_rounds_spread(client_for, viewer, project_a):
    run = RunFactory(project=project_a, status=RunStatus.SUCCEEDED, rounds=1)
    RoundFactory(run=run, index=0, metrics={"accuracy": 0.1, "overlap": 0,
                                            "overlap_removed": 2, "distinct_items": 0,
                                            "max_repeat": 0})
    RoundFactory(run=run, index=1, metrics={"accuracy": 0.4, "overlap": 0,
                                            "overlap_removed": 2, "distinct_items": 24,
                                            "max_repeat": 1})
    html = client_for(viewer).get(reverse("runs:run-detail", args=[run.pk])).content.decode()
    assert "train/eval overlap: 0 items" in html
    assert "2 pool rows that repeated eval items removed by the worker" in html
    assert "24 distinct items, each drawn at most 1 time" in html
