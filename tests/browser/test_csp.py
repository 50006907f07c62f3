"""In a real browser, the Content-Security-Policy blocks nothing the pages need: htmx swaps,
Plotly draws, and a preview past its rate limit shows the limit's message."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a-long-test-password"


@pytest.fixture
def world(transactional_db):
    from apps.runs.models import RunStatus
    from tests import factories as f
    from workers.engine.teachers.prompts import default_template

    user = f.UserFactory(username="csp", password=PASSWORD)
    team = f.TeamFactory(name="CSP team")
    f.MembershipFactory(user=user, team=team, role="owner")
    project = f.ProjectFactory(team=team)
    f.ExampleFactory(project=project, split="eval")
    run = f.RunFactory(project=project, status=RunStatus.SUCCEEDED)
    for index in (0, 1, 2):
        round_ = f.RoundFactory(run=run, index=index, metrics={"accuracy": 0.2 * index})
        f.LevelStatFactory(round=round_, level=1)
    prompt = f.TeacherPromptFactory(project=project, role="solve")
    f.TeacherPromptVersionFactory(prompt=prompt, version=1, template=default_template("solve"))
    return {"run": run, "prompt": prompt}


def test_pages_work_under_the_csp(page, live_server, world, settings):
    settings.STUDIO_RATE_LIMITS = {"prompt-preview": (1, 60)}
    refused = []
    page.on("console", lambda msg: refused.append((page.url, msg.location, msg.text))
            if "Content Security Policy" in msg.text else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "csp")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    run = world["run"]
    response = page.goto(f"{live_server.url}/runs/{run.pk}/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("#accuracy-chart .main-svg")  # Plotly drew under the policy
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#run-delete")  # static/js/confirm.js asks; dismissed, nothing is sent
    assert asked == ["Delete this run with its rounds and checkpoints?"]
    assert type(run).objects.filter(pk=run.pk).exists()

    prompt = world["prompt"]
    page.goto(f"{live_server.url}/projects/{prompt.project_id}/prompts/{prompt.pk}/")
    page.click("#preview button[type=submit]")
    page.wait_for_selector("#preview-result pre.rendered")  # htmx swapped the partial
    page.click("#preview button[type=submit]")
    page.wait_for_selector("#preview-result :text('Too many previews')")
    assert refused == []


def test_admin_pages_work_under_the_csp(page, live_server, world):
    from tests import factories as f

    f.UserFactory(username="root", password=PASSWORD, is_staff=True, is_superuser=True)
    example = f.ExampleFactory(project=world["run"].project)
    refused = []
    page.on("console", lambda msg: refused.append((page.url, msg.text))
            if "Content Security Policy" in msg.text else None)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    for path in (f"projects/example/{example.pk}/change/", "projects/example/",
                 "runs/run/add/", f"accounts/team/{world['run'].project.team_id}/change/"):
        page.goto(f"{live_server.url}/admin/{path}")
        page.wait_for_load_state("load")
    page.click(".add-row a")  # the inline's "add another" row is script-driven
    page.wait_for_selector("tr.dynamic-memberships")
    assert refused == []


def test_api_docs_work_under_the_csp_and_fetch_nothing_from_outside(page, live_server, world):
    """The API docs page (Swagger UI from django-ninja's static files) draws every operation
    under the site's CSP, and every request it makes goes to this site."""
    refused, outside = [], []
    page.on("console", lambda msg: refused.append((page.url, msg.text))
            if "Content Security Policy" in msg.text else None)
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith((live_server.url, "data:")) else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "csp")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.click("header a[href='/api/v1/docs']")
    page.wait_for_url(f"{live_server.url}/api/v1/docs")
    page.wait_for_selector("#operations-runs-run_launch")  # Swagger UI drew the operations
    page.click("#operations-projects-project_list .opblock-summary")
    page.click("#operations-projects-project_list .try-out__btn")
    page.click("#operations-projects-project_list .execute")
    page.wait_for_selector("#operations-projects-project_list .live-responses-table "
                           ".response-col_status:text('200')")  # the session's own call
    assert refused == [] and outside == []
