"""The run page tells the truth: a real (tiny) run, recorded the way the worker records it,
and every number its charts and tables show compared with the engine's own round records."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from apps.runs.models import RunStatus
from apps.runs.recording import run_record_round, run_skills_ensure
from tests.engine.student_helpers import tiny_run_spec
from tests.factories import RunFactory
from workers.engine.api import family_skills, run_loop
from workers.engine.records import RunHooks

pytestmark = pytest.mark.django_db


def _figures(html: str) -> dict[str, dict]:
    return {m.group(1): json.loads(m.group(2)) for m in re.finditer(
        r'<script id="([a-z-]+-figure)" type="application/json">(.*?)</script>', html, re.S)}


@pytest.fixture
def recorded(tmp_path, project_a):
    spec = tiny_run_spec(rounds=2, curriculum={"strategy": "sec", "params": {"tau": 0.05}})
    records = []

    class Hooks(RunHooks):
        def on_round(self, record):
            records.append(record)

    run_loop(spec, artifacts_dir=tmp_path, hooks=Hooks())
    run = RunFactory(project=project_a, rounds=2, status=RunStatus.SUCCEEDED, current_round=2,
                     eval_size=spec.task.eval_size)
    run_skills_ensure(run=run, skills=family_skills(spec.task.family, spec.task.options))
    for record in records:
        run_record_round(run=run, record=record.to_dict())
    return run, records


def test_every_chart_and_table_matches_the_round_records(client_for, owner, recorded):
    run, records = recorded
    html = client_for(owner).get(reverse("runs:run-detail", args=[run.pk])).content.decode()
    figures = _figures(html)

    overall = next(t for t in figures["accuracy-figure"]["data"] if t["name"] == "overall")
    assert overall["x"] == [r.round for r in records]
    assert overall["y"] == [round(r.metrics["accuracy"], 4) for r in records]

    heat = figures["dash-heatmap-figure"]["data"][0]
    assert heat["x"] == [r.round for r in records]
    for row, skill in zip(heat["z"], heat["y"], strict=True):
        want = [next((round(s.miss_rate, 4) for s in r.profile if s.skill == skill), None)
                for r in records]
        assert row == want, skill

    bars = {t["name"]: t for t in figures["dash-sampling-figure"]["data"]}
    for r in records[1:]:
        for level, p in r.level_probabilities.items():
            trace = bars[f"level {level}"]
            assert trace["y"][trace["x"].index(r.round)] == pytest.approx(p, abs=1e-4)

    # the latest round's per-skill table: accuracy as the record has it
    last = records[-1]
    table = html.split('id="skill-table"')[1].split("</table>")[0]
    for stat in last.profile:
        row = re.search(rf'data-skill="{re.escape(stat.skill)}".*?</tr>', table, re.S)
        assert row is not None, stat.skill
        assert f"{stat.accuracy:.3f}" in row.group(0), stat.skill


def test_the_log_and_eval_size_agree_with_the_launch(recorded):
    run, records = recorded
    evaluated = sum(lv.evaluated for lv in records[-1].levels)
    assert evaluated == run.eval_size
