"""The run list links staff to Flower and the worker health; nobody else sees them."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_staff_see_the_flower_link(client_for, owner, project_a, settings):
    settings.STUDIO_FLOWER_URL = "http://monitor.example:5555/"
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    html = client_for(owner).get(reverse("runs:run-list", args=[project_a.pk])).content.decode()
    assert 'href="http://monitor.example:5555/"' in html
    assert reverse("core:health-workers") in html


@pytest.mark.parametrize("who", ["owner", "editor", "viewer"])
def test_members_who_are_not_staff_do_not(client_for, request, project_a, who):
    user = request.getfixturevalue(who)
    html = client_for(user).get(reverse("runs:run-list", args=[project_a.pk])).content.decode()
    assert "flower-link" not in html
