"""Making, listing and revoking share links: owner, editor, viewer and stranger."""

import datetime as dt
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.sharing.models import ShareLink
from apps.sharing.selectors import share_link_resolve, token_digest
from apps.sharing.services import share_link_create, share_link_revoke

NEW = reverse("sharing:link-new")
SHARE_URL = re.compile(r'id="share-url" href="(http://testserver/s/([A-Za-z0-9_-]{43})/)"')


def list_url(team):
    return reverse("sharing:link-list", args=[team.pk])


def revoke_url(link):
    return reverse("sharing:link-revoke", args=[link.pk])


def new_token(response) -> str:
    match = SHARE_URL.search(response.content.decode())
    assert match, "the new link is shown"
    return match.group(2)


# --- the service ------------------------------------------------------------------------------

def test_the_token_is_long_random_and_only_its_digest_is_stored(run_a, editor):
    link, token = share_link_create(user=editor, obj=run_a)
    assert len(token) == 43  # secrets.token_urlsafe(32)
    assert link.digest == token_digest(token) and token not in link.digest
    assert link.hint == token[:6] and link.team == run_a.project.team
    assert (link.kind, link.object_id, link.label) == ("run", run_a.pk, "Run A")
    assert not ShareLink.objects.filter(digest=token).exists()
    assert share_link_resolve(token) == link
    _, other = share_link_create(user=editor, obj=run_a)
    assert other != token


@pytest.mark.parametrize("who", ["viewer", "stranger"])
def test_viewers_and_strangers_make_no_link(request, run_a, comparison_a, who):
    user = request.getfixturevalue(who)
    for obj in (run_a, comparison_a):
        with pytest.raises(PermissionDenied):
            share_link_create(user=user, obj=obj)
    assert not ShareLink.objects.exists()


def test_expiry_must_be_in_the_future(run_a, owner):
    with pytest.raises(ValidationError, match="must be in the future"):
        share_link_create(user=owner, obj=run_a, expires_at=timezone.now() - dt.timedelta(1))
    assert not ShareLink.objects.exists()


def test_only_runs_and_comparisons_are_shared(project_a, owner):
    with pytest.raises(ValidationError, match="a Project cannot be shared"):
        share_link_create(user=owner, obj=project_a)


def test_revoke_needs_an_editor_and_keeps_the_first_time(run_a, owner, editor, viewer):
    link, token = share_link_create(user=owner, obj=run_a)
    with pytest.raises(PermissionDenied):
        share_link_revoke(user=viewer, link=link)
    first = share_link_revoke(user=editor, link=link).revoked_at
    assert first is not None and link.revoked_by == editor
    assert share_link_revoke(user=owner, link=link).revoked_at == first
    assert share_link_resolve(token) is None


# --- making a link on the site -----------------------------------------------------------------

@pytest.mark.parametrize("who", ["owner", "editor"])
def test_editors_and_owners_make_a_link_shown_once(request, client_for, run_a, who):
    client = client_for(request.getfixturevalue(who))
    response = client.post(NEW, {"kind": "run", "object_id": run_a.pk, "expires_in": "7",
                                 "show_prompts": "on"})
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    token = new_token(response)
    link = ShareLink.objects.get()
    assert link.digest == token_digest(token) and link.show_prompts
    assert timezone.now() + dt.timedelta(days=6) < link.expires_at \
        < timezone.now() + dt.timedelta(days=7, minutes=1)
    # the list shows the link afterwards, but never its token again
    html = client.get(list_url(run_a.project.team)).content.decode()
    assert f"/s/{link.hint}…" in html and token not in html


def test_a_link_without_expiry_or_prompts(client_for, run_a, owner):
    response = client_for(owner).post(NEW, {"kind": "run", "object_id": run_a.pk,
                                            "expires_in": ""})
    assert response.status_code == 200
    link = ShareLink.objects.get()
    assert link.expires_at is None and not link.show_prompts


def test_a_comparison_link(client_for, comparison_a, editor):
    response = client_for(editor).post(NEW, {"kind": "comparison",
                                             "object_id": comparison_a.pk,
                                             "show_prompts": "on"})
    assert response.status_code == 200
    link = ShareLink.objects.get()
    assert (link.kind, link.object_id, link.label) == ("comparison", comparison_a.pk,
                                                       "Strategies A")
    assert not link.show_prompts  # a comparison has no prompt text to show


def test_viewer_gets_403_and_stranger_404(client_for, run_a, comparison_a, viewer, stranger):
    for kind, obj in (("run", run_a), ("comparison", comparison_a)):
        data = {"kind": kind, "object_id": obj.pk}
        assert client_for(viewer).post(NEW, data).status_code == 403
        assert client_for(stranger).post(NEW, data).status_code == 404
    assert not ShareLink.objects.exists()


def test_anonymous_is_sent_to_login(client, run_a):
    response = client.post(NEW, {"kind": "run", "object_id": run_a.pk})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not ShareLink.objects.exists()


@pytest.mark.parametrize("data", [
    {"kind": "project", "object_id": "1"},
    {"kind": "run", "object_id": "abc"},
    {"kind": "run", "object_id": "99999999"},
    {"kind": "run"},
    {},
])
def test_nothing_to_share_is_404(client_for, owner, run_a, data):
    assert client_for(owner).post(NEW, data).status_code == 404
    assert not ShareLink.objects.exists()


def test_another_teams_run_is_404_even_for_an_owner(client_for, owner, run_b):
    assert client_for(owner).post(NEW, {"kind": "run", "object_id": run_b.pk}).status_code \
        == 404


def test_bad_expiry_is_a_400_that_saves_nothing(client_for, owner, run_a):
    response = client_for(owner).post(NEW, {"kind": "run", "object_id": run_a.pk,
                                            "expires_in": "9999"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not ShareLink.objects.exists()


def test_create_needs_post(client_for, owner):
    assert client_for(owner).get(NEW).status_code == 405


# --- the team's list and revoking ----------------------------------------------------------

@pytest.mark.parametrize("who", ["owner", "editor", "viewer"])
def test_members_see_the_teams_links(request, client_for, make_link, run_a, owner, who):
    link, _ = make_link(run_a, owner)
    user = request.getfixturevalue(who)
    response = client_for(user).get(list_url(run_a.project.team))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Run A" in html and f'data-link="{link.pk}"' in html
    assert (revoke_url(link) in html) == (who != "viewer")


def test_stranger_sees_no_list_and_revokes_nothing(client_for, make_link, run_a, owner,
                                                   stranger):
    link, token = make_link(run_a, owner)
    client = client_for(stranger)
    assert client.get(list_url(run_a.project.team)).status_code == 404
    assert client.post(revoke_url(link)).status_code == 404
    assert share_link_resolve(token) == link


def test_the_list_shows_only_the_teams_links(client_for, make_link, run_a, run_b, owner,
                                             stranger):
    make_link(run_b, stranger)
    html = client_for(owner).get(list_url(run_a.project.team)).content.decode()
    assert "Run B" not in html


def test_viewer_cannot_revoke(client_for, make_link, run_a, owner, viewer):
    link, token = make_link(run_a, owner)
    assert client_for(viewer).post(revoke_url(link)).status_code == 403
    assert share_link_resolve(token) == link


@pytest.mark.parametrize("who", ["owner", "editor"])
def test_editors_and_owners_revoke(request, client_for, make_link, run_a, owner, who):
    link, token = make_link(run_a, owner)
    client = client_for(request.getfixturevalue(who))
    response = client.post(revoke_url(link))
    assert response.status_code == 302
    assert response["Location"] == list_url(run_a.project.team)
    assert share_link_resolve(token) is None
    html = client.get(list_url(run_a.project.team)).content.decode()
    assert "revoked" in html and revoke_url(link) not in html
    assert client.get(revoke_url(link)).status_code == 405


def test_the_run_page_offers_share_to_editors_only(client_for, run_a, owner, editor, viewer):
    for user, shown in ((owner, True), (editor, True), (viewer, False)):
        html = client_for(user).get(reverse("runs:run-detail", args=[run_a.pk])).content.decode()
        assert ('id="share-control"' in html) == shown
        assert (f'name="object_id" value="{run_a.pk}"' in html) == shown


def test_the_team_page_links_to_the_share_links(client_for, team_a, viewer):
    url = reverse("accounts:member-list", args=[team_a.pk])
    assert list_url(team_a) in client_for(viewer).get(url).content.decode()


def test_the_comparison_page_offers_share_to_editors_only(client_for, comparison_a, editor,
                                                          viewer):
    url = reverse("compare:comparison-detail", args=[comparison_a.pk])
    for user, shown in ((editor, True), (viewer, False)):
        html = client_for(user).get(url).content.decode()
        assert ('id="share-control"' in html) == shown
        assert ('name="kind" value="comparison"' in html) == shown
