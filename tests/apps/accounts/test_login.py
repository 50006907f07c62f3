from django.urls import reverse

from tests.factories import UserFactory


def test_login_page_renders_with_local_assets_only(client, db):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/vendor/htmx.min.js" in html
    assert "/static/css/studio.css" in html
    assert "https://" not in html and "http://" not in html


def test_login_then_logout(client, db):
    UserFactory(username="erin", password="s3cret-pass")
    response = client.post(reverse("accounts:login"),
                           {"username": "erin", "password": "s3cret-pass"})
    assert response.status_code == 302
    assert response.url == reverse("core:home")
    assert client.get(reverse("core:home")).status_code == 200
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert client.get(reverse("core:home")).status_code == 302


def test_wrong_password_is_refused(client, db):
    UserFactory(username="erin", password="s3cret-pass")
    response = client.post(reverse("accounts:login"), {"username": "erin", "password": "nope"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()
