"""The health endpoints: the web's database and broker, and the workers' pings."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.core import health

pytestmark = pytest.mark.django_db


def test_web_health_is_ok_with_database_and_broker(client):
    response = client.get(reverse("core:health"))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["database"]["ok"] and body["broker"]["ok"]
    assert "no-cache" in response["Cache-Control"]


def test_web_health_says_503_and_names_only_the_error_type(client, monkeypatch):
    def down():
        raise ConnectionRefusedError("redis://:hunter2@broker:6379/0 refused")

    monkeypatch.setattr(health, "_broker", down)
    response = client.get(reverse("core:health"))
    assert response.status_code == 503
    body = response.json()
    assert body["broker"] == {"ok": False, "error": "ConnectionRefusedError",
                              "ms": body["broker"]["ms"]}
    assert "hunter2" not in response.content.decode()


def test_web_health_refuses_writes(client):
    assert client.post(reverse("core:health")).status_code == 405


class _Inspect:
    def __init__(self, pongs, queues):
        self._pongs, self._queues = pongs, queues

    def ping(self):
        return self._pongs

    def active_queues(self):
        return self._queues


def _fake_workers(monkeypatch, pongs, queues):
    from config.celery import app

    monkeypatch.setattr(app.control, "inspect", lambda timeout: _Inspect(pongs, queues))


def test_worker_health_counts_workers_and_queues_names_for_staff_only(client, monkeypatch,
                                                                       django_user_model):
    _fake_workers(monkeypatch, {"gpu@box": {"ok": "pong"}},
                  {"gpu@box": [{"name": "gpu"}, {"name": "default"}]})
    body = client.get(reverse("core:health-workers")).json()
    assert body["ok"] and body["workers"] == 1 and body["queues"] == ["default", "gpu"]
    assert "gpu@box" not in str(body)
    staff = django_user_model.objects.create_user("ops", password="x", is_staff=True)
    client.force_login(staff)
    body = client.get(reverse("core:health-workers")).json()
    assert body["detail"][0]["name"] == "gpu@box"


def test_worker_health_is_503_when_no_worker_answers(client, monkeypatch):
    _fake_workers(monkeypatch, None, None)
    response = client.get(reverse("core:health-workers"))
    assert response.status_code == 503 and response.json()["workers"] == 0


def test_worker_pings_are_rate_limited(client, monkeypatch, settings):
    settings.STUDIO_RATE_LIMITS = {"health-workers": (2, 60)}
    _fake_workers(monkeypatch, {"w@box": {"ok": "pong"}}, {"w@box": [{"name": "gpu"}]})
    codes = [client.get(reverse("core:health-workers")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
