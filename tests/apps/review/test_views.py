"""Every endpoint of the review app for owner, editor, viewer and stranger; conflicts and
bad edits through the pages."""

import pytest
from django.urls import reverse

from apps.projects.models import Example
from apps.review.models import ReviewDecision

pytestmark = pytest.mark.django_db


def url(name, world, *args):
    return reverse(f"review:{name}", args=[world.project.pk, *args])


def decide_url(world, e=None):
    return url("decide", world, (e or world.pending[0]).pk)


def post_accept(client, world, e=None, version=1, **extra):
    return client.post(decide_url(world, e), {"action": "accept", "version": version,
                                              "f.status": "pending", **extra})


READS = ["queue", "example-list"]


@pytest.mark.parametrize("name", READS)
@pytest.mark.parametrize("who", ["owner", "editor", "viewer"])
def test_members_read(world, client_for, request, name, who):
    response = client_for(request.getfixturevalue(who)).get(url(name, world))
    assert response.status_code == 200
    assert b"synth question 0" in response.content


@pytest.mark.parametrize("name", READS)
def test_strangers_get_404(world, client_for, stranger, name):
    assert client_for(stranger).get(url(name, world)).status_code == 404


@pytest.mark.parametrize("who,status", [("owner", 200), ("editor", 200), ("viewer", 200),
                                        ("stranger", 404)])
def test_example_detail(world, client_for, request, who, status):
    e = world.pending[0]
    response = client_for(request.getfixturevalue(who)).get(url("example-detail", world, e.pk))
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "stat run" in html and "round 1" in html  # made in, trained in
        assert "the student answered" in html and "11" in html  # the failed eval item


def test_queue_shows_lineage_and_agreeing_solutions(world, client_for, owner):
    html = client_for(owner).get(url("queue", world)).content.decode()
    assert 'id="focus"' in html and f"Item #{world.pending[0].pk}" in html
    assert "2 of 3 agree" in html and "✗ differs" in html
    assert "synthesize v1" in html and "oracle" in html
    assert "the student answered" in html
    assert html.count("✓ agrees") == 2
    assert "Review (6 pending)" in html


def test_queue_filters_live_in_the_url_with_counts(world, client_for, viewer):
    response = client_for(viewer).get(url("queue", world), {"skill": world.carry.pk})
    html = response.content.decode()
    assert "3 items match" in html
    assert f"skill={world.carry.pk}" in html
    assert "synth question 1" in html and "synth question 0" not in html


def test_viewer_sees_no_decision_forms(world, client_for, viewer):
    html = client_for(viewer).get(url("queue", world)).content.decode()
    assert 'id="read-only"' in html and 'id="accept-form"' not in html
    assert 'id="bulk"' not in html


@pytest.mark.parametrize("who,status", [("owner", 302), ("editor", 302), ("viewer", 403),
                                        ("stranger", 404)])
def test_decide(world, client_for, request, who, status):
    response = post_accept(client_for(request.getfixturevalue(who)), world)
    assert response.status_code == status
    expected = "approved" if status == 302 else "pending"
    assert Example.objects.get(pk=world.pending[0].pk).review_status == expected


def test_decide_goes_on_to_the_next_item_with_the_filters(world, client_for, editor):
    nxt = world.pending[1]
    response = post_accept(client_for(editor), world, next=nxt.pk,
                           **{"f.skill": world.add.pk, "level": "3"})
    assert response.status_code == 302
    assert f"focus={nxt.pk}" in response["Location"]
    assert f"skill={world.add.pk}" in response["Location"]
    assert "level" not in response["Location"]


@pytest.mark.parametrize("who,status", [("owner", 302), ("editor", 302), ("viewer", 403),
                                        ("stranger", 404)])
def test_undo(world, client_for, request, who, status):
    user = request.getfixturevalue(who)
    if status == 302:
        post_accept(client_for(user), world)
    response = client_for(user).post(url("undo", world))
    assert response.status_code == status
    assert Example.objects.get(pk=world.pending[0].pk).review_status == "pending"


def test_undo_with_nothing_to_undo_says_so(world, client_for, editor):
    response = client_for(editor).post(url("undo", world), follow=True)
    assert b"no decision to undo" in response.content


@pytest.mark.parametrize("who,status", [("owner", 200), ("editor", 200), ("viewer", 403),
                                        ("stranger", 404)])
def test_bulk_confirmation_shows_the_count(world, client_for, request, who, status):
    response = client_for(request.getfixturevalue(who)).get(
        url("bulk", world), {"action": "accept", "status": "pending", "skill": world.add.pk})
    assert response.status_code == status
    if status == 200:
        assert b"Accept 3 items?" in response.content
    assert Example.objects.filter(review_status="pending").count() == 6


@pytest.mark.parametrize("who,status", [("owner", 302), ("editor", 302), ("viewer", 403),
                                        ("stranger", 404)])
def test_bulk_post(world, client_for, request, who, status):
    response = client_for(request.getfixturevalue(who)).post(
        url("bulk", world), {"action": "reject", "reason": "duplicate", "status": "pending",
                             "expected": 6})
    assert response.status_code == status
    rejected = Example.objects.filter(review_status="rejected").count()
    assert rejected == (6 if status == 302 else 0)


def test_bulk_reject_with_other_and_no_text_changes_nothing(world, client_for, editor):
    response = client_for(editor).post(url("bulk", world), {
        "action": "reject", "reason": "other", "status": "pending"}, follow=True)
    assert b"say why" in response.content and b"Nothing was changed" in response.content
    assert Example.objects.filter(review_status="pending").count() == 6


def test_two_reviewers_one_item(world, client_for, owner, editor, client):
    post_accept(client_for(owner), world)  # owner decides first, on version 1
    client.logout()
    response = client_for(editor).post(decide_url(world), {
        "action": "reject", "version": 1, "reason": "wrong_answer"}, follow=True)
    html = response.content.decode()
    assert "changed since you loaded it" in html and "was not saved" in html
    e = Example.objects.get(pk=world.pending[0].pk)
    assert (e.review_status, e.reviewed_by, e.version) == ("approved", owner, 2)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("answer", "", "the answer must not be empty"),
    ("skills", "add, nosuch", "has no skill &#x27;nosuch&#x27;"),
    ("level", "42", "the level must be between 1 and 3"),
    ("level", "x", "Enter a whole number"),
])
def test_bad_edits_get_an_inline_error_and_nothing_is_saved(world, client_for, editor,
                                                             field, value, message):
    data = {"action": "edit", "version": 1, "prompt": "p", "answer": "1", "skills": "add",
            "level": "2", field: value}
    response = client_for(editor).post(decide_url(world), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert '<details id="edit-panel" open>' in html
    e = Example.objects.get(pk=world.pending[0].pk)
    assert (e.prompt, e.version, e.review_status) == ("synth question 0", 1, "pending")
    assert not ReviewDecision.objects.exists()


def test_edit_through_the_page(world, client_for, editor):
    response = client_for(editor).post(decide_url(world), {
        "action": "edit", "version": 1, "prompt": "p2", "answer": "5", "skills": "carry",
        "level": "3", "add_to_dataset": "on"})
    assert response.status_code == 302
    e = Example.objects.get(pk=world.pending[0].pk)
    assert (e.prompt, e.level, e.suggestion["prompt"]) == ("p2", 3, "synth question 0")
    assert e.added_at is not None


def test_reject_through_the_page(world, client_for, editor):
    client_for(editor).post(decide_url(world), {"action": "reject", "version": 1,
                                                "reason": "ambiguous", "note": "two readings"})
    d = ReviewDecision.objects.get()
    assert (d.action, d.reason, d.note) == ("reject", "ambiguous", "two readings")


def test_agreement_and_throughput_on_the_queue(world, client_for, editor):
    c = client_for(editor)
    post_accept(c, world, world.pending[0])
    c.post(decide_url(world, world.pending[1]), {"action": "reject", "version": 1,
                                                 "reason": "duplicate"})
    c.post(decide_url(world, world.pending[2]), {"action": "edit", "version": 1, "prompt": "x",
                                                 "answer": "1", "skills": "add", "level": 2})
    html = c.get(url("queue", world)).content.decode()
    agreement = html[html.index('id="agreement"'):html.index('id="throughput"')]
    # add: one unchanged, one edited; carry: one rejected
    assert "<td>add</td><td class=\"num\">2</td><td class=\"num\">50%</td>" in agreement
    assert "<td>carry</td><td class=\"num\">1</td><td class=\"num\">0%</td>" in agreement
    throughput = html[html.index('id="throughput"'):]
    assert "<td>dave</td><td class=\"num\">3</td>" in throughput


def test_queue_query_count_does_not_grow_with_the_items(world, client_for, editor,
                                                        django_assert_max_num_queries):
    from tests.factories import ExampleFactory

    c = client_for(editor)
    post_accept(c, world)
    for i in range(80):
        ExampleFactory(project=world.project, skills=[world.add], level=1, origin="synthesized",
                       review_status="pending", prompt=f"x{i}", answer="1", round=world.round)
    with django_assert_max_num_queries(30):
        assert c.get(url("queue", world), {"status": "any"}).status_code == 200


def test_bad_filter_values_are_noted_not_fatal(world, client_for, viewer):
    response = client_for(viewer).get(url("queue", world), {"level": "x", "after": "junk"})
    assert response.status_code == 200
    assert b"is not a whole number" in response.content


@pytest.mark.parametrize("who,status", [("owner", 200), ("editor", 200), ("viewer", 200),
                                        ("stranger", 404)])
def test_pending_count_of_the_project_tabs(world, client_for, request, who, status):
    response = client_for(request.getfixturevalue(who)).get(url("pending-count", world))
    assert response.status_code == status
    if status == 200:
        assert response.content == b" (6 pending)"


def test_other_project_pages_load_the_count_after_the_page(world, client_for, viewer):
    html = client_for(viewer).get(reverse("runs:run-list", args=[world.project.pk])).content
    assert url("pending-count", world).encode() in html


@pytest.mark.django_db(transaction=True)
def test_the_last_decision_resumes_a_waiting_run(world, client_for, editor, monkeypatch):
    """The queue link of a waiting run's page (run and round index) lists its items; the
    last decision queues the run again (apps.runs.review_wait)."""
    from apps.runs.models import Run, RunStatus

    sent = []
    monkeypatch.setattr("apps.runs.dispatch.enqueue_run", sent.append)
    Run.objects.filter(pk=world.run.pk).update(status=RunStatus.WAITING)
    c = client_for(editor)
    html = c.get(url("queue", world), {"run": world.run.pk, "round": world.round.index})
    assert b"6 items match" in html.content
    for e in world.pending[:-1]:
        post_accept(c, world, e)
    assert Run.objects.get(pk=world.run.pk).status == RunStatus.WAITING and sent == []
    c.post(url("bulk", world), {"action": "reject", "reason": "duplicate",
                                "status": "pending", "run": world.run.pk})
    assert Run.objects.get(pk=world.run.pk).status == RunStatus.QUEUED
    assert sent == [world.run.pk]


@pytest.mark.parametrize("who,status", [("owner", 200), ("editor", 200), ("viewer", 200),
                                        ("stranger", 404)])
def test_facets_fragment(world, client_for, request, who, status):
    response = client_for(request.getfixturevalue(who)).get(
        url("facets", world), {"skill": world.carry.pk, "view": "queue"})
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "3 items match" in html
        assert ('id="bulk-accept"' in html) == (who != "viewer")


def test_a_page_htmx_swaps_in_loads_its_counts_afterwards(world, client_for, editor):
    c = client_for(editor)
    html = c.get(url("queue", world), headers={"HX-Request": "true"}).content.decode()
    assert 'id="focus"' in html and 'id="match-count"' not in html
    assert url("facets", world) in html
    full = c.get(url("queue", world)).content.decode()
    assert 'id="match-count"' in full and url("facets", world) not in full


def test_a_decision_without_a_version_is_refused(world, client_for, editor):
    response = client_for(editor).post(decide_url(world), {"action": "accept"}, follow=True)
    assert b"named no version" in response.content
    assert Example.objects.get(pk=world.pending[0].pk).review_status == "pending"
