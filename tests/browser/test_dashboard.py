"""The run dashboard in a real browser: the charts draw (with PNG and SVG buttons), the
heatmap switches to the share of misses, and a click on a cell lists its failed items."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a-long-test-password"


@pytest.fixture
def world(transactional_db):
    from apps.runs.models import EvalFailure, RunStatus
    from tests import factories as f

    user = f.UserFactory(username="dash", password=PASSWORD)
    team = f.TeamFactory(name="Dashboard team")
    f.MembershipFactory(user=user, team=team, role="viewer")
    project = f.ProjectFactory(team=team)
    add = f.SkillFactory(project=project, name="add")
    carry = f.SkillFactory(project=project, name="carry", parent=add)
    run = f.RunFactory(project=project, status=RunStatus.SUCCEEDED)
    for index in (0, 1, 2):
        rnd = f.RoundFactory(run=run, index=index, metrics={
            "accuracy": 0.2 * index, "weakest_skill_accuracy": 0.1 * index, "seconds": 3.0,
            "teacher": {"calls": 2, "prompt_tokens": 50, "completion_tokens": 10}})
        for skill, failed in ((add, 1), (carry, 3 - index)):
            f.SkillStatFactory(round=rnd, run=run, skill=skill, evaluated=5, failed=failed,
                               miss_rate=failed / 5, miss_share=failed / (4 - index),
                               accuracy=1 - failed / 5)
        f.LevelStatFactory(round=rnd, run=run, level=1, strategy_score=0.1 * index)
        EvalFailure.objects.create(
            run=run, round=rnd, item_id=f"item-{index}", prompt=f"4{index}+8=",
            answer=str(48 + index), prediction=f"wrong-{index}", level=1,
            skills=["add", "carry"], blamed=["carry"])
    return run


def test_click_a_heatmap_cell_to_list_its_failed_items(page, live_server, world):
    refused = []
    page.on("console", lambda msg: refused.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "dash")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/runs/{world.pk}/")
    heatmap = "#dash-heatmap"
    page.wait_for_selector(f"{heatmap} .main-svg")
    for name in ("levels", "sampling", "cost"):
        page.wait_for_selector(f"#dash-{name} .main-svg")
    # Plotly's own PNG button and ours for SVG
    assert page.locator(f"{heatmap} .modebar-btn[data-title='Download plot as a PNG']").count()
    assert page.locator(f"{heatmap} .modebar-btn[data-title='Download as SVG']").count()

    page.click(f"{heatmap} .updatemenu-button >> nth=1")  # "share of misses"
    page.wait_for_function(  # carry, round 0: 3 of the 4 failures (a miss rate of 0.6)
        "() => document.getElementById('dash-heatmap').data[0].z[1][0] === 0.75")

    # rows: add (top), carry; columns: rounds 0, 1, 2. Click carry in round 1.
    box = page.locator(f"{heatmap} .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 1.5 / 3, box["y"] + box["height"] * 1.5 / 2)
    page.wait_for_selector("#failures-table")
    table = page.inner_text("#dashboard-failures")
    assert "carry" in table and "round 1" in table
    assert "41+8=" in table and "wrong-1" in table and "wrong-2" not in table
    assert refused == []
