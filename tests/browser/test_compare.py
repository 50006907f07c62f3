"""In a real browser: tick 6 runs on the run list, compare them grouped by strategy, save the
comparison, download it as one HTML file and open that file offline with its charts."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a-long-test-password"


@pytest.fixture
def world(transactional_db):
    from tests import factories as f
    from tests.apps.compare.conftest import make_run

    user = f.UserFactory(username="cmp", password=PASSWORD)
    team = f.TeamFactory(name="Compare team")
    f.MembershipFactory(user=user, team=team, role="editor")
    project = f.ProjectFactory(team=team, name="Compare project")
    for name in ("add", "borrow", "carry"):
        f.SkillFactory(project=project, name=name)
    bases = {"uniform": 0.3, "stat_sel": 0.4, "sec": 0.35}
    curricula = {s: f.CurriculumFactory(project=project, name=s, strategy=s) for s in bases}
    runs = [make_run(project, curricula[s], seed=seed, base=base)
            for s, base in bases.items() for seed in (0, 1)]
    other = make_run(project, curricula["uniform"], seed=9, name="not picked")
    return {"project": project, "runs": runs, "other": other}


def test_compare_six_runs_by_strategy_save_and_export(page, live_server, world, tmp_path):
    problems = []
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and "favicon" not in msg.location.get("url", "") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "cmp")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    project = world["project"]
    page.goto(f"{live_server.url}/projects/{project.pk}/runs/")
    assert page.is_disabled("#compare-button")
    for run in world["runs"]:
        page.check(f"#pick-{run.pk}")
    assert page.inner_text("#compare-button") == "Compare 6 runs"
    page.click("#compare-button")
    page.wait_for_url(re.compile(rf"/projects/{project.pk}/compare/\?run="))

    page.wait_for_selector("[data-compare-figure=compare-accuracy] .main-svg")
    page.wait_for_selector("[data-compare-figure=compare-weakest] .main-svg")
    legend = page.locator("[data-compare-figure=compare-accuracy] .legendtext").all_text_contents()
    assert legend == ["sec", "stat_sel", "uniform"]
    assert "6 runs in 3 groups" in page.inner_text("#compare-summary")
    assert "not picked" not in page.inner_text("#comparison")
    headers = page.locator("#compare-table thead th").all_inner_texts()
    assert headers == ["Measure", "sec", "stat_sel", "uniform (baseline)"]
    assert page.locator("#compare-table td.weakest").count() == 3
    assert page.locator("#compare-table tr.kind-held_out_level.highlight").count() == 1
    overall = page.locator("#compare-table tbody tr").first.locator("td").all_inner_texts()
    assert "+0.100" in overall[1]  # stat_sel against uniform

    page.select_option("#compare-baseline", "group:sec")
    page.click("#compare-apply")
    page.wait_for_selector("#compare-table th:has-text('sec (baseline)')")

    page.fill("#comparison-name", "Targeting vs uniform")
    page.click("#comparison-save-button")
    page.wait_for_selector("h1:has-text('Targeting vs uniform')")
    page.wait_for_selector("[data-compare-figure=compare-accuracy] .main-svg")

    chart = "[data-compare-figure=compare-accuracy]"
    page.hover(chart)
    with page.expect_download() as info:  # Plotly's mode bar, with the SVG button added
        page.click(f"{chart} .modebar-btn[data-title='Download plot as SVG']")
    assert info.value.suggested_filename == "compare-accuracy.svg"
    with page.expect_download() as info:
        page.click("#export-html")
    path = tmp_path / "comparison.html"
    info.value.save_as(path)
    with page.expect_download() as info:
        page.click("#export-csv")
    csv_path = tmp_path / "comparison.csv"
    info.value.save_as(csv_path)
    assert csv_path.read_text().startswith("group,round,steps,kind,name,runs,")

    # The exported file, in a fresh offline context: the charts draw with nothing fetched.
    context = page.context.browser.new_context()
    context.set_offline(True)
    requests = []
    offline = context.new_page()
    offline.on("request", lambda r: requests.append(r.url))
    offline.on("pageerror", lambda exc: problems.append(str(exc)))
    offline.goto(path.as_uri())
    offline.wait_for_selector("[data-compare-figure=compare-accuracy] .main-svg")
    offline.wait_for_selector("[data-compare-figure=compare-held_out] .main-svg")
    assert "Targeting vs uniform" in offline.inner_text("h1")
    assert offline.locator("#compare-table td.weakest").count() == 3
    assert [u for u in requests if not u.startswith(("file:", "data:", "blob:"))] == []
    context.close()
    assert problems == []
