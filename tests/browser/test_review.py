"""A reviewer works through the review queue with the keyboard only: accepts 3 items,
rejects 1 with a reason, edits 1 and undoes 1; then bulk-accepts a filtered set; the run
that waits for the review resumes after the last decision.

Screenshots are kept in test-artifacts/browser/ (review-*.png).
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a-long-review-password"


def shot(page, step: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"review-{step}.png"), full_page=True)


@pytest.fixture
def queue_project(transactional_db):
    from apps.accounts.models import Membership, Role, Team
    from apps.projects.models import Example
    from tests.factories import (
        ExampleFactory,
        ProjectFactory,
        RoundFactory,
        RunFactory,
        SkillFactory,
        UserFactory,
    )

    user = UserFactory(username="reviewer", password=PASSWORD)
    team = Team.objects.create(name="Review team")
    Membership.objects.create(user=user, team=team, role=Role.EDITOR)
    project = ProjectFactory(team=team, name="Review arithmetic")
    add = SkillFactory(project=project, name="add")
    carry = SkillFactory(project=project, name="carry")
    for level in (1, 2, 3):
        ExampleFactory(project=project, skills=[add], level=level, prompt=f"{level}+1=")
    from apps.runs.models import RunStatus

    # the run that made the items waits for their review before its next round
    run = RunFactory(project=project, name="synth run", status=RunStatus.WAITING)
    rnd = RoundFactory(run=run, index=1)
    items = [
        ExampleFactory(project=project, skills=[add if i < 6 else carry], level=2,
                       prompt=f"teacher question {i}", answer=str(100 + i),
                       origin=Example.Origin.SYNTHESIZED,
                       review_status=Example.ReviewStatus.PENDING, round=rnd,
                       meta={"teacher": "oracle", "solutions": [str(100 + i)] * 3,
                             "agreement": 3, "n_solutions": 3})
        for i in range(9)
    ]
    return {"user": user, "project": project, "items": items, "carry": carry, "run": run}


def test_keyboard_review_and_bulk_accept(page, live_server, queue_project, monkeypatch):
    from playwright.sync_api import expect

    from apps.runs.models import Run, RunStatus

    sent = []  # the runs handed to the GPU queue (the live server runs in this process)
    monkeypatch.setattr("apps.runs.dispatch.enqueue_run", sent.append)

    from apps.projects.models import Example
    from apps.review.models import ReviewDecision

    items = queue_project["items"]
    project = queue_project["project"]
    refused = []  # nothing the review pages need is blocked by the Content-Security-Policy
    page.on("console", lambda msg: refused.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "reviewer")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/projects/{project.pk}/review/")
    pending = page.locator("#pending-count")
    expect(pending).to_have_text("9 pending")
    expect(page.locator("#focus")).to_have_attribute("data-example", str(items[0].pk))
    shot(page, "01-queue")

    # ? shows the keys, Escape hides them.
    page.keyboard.press("?")
    expect(page.locator("#review-keys")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#review-keys")).to_be_hidden()

    # a, a, a: three items accepted, the focus moves on each time.
    for n in range(3):
        page.keyboard.press("a")
        expect(pending).to_have_text(f"{8 - n} pending")
        expect(page.locator("#focus")).to_have_attribute("data-example", str(items[n + 1].pk))

    # j skips one, k comes back to it.
    page.keyboard.press("j")
    expect(page.locator("#focus")).to_have_attribute("data-example", str(items[4].pk))
    page.keyboard.press("k")
    expect(page.locator("#focus")).to_have_attribute("data-example", str(items[3].pk))

    # r: the reasons; the arrow picks the second one, Enter rejects.
    page.keyboard.press("r")
    page.keyboard.press("ArrowDown")
    shot(page, "02-reject")
    page.keyboard.press("Enter")
    expect(pending).to_have_text("5 pending")

    # e: the answer, selected; type a new one, Ctrl+Enter saves and accepts.
    page.keyboard.press("e")
    page.keyboard.type("7")
    page.keyboard.press("Control+Enter")
    expect(pending).to_have_text("4 pending")
    edited = Example.objects.get(pk=items[4].pk)
    assert (edited.answer, edited.suggestion["answer"]) == ("7", "104")

    # u: the edit is undone.
    page.keyboard.press("u")
    expect(pending).to_have_text("5 pending")
    expect(page.locator("#focus")).to_have_attribute("data-example", str(items[4].pk))
    shot(page, "03-after-undo")

    statuses = dict(Example.objects.filter(pk__in=[e.pk for e in items])
                    .values_list("pk", "review_status"))
    assert [statuses[e.pk] for e in items] == ["approved"] * 3 + ["rejected"] + \
        ["pending"] * 5
    rejected = ReviewDecision.objects.get(example=items[3])
    assert (rejected.action, rejected.reason) == ("reject", "ambiguous")
    undone = Example.objects.get(pk=items[4].pk)
    assert (undone.answer, undone.suggestion, undone.review_status) == ("104", {}, "pending")

    # Bulk: filter on the skill "carry" (3 pending items), accept all of them.
    page.locator('[data-facet="skill"] a', has_text="carry").click()
    expect(page.locator("#focus")).to_have_attribute("data-example", str(items[6].pk))
    page.locator("#bulk-accept").click()
    expect(page.locator("h1")).to_have_text("Accept 3 items?")
    shot(page, "04-bulk-confirm")
    page.locator("#bulk-confirm-button").click()
    expect(page.locator(".messages")).to_contain_text("Accepted 3 items")
    expect(pending).to_have_text("2 pending")
    shot(page, "05-after-bulk")
    assert set(Example.objects.filter(pk__in=[e.pk for e in items[6:]])
               .values_list("review_status", flat=True)) == {"approved"}
    assert Example.objects.filter(pk__in=[items[4].pk, items[5].pk],
                                  review_status="pending").count() == 2
    assert Run.objects.get(pk=queue_project["run"].pk).status == RunStatus.WAITING

    # The last two, with the keyboard: the waiting run is queued again.
    page.goto(f"{live_server.url}/projects/{project.pk}/review/")
    page.keyboard.press("a")
    expect(pending).to_have_text("1 pending")
    page.keyboard.press("a")
    expect(pending).to_have_text("0 pending")
    expect(page.locator("#queue-empty")).to_be_visible()
    assert Run.objects.get(pk=queue_project["run"].pk).status == RunStatus.QUEUED
    assert sent == [queue_project["run"].pk]

    # The example browser: every item, and one item's lineage and runs.
    page.get_by_role("link", name="Examples").click()
    expect(page.locator("#match-count")).to_have_text("12 items match")
    page.locator("#review-list a", has_text=str(items[0].pk)).first.click()
    expect(page.locator("#trained-in")).to_contain_text("synth run")
    shot(page, "06-example")
    assert refused == []
