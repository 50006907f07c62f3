import csv
import io
import json
import re

import pytest
from django.urls import reverse

from apps.compare.exports import CSV_COLUMNS, inline_script, plotly_bundle_path
from apps.compare.models import Comparison
from tests.apps.compare.conftest import make_run
from tests.factories import SkillFactory


def _csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_csv_has_a_row_per_group_round_and_measure(client_for, viewer, project_a, six_runs):
    url = reverse("compare:selection-export", args=[project_a.pk, "csv"]) + "?" + "&".join(
        f"run={r.pk}" for r in six_runs)
    response = client_for(viewer).get(url)
    assert 'attachment; filename="comparison-project-' in response["Content-Disposition"]
    rows = _csv(response)
    assert tuple(rows[0]) == CSV_COLUMNS
    # 3 groups x 4 rounds x (overall, weakest, held-out, held-out level 9, 3 skills)
    assert len(rows) == 3 * 4 * 7
    assert [r["group"] for r in rows[::28]] == ["sec", "stat_sel", "uniform"]
    first = rows[:7]
    assert [r["kind"] for r in first] == ["overall", "weakest_skill", "held_out",
                                         "held_out_level", "skill", "skill", "skill"]
    assert [r["name"] for r in first] == ["", "", "", "9", "add", "borrow", "carry"]
    final = {(r["group"], r["kind"], r["name"]): r for r in rows if r["round"] == "3"}
    overall = final[("stat_sel", "overall", "")]
    assert overall["steps"] == "30" and overall["runs"] == "2"
    assert float(overall["accuracy_mean"]) == pytest.approx(0.71)
    assert float(overall["accuracy_std"]) == pytest.approx(0.01414, abs=1e-4)
    assert float(overall["baseline_mean"]) == pytest.approx(0.61)  # uniform, the default
    assert float(overall["delta"]) == pytest.approx(0.1)
    assert float(final[("uniform", "held_out_level", "9")]["accuracy_mean"]) == \
        pytest.approx(0.305)
    assert float(final[("sec", "skill", "carry")]["delta"]) == pytest.approx(0.05)


def test_saved_csv_escapes_formulas_and_keeps_the_saved_grouping(client_for, viewer, project_a,
                                                                 curricula):
    evil = [SkillFactory(project=project_a, name="=HYPERLINK(1)")]
    runs = [make_run(project_a, curricula["uniform"], seed=s, skills=evil, held_out=False,
                     lr=lr) for s, lr in ((0, 0.1), (1, 0.2))]
    saved = Comparison.objects.create(project=project_a, name="Lr: sweep!", group_by="lr",
                                      run_ids=[r.pk for r in runs])
    response = client_for(viewer).get(reverse("compare:comparison-export",
                                              args=[saved.pk, "csv"]))
    assert f'filename="comparison-{saved.pk}-lr-sweep.csv"' in response["Content-Disposition"]
    rows = _csv(response)
    assert {r["group"] for r in rows} == {"0.1", "0.2"}
    assert {r["name"] for r in rows if r["kind"] == "skill"} == {"'=HYPERLINK(1)"}
    assert not any(r["kind"].startswith("held_out") for r in rows)


def test_html_export_is_self_contained_and_escapes_data(client_for, viewer, project_a,
                                                        curricula, skills):
    name = '</script><script>alert("x")</script>'
    runs = [make_run(project_a, curricula["uniform"], seed=s, name=f"{name} {s}")
            for s in (0, 1)]
    saved = Comparison.objects.create(project=project_a, name="<b>offline</b>",
                                      group_by="run", run_ids=[r.pk for r in runs])
    response = client_for(viewer).get(reverse("compare:comparison-export",
                                              args=[saved.pk, "html"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Disposition"].startswith("attachment;")
    html = response.content.decode()
    # No reference to anything outside the file: no src/href attribute, a CSP that
    # forbids every request, Plotly and the drawing script inline.
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", html)
    assert "default-src 'none'" in html
    assert "Plotly" in html and "data-compare-figure" in html and "Plotly.react" in html
    assert len(html) > plotly_bundle_path().stat().st_size * 0.9
    assert '<script>alert("x")' not in html and "<b>offline</b>" not in html
    assert "&lt;b&gt;offline&lt;/b&gt;" in html
    scripts = re.findall(r'<script id="(compare-[a-z_]+)" type="application/json">(.*?)'
                         r"</script>", html, re.S)
    assert [s[0] for s in scripts] == ["compare-accuracy", "compare-weakest",
                                       "compare-held_out"]
    figure = json.loads(scripts[0][1])
    assert len(figure["data"]) == 2 and figure["data"][0]["name"].startswith("</script>")
    assert "/runs/" not in html and "<form" not in html  # no links into the app


def test_inline_script_cannot_close_its_element():
    text = 'var a = "</SCRIPT>"; var b = "<!--";'
    safe = inline_script(text)
    assert "</script" not in safe.lower() and "<!--" not in safe
    assert safe == 'var a = "<\\/SCRIPT>"; var b = "<\\!--";'


def test_an_empty_or_bad_selection_exports_no_run(client_for, viewer, project_a, six_runs):
    client = client_for(viewer)
    for query in ("", "?run=abc", "?run=0"):
        rows = _csv(client.get(reverse("compare:selection-export", args=[project_a.pk, "csv"])
                               + query))
        assert rows == [], query


def test_unknown_export_format_is_404(client_for, viewer, project_a, six_runs):
    saved = Comparison.objects.create(project=project_a, name="s",
                                      run_ids=[r.pk for r in six_runs])
    assert client_for(viewer).get(reverse("compare:comparison-export",
                                          args=[saved.pk, "xlsx"])).status_code == 404
