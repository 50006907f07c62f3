"""A new user configures everything in the browser and watches a tiny run finish live.

Screenshots of every step are kept in test-artifacts/browser/.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

PASSWORD = "a-long-test-password"
RUN_TIMEOUT_MS = 240_000


def shot(page, step: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{step}.png"), full_page=True)


@pytest.fixture
def new_user(transactional_db):
    from apps.accounts.models import Membership, Role, Team
    from tests.factories import UserFactory

    user = UserFactory(username="newcomer", password=PASSWORD)
    team = Team.objects.create(name="Browser team")
    Membership.objects.create(user=user, team=team, role=Role.OWNER)
    return user


def test_configure_launch_and_watch_a_run(page, live_server, browser_worker, new_user):
    from playwright.sync_api import expect

    from apps.curricula.models import Curriculum
    from apps.runs.models import Run, RunStatus

    url = live_server.url

    # 1. Log in.
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", "newcomer")
    page.fill("#id_password", PASSWORD)
    shot(page, "01-login")
    page.click("button[type=submit]")
    expect(page.locator(".topbar")).to_contain_text("newcomer")

    # 2. A project from the arithmetic family (small options: the run must be quick).
    page.goto(f"{url}/projects/new/")
    family = page.locator("#from-family")
    family.get_by_label("Name").fill("Browser arithmetic")
    family.locator("input[value=arithmetic]").check()
    family.get_by_label("Task options (JSON)").fill('{"levels": [1, 2], "ops": ["add", "sub"]}')
    family.get_by_label("Train examples").fill("200")
    family.get_by_label("Eval examples").fill("40")
    shot(page, "02-project-new")
    family.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Browser arithmetic")
    project_url = page.url
    shot(page, "03-project")

    # 3. A new project comes with the oracle teacher; add a second one in the form.
    page.get_by_role("link", name="Teachers", exact=True).click()
    expect(page.locator("main table").first).to_contain_text("oracle")
    form = page.locator("#teacher-form")
    form.get_by_label("Name").fill("second oracle")
    form.locator("input[value=oracle]").check()
    form.locator("button[value=save]").click()
    expect(page.locator("main table").first).to_contain_text("second oracle")

    # 4. Teacher prompts (the defaults come with the project): edit one as a new version,
    #    preview it.
    page.goto(project_url)
    page.get_by_role("link", name="Teacher prompts").click()
    expect(page.get_by_role("button", name="Install the built-in defaults")).to_have_count(0)
    page.locator("#role-solve a").first.click()
    editor = page.locator("#id_template")
    editor.fill(editor.input_value() + "\nShow every carry and borrow.")
    page.get_by_label("Note").fill("ask for carries")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator("#versions")).to_contain_text("v2")
    page.locator("#preview").get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-result pre.rendered")).to_contain_text(
        "Show every carry and borrow.")
    shot(page, "04-prompt-version-preview")

    # 5. A stat_sel curriculum with a changed parameter; the form follows the strategy.
    page.get_by_role("link", name="Curricula").click()
    page.get_by_role("link", name="New curriculum").click()
    page.get_by_label("Name").fill("targeted k3")
    page.select_option("#id_strategy", "stat_sel")
    k = page.locator("input[name=params-k]")
    expect(k).to_have_value("5")  # swapped in by htmx with the schema's default
    expect(page.locator("#param-k")).to_contain_text("items per (failed item, missing skill)")
    k.fill("0")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#param-k .errorlist")).to_contain_text("must be at least 1")
    assert not Curriculum.objects.filter(name="targeted k3").exists()
    shot(page, "05-curriculum-error")
    page.locator("input[name=params-k]").fill("3")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("h1")).to_have_text("targeted k3")
    assert Curriculum.objects.get(name="targeted k3").params["k"] == 3
    shot(page, "06-curriculum")

    # 6. Launch a tiny run.
    page.get_by_role("link", name="Runs", exact=True).click()
    page.get_by_role("link", name="Launch a run").click()
    launch = page.locator("#launch-form")
    launch.get_by_label("Name").fill("browser run")
    launch.get_by_label("Max length").fill("32")
    launch.get_by_label("Curriculum").select_option(label="targeted k3 (stat_sel)")
    launch.get_by_label("Rounds").fill("2")
    launch.get_by_label("Steps per round").fill("20")
    launch.get_by_label("Eval size").fill("40")
    launch.get_by_label("Device").select_option("cpu")
    shot(page, "07-launch")
    launch.get_by_role("button", name="Launch").click()
    expect(page.locator("h1")).to_have_text("browser run")
    run = Run.objects.get(name="browser run")
    assert run.spec["curriculum"] == {"strategy": "stat_sel",
                                      "params": {"k": 3, "uniform_floor": 0.1}}
    assert ("solve", 2) in set(run.prompt_versions.values_list("prompt__role", "version"))

    # 7. Watch it live: htmx polls until the run has finished.
    expect(page.locator("#run-status")).to_have_text(re.compile("Running|Succeeded"),
                                                      timeout=120_000)
    shot(page, "08-run-live")
    expect(page.locator("#run-status")).to_have_text("Succeeded", timeout=RUN_TIMEOUT_MS)
    assert Run.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED
    expect(page.locator("#live")).not_to_have_attribute("hx-trigger", re.compile("every"))
    expect(page.locator("#progress-line")).to_contain_text("100%")
    shot(page, "09-run-finished")

    # 8. Read the per-skill table of the last round and sort it.
    table = page.locator("#skill-table")
    expect(page.locator("h2", has_text="Missing-Skill-Profile")).to_contain_text("round 2")
    rows = table.locator("tbody tr[data-skill]")
    assert rows.count() >= 2
    skills = rows.evaluate_all("rows => rows.map(r => r.dataset.skill)")
    table.locator("th[data-sort=skill] a").click()
    # wait for the swap itself: the first row alone may be the same in both orders
    expect(page).to_have_url(re.compile(r"\?sort=skill$"))
    page.wait_for_function(
        "want => Array.from(document.querySelectorAll('#skill-table tbody tr[data-skill]'))"
        ".map(r => r.dataset.skill).join() === want", arg=",".join(sorted(skills)))
    sorted_names = table.locator("tbody tr[data-skill]").evaluate_all(
        "rows => rows.map(r => r.dataset.skill)")
    assert sorted_names == sorted(skills)
    first = table.locator("tbody tr[data-skill]").first.locator("td")
    accuracy = float(first.nth(3).inner_text())
    assert 0.0 <= accuracy <= 1.0
    assert page.locator("#accuracy-chart .main-svg").count() > 0  # Plotly drew the chart
    expect(page.locator("#run-log")).to_contain_text("launched by newcomer")
    shot(page, "10-skill-table")
