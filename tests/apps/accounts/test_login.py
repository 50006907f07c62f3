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


def _fail(client, username="erin", url="accounts:login", **extra):
    return client.post(reverse(url), {"username": username, "password": "wrong"}, **extra)


def test_ten_failed_sign_ins_lock_that_username_from_that_address(client, db):
    UserFactory(username="erin", password="s3cret-pass")
    for _ in range(10):
        assert _fail(client).status_code == 200
    response = client.post(reverse("accounts:login"),
                           {"username": "erin", "password": "s3cret-pass"})
    assert response.status_code == 429  # even the right password: no guess is checked
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "Too many failed sign-ins for this username from your address" in html
    assert "the limit is 10 per 5 minutes" in html and "Try again in 5 minutes" in html
    assert client.get(reverse("core:home")).status_code == 302  # not signed in
    # other usernames and other addresses are not locked
    UserFactory(username="fay", password="s3cret-pass")
    assert client.post(reverse("accounts:login"),
                       {"username": "fay", "password": "s3cret-pass"}).status_code == 302
    client.post(reverse("accounts:logout"))
    assert client.post(reverse("accounts:login"), {"username": "erin", "password": "s3cret-pass"},
                       REMOTE_ADDR="10.0.0.9").status_code == 302


def test_the_lock_ends_with_its_window_and_a_success_clears_the_count(client, db, monkeypatch):
    import time

    UserFactory(username="erin", password="s3cret-pass")
    for _ in range(10):
        _fail(client, username="ERIN ")  # case and spaces do not make a new counter
    assert _fail(client).status_code == 429
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 301)
    for _ in range(9):
        _fail(client)
    assert client.post(reverse("accounts:login"),
                       {"username": "erin", "password": "s3cret-pass"}).status_code == 302
    client.post(reverse("accounts:logout"))
    for _ in range(9):  # the success cleared the count: nine more failures are not locked
        assert _fail(client).status_code == 200


def test_the_admin_sign_in_shares_the_limit(client, db):
    UserFactory(username="root", password="s3cret-pass", is_staff=True, is_superuser=True)
    for _ in range(10):
        assert _fail(client, username="root", url="admin:login").status_code == 200
    response = client.post(reverse("admin:login"),
                           {"username": "root", "password": "s3cret-pass"})
    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302
