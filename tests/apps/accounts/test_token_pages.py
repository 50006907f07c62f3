"""The API tokens page: make a token (shown once), list, revoke; only one's own tokens."""

import pytest
from django.urls import reverse

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_authenticate, api_token_create

pytestmark = pytest.mark.django_db


def test_page_needs_login(client):
    for name in ("accounts:token-list",):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(reverse("accounts:token-new"), {"name": "x"}).status_code == 302
    assert ApiToken.objects.count() == 0


def test_top_bar_links_to_the_tokens_page_and_the_api_docs(client_for, viewer):
    html = client_for(viewer).get(reverse("core:home")).content.decode()
    assert reverse("accounts:token-list") in html
    assert reverse("api:openapi-view") in html


def test_create_shows_the_token_once_and_stores_only_its_digest(client_for, viewer):
    client = client_for(viewer)
    response = client.post(reverse("accounts:token-new"), {"name": "laptop", "expires_in": "30"})
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    raw = response.context["new_token"]
    assert raw.startswith("cst_") and raw in response.content.decode()
    token = ApiToken.objects.get(user=viewer)
    assert token.name == "laptop" and token.expires_at is not None
    assert raw not in str(list(ApiToken.objects.values()))
    assert api_token_authenticate(raw) == token
    # never again: the list shows only the public prefix
    page = client.get(reverse("accounts:token-list")).content.decode()
    assert raw not in page and f"cst_{token.prefix}_" in page and "laptop" in page


def test_a_token_that_never_expires(client_for, viewer):
    client_for(viewer).post(reverse("accounts:token-new"), {"name": "ci", "expires_in": ""})
    assert ApiToken.objects.get(user=viewer).expires_at is None


@pytest.mark.parametrize("data", [{"name": ""}, {"name": "x" * 101}, {"name": "a\x00b"},
                                  {"name": "ok", "expires_in": "3650"},
                                  {"name": "ok", "expires_in": "-1"}])
def test_bad_input_is_a_form_error(client_for, viewer, data):
    response = client_for(viewer).post(reverse("accounts:token-new"), data)
    assert response.status_code == 400
    assert "new_token" not in response.context or not response.context["new_token"]
    assert ApiToken.objects.count() == 0


def test_revoke(client_for, viewer):
    token, raw = api_token_create(user=viewer, name="old")
    client = client_for(viewer)
    response = client.post(reverse("accounts:token-revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and api_token_authenticate(raw) is None
    page = client.get(reverse("accounts:token-list")).content.decode()
    assert "revoked" in page


def test_others_tokens_are_not_listed_and_not_revocable(client_for, viewer, stranger):
    token = api_token_create(user=stranger, name="theirs")[0]
    client = client_for(viewer)
    assert "theirs" not in client.get(reverse("accounts:token-list")).content.decode()
    assert client.post(reverse("accounts:token-revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoke_needs_post(client_for, viewer):
    token = api_token_create(user=viewer, name="t")[0]
    assert client_for(viewer).get(
        reverse("accounts:token-revoke", args=[token.pk])).status_code == 405
