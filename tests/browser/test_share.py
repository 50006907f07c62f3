"""A share link in a real browser: made on the run page, opened in a fresh browser context
without signing in (the dashboard draws, a heatmap click lists failed items through the
token), revoked on the team's list, and then a 404.

Screenshots are kept in test-artifacts/browser/.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a-long-test-password"
KEY = "sk-browser-share-KEY-51c0"
PROMPT = "QUOKKA-PROMPT-TEXT never shown on a shared page"


@pytest.fixture
def world(transactional_db):
    from apps.runs.models import EvalFailure, RunStatus
    from tests import factories as f

    user = f.UserFactory(username="sharer", password=PASSWORD)
    team = f.TeamFactory(name="Share team")
    f.MembershipFactory(user=user, team=team, role="editor")
    project = f.ProjectFactory(team=team, name="Shared arithmetic")
    teacher = f.TeacherConfigFactory(project=project, kind="openai", api_key=KEY,
                                     base_url="https://teacher.example.org/v1")
    version = f.TeacherPromptVersionFactory(prompt=f.TeacherPromptFactory(project=project),
                                            template=PROMPT)
    run = f.RunFactory(project=project, name="Shared run", status=RunStatus.SUCCEEDED,
                       teacher_config=teacher, spec={"teacher": {"prompts": {"solve": PROMPT}}})
    run.prompt_versions.add(version)
    skill = f.SkillFactory(project=project, name="carry")
    for index in (0, 1):
        rnd = f.RoundFactory(run=run, index=index, metrics={"accuracy": 0.4 + 0.2 * index})
        f.SkillStatFactory(round=rnd, run=run, skill=skill, evaluated=10, failed=2,
                           miss_rate=0.2, accuracy=0.8)
        f.LevelStatFactory(round=rnd, run=run, level=1)
        EvalFailure.objects.create(run=run, round=rnd, item_id=f"item-{index}",
                                   prompt=f"{index}7+25=", answer="42", prediction="41",
                                   level=1, skills=["carry"], blamed=["carry"])
    return {"run": run, "team": team}


def shot(page, step: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"share-{step}.png"), full_page=True)


def test_share_link_made_opened_without_login_and_revoked(page, live_server, world):
    from playwright.sync_api import expect

    url = live_server.url
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", "sharer")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")

    # 1. The run page's Share control makes a link, shown once.
    run = world["run"]
    page.goto(f"{url}/runs/{run.pk}/")
    page.click("#share-control summary")
    page.select_option("#share-expires-in", "7")
    page.click("#share-create")
    share_url = page.locator("#share-url").get_attribute("href")
    assert share_url.startswith(f"{url}/s/")
    shot(page, "01-created")

    # 2. A fresh context: no cookies, nobody signed in.
    fresh = page.context.browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        public = fresh.new_page()
        public.set_default_timeout(30_000)
        refused = []  # the Content-Security-Policy blocks nothing the shared page needs
        public.on("console", lambda msg: refused.append(msg.text)
                  if "Content Security Policy" in msg.text else None)
        response = public.goto(share_url)
        assert response.status == 200
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "noindex" in response.headers["x-robots-tag"]
        expect(public.locator("#shared-title")).to_have_text("Shared run")
        public.wait_for_selector("#dash-heatmap .main-svg")  # Plotly drew the heatmap
        html = public.content()
        assert KEY not in html and "QUOKKA" not in html
        # a click on the heatmap's round-1 cell lists its failed items, through the token
        box = public.locator("#dash-heatmap .nsewdrag").first.bounding_box()
        public.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
        expect(public.locator("#failures-table")).to_contain_text("17+25=")
        shot(public, "02-opened")
        assert refused == []

        # 3. Revoke it on the team's list of links.
        page.goto(f"{url}/shares/team/{world['team'].pk}/")
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("#share-links button", has_text="Revoke").click()
        expect(page.locator("#share-links")).to_contain_text("revoked")
        shot(page, "03-revoked")

        # 4. The open page, reloaded, is a 404.
        response = public.reload()
        assert response.status == 404
        expect(public.locator("#shared-missing")).to_contain_text("was revoked")
        shot(public, "04-gone")
    finally:
        fresh.close()
