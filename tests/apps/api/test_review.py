"""Review decisions and saved comparisons over the API: the review queue's and the compare
page's services, with their rules (the item's version, the reasons, names taken, runs of
the project only). Roles: test_access.py (every operation of the table)."""

from __future__ import annotations

import pytest

from apps.compare.models import Comparison
from apps.review.models import ReviewDecision

pytestmark = pytest.mark.django_db


def _review(client, world, example, **body):
    return client.post(f"/projects/{world['project'].pk}/examples/{example.pk}/review", body)


def test_accept_then_a_stale_version_is_a_conflict(world, api_as):
    client = api_as(world["editor"])
    item = world["examples"][2]  # a pending synthesized item, not in the dataset
    listed = client.get(f"/projects/{world['project'].pk}/examples",
                        {"review_status": "pending"}).data["results"]
    assert [(e["id"], e["version"], e["in_dataset"]) for e in listed] == [
        (item.pk, item.version, item.added_at is not None)]
    response = _review(client, world, item, action="accept", version=item.version,
                       add_to_dataset=True)
    assert response.status_code == 200, response.data
    assert response.data["review_status"] == "approved" and response.data["in_dataset"]
    assert response.data["version"] == item.version + 1
    again = _review(client, world, item, action="reject", version=item.version,
                    reason="wrong_answer")
    assert again.status_code == 409 and again.data["detail"]
    assert ReviewDecision.objects.filter(example=item).count() == 1


def test_reject_needs_a_reason(world, api_as):
    client = api_as(world["owner"])
    item = world["examples"][0]
    assert _review(client, world, item, action="reject",
                   version=item.version).status_code == 400
    assert _review(client, world, item, action="reject", version=item.version,
                   reason="other").data["errors"] == {"note": ["say why the item is rejected"]}
    assert _review(client, world, item, action="reject", version=item.version,
                   reason="nonsense").status_code == 422
    done = _review(client, world, item, action="reject", version=item.version,
                   reason="other", note="off by one")
    assert done.status_code == 200 and done.data["review_status"] == "rejected"
    assert done.data["in_dataset"] is False


def test_an_example_of_another_project_is_not_found(world, api_as, team_a):
    from tests.factories import ExampleFactory, ProjectFactory

    other = ExampleFactory(project=ProjectFactory(team=team_a, name="other"))
    response = _review(api_as(world["owner"]), world, other, action="accept",
                       version=other.version)
    assert response.status_code == 404


def test_comparisons(world, api_as):
    client = api_as(world["editor"])
    pid = world["project"].pk
    made = client.post(f"/projects/{pid}/comparisons", {
        "name": "by status", "statuses": ["failed"], "group_by": "strategy"})
    assert made.status_code == 201, made.data
    assert made.data["run_ids"] == [] and made.data["filter"]["statuses"] == ["failed"]
    names = [c["name"] for c in client.get(f"/projects/{pid}/comparisons").data]
    assert names == ["by status", "saved"]
    taken = client.post(f"/projects/{pid}/comparisons", {"name": "saved",
                                                         "runs": [world["run"].pk]})
    assert taken.status_code == 400 and "name" in taken.data["errors"]
    foreign = client.post(f"/projects/{pid}/comparisons", {"name": "x",
                                                           "runs": [world["b"]["run"].pk]})
    assert foreign.status_code == 400 and "runs" in foreign.data["errors"]
    empty = client.post(f"/projects/{pid}/comparisons", {"name": "x"})
    assert empty.status_code == 400
    gone = client.delete(f"/projects/{pid}/comparisons/{made.data['id']}")
    assert gone.status_code == 204
    assert not Comparison.objects.filter(pk=made.data["id"]).exists()
    other = client.delete(f"/projects/{pid}/comparisons/{world['b']['comparison'].pk}")
    assert other.status_code == 404
