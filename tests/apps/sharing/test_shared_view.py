"""The public side of a share link: what it shows, to whom, and everything it refuses."""

import datetime as dt

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from apps.sharing.models import ShareLink
from tests.apps.sharing.conftest import API_KEY, PROMPT_TEXT


def view_url(token):
    return reverse("sharing:shared-view", args=[token])


def failures_url(token):
    return reverse("sharing:shared-failures", args=[token])


def assert_shared_headers(response):
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"]


def test_anyone_with_the_link_sees_the_dashboard(client, make_link, run_a, editor):
    link, token = make_link(run_a, editor)
    response = client.get(view_url(token))
    assert response.status_code == 200
    assert_shared_headers(response)
    html = response.content.decode()
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert "Run A" in html and 'id="dashboard"' in html
    assert response.context["dashboard"]["shared"] is True
    # the heatmap's click goes through the token, never to the members' endpoint
    assert response.context["dashboard"]["failures_url"] == failures_url(token)
    assert f'data-failures-url="{failures_url(token)}"' in html
    assert reverse("runs:run-failures", args=[run_a.pk]) not in html
    # a read-only page: no form, no CSRF token, no links into the app
    assert "<form" not in html and "csrfmiddlewaretoken" not in html
    assert reverse("runs:run-detail", args=[run_a.pk]) not in html
    assert reverse("accounts:login") not in html
    link.refresh_from_db()
    assert link.last_used_at is not None


def test_members_see_the_same_page(client_for, make_link, run_a, owner, stranger):
    _, token = make_link(run_a, owner)
    for user in (owner, stranger):
        assert client_for(user).get(view_url(token)).status_code == 200


def test_no_teacher_key_and_no_prompt_text(client, make_link, run_a, editor):
    _, token = make_link(run_a, editor)
    html = client.get(view_url(token)).content.decode()
    assert API_KEY not in html and PROMPT_TEXT not in html
    assert "ZEBRA" not in html and "teacher.example.org" not in html
    failures = client.get(failures_url(token), {"round": 1, "skill": "carry"})
    assert failures.status_code == 200
    assert API_KEY not in failures.content.decode() and "ZEBRA" not in failures.content.decode()


def test_prompt_text_only_when_ticked_and_never_the_key(client, make_link, run_a, editor):
    _, token = make_link(run_a, editor, show_prompts=True)
    html = client.get(view_url(token)).content.decode()
    assert 'id="shared-prompts"' in html and PROMPT_TEXT in html
    assert API_KEY not in html and "teacher.example.org" not in html


def test_the_failures_of_a_cell_through_the_token(client, make_link, run_a, editor):
    _, token = make_link(run_a, editor)
    response = client.get(failures_url(token), {"round": 1, "skill": "carry"})
    assert response.status_code == 200
    assert_shared_headers(response)
    html = response.content.decode()
    assert "Run A-item-1" in html and "17+25=" in html and "Run A-item-0" not in html


def test_a_token_opens_no_other_object(client, make_link, run_a, run_a2, run_b, comparison_a,
                                       editor):
    """A link to run A reads nothing of run A2 (same team) or run B (another team), whatever
    ids or names are put in the URL or the query."""
    _, token = make_link(run_a, editor)
    for other in (run_a2, run_b):
        for params in ({"run": other.pk}, {"pk": other.pk}, {"id": other.pk},
                       {"object_id": other.pk}, {"kind": "comparison", "object_id": other.pk}):
            response = client.get(view_url(token), params)
            assert response.status_code == 200
            assert response.context["run"] == run_a
            html = response.content.decode()
            assert other.name not in html and "SECRET" not in html
    # the failures partial: the skills and rounds of other runs give nothing of theirs
    for params in ({"round": 1, "skill": "borrow"}, {"round": 1, "skill": "carry",
                                                     "run": run_b.pk},
                   {"round": 0, "skill": "borrow", "pk": run_a2.pk}):
        response = client.get(failures_url(token), params)
        assert response.status_code == 200
        assert "SECRET" not in response.content.decode()
    # the members' endpoints of other objects stay closed to the link's holder
    for url in (reverse("runs:run-detail", args=[run_b.pk]),
                reverse("runs:run-failures", args=[run_a.pk]),
                reverse("compare:comparison-detail", args=[comparison_a.pk])):
        response = client.get(url, {"round": 1, "skill": "carry"})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_token_works_only_on_its_own_path(client, make_link, run_a, run_b, editor):
    _, token = make_link(run_a, editor)
    for url in (f"/s/{token}/{run_b.pk}/", f"/s/{token}/runs/{run_b.pk}/",
                f"/runs/{run_b.pk}/?token={token}", f"/s/{token}x/", f"/s/{token[:-1]}/"):
        assert client.get(url).status_code in (302, 404), url
        assert "SECRET" not in client.get(url).content.decode()


def test_a_comparison_link(client, make_link, comparison_a, run_a2, editor):
    _, token = make_link(comparison_a, editor)
    response = client.get(view_url(token), {"group": "name", "baseline": f"run:{run_a2.pk}"})
    assert response.status_code == 200
    assert_shared_headers(response)
    html = response.content.decode()
    assert "Strategies A" in html and 'id="comparison"' in html
    assert response.context["shared"] is True
    assert "Run A2" not in html and "<form" not in html
    assert API_KEY not in html and PROMPT_TEXT not in html
    # a comparison link has no failures partial
    response = client.get(failures_url(token), {"round": 1, "skill": "carry"})
    assert response.status_code == 404


@pytest.mark.parametrize("token", [
    "x" * 43, "short", "a" * 42 + "!", "A" * 44,
])
def test_unknown_or_malformed_tokens_are_404(client, make_link, run_a, editor, token):
    make_link(run_a, editor)
    for url in (f"/s/{token}/", f"/s/{token}/failures/?round=1&skill=carry"):
        response = client.get(url)
        assert response.status_code == 404
        assert "SECRET" not in response.content.decode()


def test_revoked_link_is_404(client, make_link, run_a, editor):
    link, token = make_link(run_a, editor)
    assert client.get(view_url(token)).status_code == 200
    ShareLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    for url in (view_url(token), failures_url(token) + "?round=1&skill=carry"):
        response = client.get(url)
        assert response.status_code == 404
        assert_shared_headers(response)
        assert "Run A" not in response.content.decode()
        assert "does not exist, was revoked or has expired" in response.content.decode()


def test_expired_link_is_404(client, make_link, run_a, editor):
    link, token = make_link(run_a, editor, expires_at=timezone.now() + dt.timedelta(hours=1))
    assert client.get(view_url(token)).status_code == 200
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(1))
    assert client.get(view_url(token)).status_code == 404
    assert client.get(failures_url(token), {"round": 1, "skill": "carry"}).status_code == 404


def test_a_deleted_run_is_404(client, make_link, run_a, editor):
    _, token = make_link(run_a, editor)
    run_a.delete()
    assert client.get(view_url(token)).status_code == 404


def test_bad_query_is_a_400_with_the_shared_headers(client, make_link, run_a, editor):
    _, token = make_link(run_a, editor)
    response = client.get(failures_url(token), {"round": "x", "skill": "carry"})
    assert response.status_code == 400
    assert_shared_headers(response)
    assert client.get(failures_url(token)).status_code == 400


def test_the_public_views_only_read(client, make_link, run_a, editor):
    _, token = make_link(run_a, editor)
    for url in (view_url(token), failures_url(token)):
        response = client.post(url)
        assert response.status_code == 405
        assert_shared_headers(response)


@override_settings(STUDIO_RATE_LIMITS={"share-view": (3, 60)})
def test_the_public_views_are_rate_limited(client, make_link, run_a, editor):
    _, token = make_link(run_a, editor)
    for _ in range(3):
        assert client.get(view_url(token)).status_code == 200
    response = client.get(view_url(token))
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert_shared_headers(response)
    # unknown tokens count too: guessing is limited by the same counter
    assert client.get(view_url("y" * 43)).status_code == 429
    # another address has its own counter
    assert client.get(view_url(token), REMOTE_ADDR="10.9.8.7").status_code == 200


def test_the_shared_run_page_reads_a_bounded_number_of_times(
        client, make_link, project_a, editor, django_assert_max_num_queries):
    """The same query count for a run of 2 rounds and one of 12 rounds × 20 skills."""
    from tests import factories as f

    small = f.RunFactory(project=project_a, name="small")
    big = f.RunFactory(project=project_a, name="big")
    skills = [f.SkillFactory(project=project_a) for _ in range(20)]
    for run, rounds, n_skills in ((small, 2, 1), (big, 12, 20)):
        for index in range(rounds):
            rnd = f.RoundFactory(run=run, index=index)
            f.LevelStatFactory(round=rnd, run=run, level=1)
            for skill in skills[:n_skills]:
                f.SkillStatFactory(round=rnd, run=run, skill=skill)
    counts = []
    for run in (small, big):
        _, token = make_link(run, editor, show_prompts=True)
        client.get(view_url(token))  # the first view writes last_used_at
        with django_assert_max_num_queries(12) as captured:
            assert client.get(view_url(token)).status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]
