"""The first hour: from the login page to a launched run on a brand-new project, without
visiting any page the way does not lead to (no teacher, prompt or curriculum page first)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser]

PASSWORD = "a-long-test-password"


@pytest.fixture
def newcomer(transactional_db):
    from apps.accounts.models import Membership, Role, Team
    from tests.factories import UserFactory

    user = UserFactory(username="firsthour", password=PASSWORD)
    team = Team.objects.create(name="First-hour team")
    Membership.objects.create(user=user, team=team, role=Role.OWNER)
    return user


def test_login_to_a_launched_run_on_a_new_project(page, live_server, newcomer):
    from playwright.sync_api import expect

    from apps.runs.models import Run

    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url)
            if frame == page.main_frame else None)

    page.goto(f"{live_server.url}/")  # the login page comes first
    page.fill("#id_username", "firsthour")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("link", name="New project in First-hour team").click()
    family = page.locator("#from-family")
    family.get_by_label("Name").fill("My first project")
    family.locator("input[value=arithmetic]").check()
    family.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("My first project")
    page.locator("#project-launch").click()
    expect(page.locator("#launch-missing")).to_have_count(0)  # nothing left to set up
    launch = page.locator("#launch-form")
    launch.get_by_label("Name").fill("first run")
    launch.get_by_role("button", name="Launch").click()
    expect(page.locator("h1")).to_have_text("first run")
    page.screenshot(path=str(ARTIFACTS / "first-hour-launched.png"), full_page=True)

    run = Run.objects.get(name="first run")
    assert run.teacher_config.name == "oracle"
    assert run.curriculum.strategy in {"uniform", "stat_sel"}
    assert run.prompt_versions.count() >= 1
    paths = [u.removeprefix(live_server.url) for u in visited]
    assert not any(p.startswith(f"/projects/{run.project_id}/{section}")
                   for p in paths for section in ("teachers", "prompts", "curricula"))


def test_the_launch_form_names_what_is_missing_and_links_to_it(page, live_server, newcomer):
    from playwright.sync_api import expect

    from apps.curricula.models import Curriculum
    from apps.projects.services import project_create
    from apps.prompts.models import TeacherConfig

    team = newcomer.memberships.get().team
    project = project_create(user=newcomer, team=team, name="Bare", starter=False)
    assert not TeacherConfig.objects.filter(project=project).exists()
    assert not Curriculum.objects.filter(project=project).exists()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "firsthour")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/projects/{project.pk}/runs/new/")
    missing = page.locator("#launch-missing")
    expect(missing).to_contain_text("a teacher and a curriculum")
    missing.get_by_role("link", name="Add a teacher").click()
    expect(page).to_have_url(f"{live_server.url}/projects/{project.pk}/teachers/#teacher-form")
    expect(page.locator("#teacher-form")).to_be_visible()
