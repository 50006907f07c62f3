"""Personal API tokens: how they are made, stored, checked, limited and revoked, and how
the session and its CSRF check work beside them."""

import datetime as dt
import hashlib

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_authenticate, api_token_create, api_token_revoke
from apps.accounts.tokens import token_parse
from tests.apps.api.conftest import API, ApiClient

pytestmark = pytest.mark.django_db


def test_token_is_stored_as_prefix_and_sha256_digest_only(owner):
    token, raw = api_token_create(user=owner, name="ci")
    scheme, prefix, secret = raw.split("_", 2)
    assert scheme == "cst" and token.prefix == prefix and len(secret) == 43
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    stored = ApiToken.objects.filter(pk=token.pk).values()[0]
    assert all(secret not in str(value) for value in stored.values())


def test_two_tokens_differ(owner):
    assert api_token_create(user=owner, name="a")[1] != api_token_create(user=owner, name="b")[1]


@pytest.mark.parametrize("raw", ["", "cst", "cst__", "Bearer x", "cst_zzzzzzzzzzzz_" + "a" * 43,
                                 "cst_0123456789ab_" + "a" * 42, "cst_0123456789ab_" + "a" * 44,
                                 "cst_0123456789ab_" + "a" * 42 + "\x00", "x" * 5000])
def test_malformed_tokens_are_refused_before_any_query(raw, django_assert_num_queries):
    assert token_parse(raw) is None
    with django_assert_num_queries(0):
        assert api_token_authenticate(raw) is None


def test_a_token_acts_as_its_user(owner, project_a):
    raw = api_token_create(user=owner, name="t")[1]
    response = ApiClient(token=raw).get("/projects")
    assert response.status_code == 200
    assert [p["id"] for p in response.data] == [project_a.pk]


def test_wrong_secret_with_a_real_prefix_is_401(owner, project_a):
    token, raw = api_token_create(user=owner, name="t")
    forged = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    response = ApiClient(token=forged).get("/projects")
    assert response.status_code == 401
    assert response.data == {"detail": "invalid, expired or revoked API token"}


def test_revoked_token_gets_401(owner, project_a):
    token, raw = api_token_create(user=owner, name="t")
    client = ApiClient(token=raw)
    assert client.get("/projects").status_code == 200
    api_token_revoke(user=owner, token=token)
    assert client.get("/projects").status_code == 401


def test_expired_token_gets_401(owner, project_a):
    token, raw = api_token_create(user=owner, name="t",
                                  expires_at=timezone.now() + dt.timedelta(days=1))
    client = ApiClient(token=raw)
    assert client.get("/projects").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get("/projects").status_code == 401


def test_token_of_an_inactive_user_gets_401(owner, project_a):
    raw = api_token_create(user=owner, name="t")[1]
    owner.is_active = False
    owner.save()
    assert ApiClient(token=raw).get("/projects").status_code == 401


def test_expiry_must_be_in_the_future(owner):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as info:
        api_token_create(user=owner, name="t", expires_at=timezone.now())
    assert "expires_at" in info.value.message_dict


def test_only_the_owner_revokes_a_token(owner, stranger):
    from django.core.exceptions import ValidationError

    token = api_token_create(user=owner, name="t")[0]
    with pytest.raises(ValidationError):
        api_token_revoke(user=stranger, token=token)
    token.refresh_from_db()
    assert token.revoked_at is None


def test_last_use_is_recorded_at_most_once_a_minute(owner, project_a,
                                                    django_assert_num_queries):
    token, raw = api_token_create(user=owner, name="t")
    assert token.last_used_at is None
    client = ApiClient(token=raw)
    client.get("/projects")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    client.get("/projects")
    token.refresh_from_db()
    assert token.last_used_at == first  # within the minute: not written again
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - dt.timedelta(minutes=2))
    client.get("/projects")
    token.refresh_from_db()
    assert token.last_used_at > first - dt.timedelta(minutes=2)
    with django_assert_num_queries(1):  # a fresh use: the lookup only, no write
        api_token_authenticate(raw)


def test_a_bad_token_never_falls_back_to_the_session(owner, project_a):
    client = ApiClient(user=owner)
    assert client.get("/projects").status_code == 200
    assert client.get("/projects", Authorization="Bearer nope").status_code == 401
    assert client.get("/projects", Authorization="Basic YWxpY2U6cGFzc3dvcmQ=").status_code == 401


def test_token_failures_are_rate_limited_per_address(owner, project_a, settings):
    settings.STUDIO_RATE_LIMITS = {"api-token-failures": (3, 300)}
    raw = api_token_create(user=owner, name="t")[1]
    bad = ApiClient(token="cst_0123456789ab_" + "a" * 43)
    for _ in range(3):
        assert bad.get("/projects").status_code == 401
    refused = bad.get("/projects")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many failed API token checks" in refused.data["detail"]
    # while refused, no token from that address is checked, the right one included
    assert ApiClient(token=raw).get("/projects").status_code == 429
    # another address is not affected
    other = Client(REMOTE_ADDR="10.9.9.9")
    response = other.get(API + "/projects", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200


def test_session_reads_need_no_csrf_but_writes_do(editor, project_a):
    from tests.factories import SkillFactory

    SkillFactory(project=project_a, name="add")
    client = ApiClient(user=editor, csrf=True)
    assert client.get(f"/projects/{project_a.pk}").status_code == 200
    body = {"examples": [{"prompt": "1+2=", "answer": "3", "skills": ["add"], "level": 1}]}
    refused = client.post(f"/projects/{project_a.pk}/examples", body)
    assert refused.status_code == 403
    assert "CSRF" in refused.data["detail"]
    assert project_a.examples.count() == 0
    # with the token of the page's CSRF cookie, the same write goes through
    client.client.get("/accounts/tokens/")
    csrf = client.client.cookies["csrftoken"].value
    accepted = client.post(f"/projects/{project_a.pk}/examples", body, **{"X-CSRFToken": csrf})
    assert accepted.status_code == 201
    assert project_a.examples.count() == 1


def test_token_writes_need_no_csrf(editor, project_a):
    from tests.factories import SkillFactory

    SkillFactory(project=project_a, name="add")
    raw = api_token_create(user=editor, name="t")[1]
    client = ApiClient(token=raw, csrf=True)
    body = {"examples": [{"prompt": "1+2=", "answer": "3", "skills": ["add"], "level": 1}]}
    assert client.post(f"/projects/{project_a.pk}/examples", body).status_code == 201


def test_a_viewers_token_cannot_write(viewer, project_a):
    raw = api_token_create(user=viewer, name="t")[1]
    response = ApiClient(token=raw).post(
        f"/projects/{project_a.pk}/curricula", {"name": "c", "strategy": "uniform"})
    assert response.status_code == 403
    assert project_a.curricula.count() == 0


def test_a_token_follows_its_users_current_role(viewer, team_a, project_a):
    from apps.accounts.models import Membership

    raw = api_token_create(user=viewer, name="t")[1]
    client = ApiClient(token=raw)
    body = {"name": "c", "strategy": "uniform"}
    assert client.post(f"/projects/{project_a.pk}/curricula", body).status_code == 403
    Membership.objects.filter(user=viewer, team=team_a).update(role="editor")
    assert client.post(f"/projects/{project_a.pk}/curricula", body).status_code == 201
    Membership.objects.filter(user=viewer, team=team_a).delete()
    assert client.get(f"/projects/{project_a.pk}").status_code == 404
