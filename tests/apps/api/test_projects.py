"""Projects, the skill tree and examples (filters, cursor pagination, bulk create)."""

import pytest

from apps.projects.models import Example

pytestmark = pytest.mark.django_db


def test_project_list_and_detail(world, api_as):
    client = api_as(world["viewer"])
    project = world["project"]
    rows = client.get("/projects").data
    assert [(r["id"], r["n_skills"], r["n_examples"], r["team"]["name"]) for r in rows] == [
        (project.pk, 2, 3, "Team A")]
    detail = client.get(f"/projects/{project.pk}").data
    assert detail["role"] == "viewer"
    assert detail["example_counts"] == {"train": {"approved": 1, "pending": 1},
                                        "eval": {"approved": 1}}


def test_skill_tree_has_parents_and_depths(world, api_as):
    add, carry = world["skills"]
    rows = api_as(world["viewer"]).get(f"/projects/{world['project'].pk}/skills").data
    assert [(r["name"], r["parent"], r["depth"]) for r in rows] == [
        ("add", None, 0), ("carry", add.pk, 1)]


@pytest.mark.parametrize("query, prompts", [
    ({}, ["1+1=", "47+38=", "9+9="]),
    ({"split": "eval"}, ["47+38="]),
    ({"level": 2}, ["47+38=", "9+9="]),
    ({"origin": "synthesized"}, ["9+9="]),
    ({"review_status": "pending"}, ["9+9="]),
    ({"level": 2, "review_status": "approved"}, ["47+38="]),
])
def test_example_filters(world, api_as, query, prompts):
    response = api_as(world["viewer"]).get(f"/projects/{world['project'].pk}/examples", query)
    assert [r["prompt"] for r in response.data["results"]] == prompts
    assert response.data["next_cursor"] is None and response.data["next"] is None


def test_example_filter_by_skill(world, api_as):
    add, carry = world["skills"]
    client = api_as(world["viewer"])
    url = f"/projects/{world['project'].pk}/examples"
    rows = client.get(url, {"skill": carry.pk}).data["results"]
    assert [(r["prompt"], r["skills"]) for r in rows] == [
        ("47+38=", ["add", "carry"]), ("9+9=", ["carry"])]
    other = world["b"]["project"]
    from tests.factories import SkillFactory
    assert client.get(url, {"skill": SkillFactory(project=other).pk}).data["results"] == []


def test_cursor_pagination_walks_every_example_once(world, api_as):
    from tests.factories import ExampleFactory

    project = world["project"]
    add = world["skills"][0]
    for i in range(7):
        ExampleFactory(project=project, prompt=f"{i}+0=", answer=str(i), skills=[add])
    client = api_as(world["viewer"])
    url, seen, pages = f"/projects/{project.pk}/examples", [], 0
    params = {"limit": 4}
    while True:
        page = client.get(url, params).data
        seen += [r["id"] for r in page["results"]]
        pages += 1
        if page["next_cursor"] is None:
            break
        assert page["next"].startswith(f"/api/v1{url}?") and "limit=4" in page["next"]
        params = {"limit": 4, "cursor": page["next_cursor"]}
    assert pages == 3
    assert seen == sorted(Example.objects.filter(project=project).values_list("pk", flat=True))


@pytest.mark.parametrize("cursor", ["x", "%%%", "djE6", "djE6YWJj", "djE6LTE", "\x00",
                                    "djE6OTk5OTk5OTk5OTk5OTk5OTk5OTk5"])
def test_bad_cursor_is_400(world, api_as, cursor):
    response = api_as(world["viewer"]).get(f"/projects/{world['project'].pk}/examples",
                                           {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.data["detail"]


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 501}, {"split": "test"},
                                   {"level": "x"}, {"level": 2**40}, {"skill": 0},
                                   {"review_status": "\x00"}])
def test_bad_filter_is_422_naming_the_parameter(world, api_as, query):
    response = api_as(world["viewer"]).get(f"/projects/{world['project'].pk}/examples", query)
    assert response.status_code == 422
    assert list(response.data["errors"]) == list(query)


def test_bulk_create(world, api_as):
    project = world["project"]
    body = {"examples": [
        {"prompt": "2+2=", "answer": "4", "skills": ["add"], "level": 1},
        {"prompt": "3+9=", "answer": "12", "skills": ["add", "carry"], "level": 2,
         "split": "eval", "key": "k-1", "meta": {"source": "api"}},
        {"prompt": "5+5=", "answer": "10", "skills": ["add"], "level": 1,
         "origin": "synthesized"},
    ]}
    response = api_as(world["editor"]).post(f"/projects/{project.pk}/examples", body)
    assert response.status_code == 201
    assert response.data["created"] == 3
    made = list(Example.objects.filter(pk__in=response.data["ids"]).order_by("pk"))
    assert [(e.prompt, e.split, e.origin, e.review_status, e.key) for e in made] == [
        ("2+2=", "train", "imported", "approved", ""),
        ("3+9=", "eval", "imported", "approved", "k-1"),
        ("5+5=", "train", "synthesized", "pending", ""),  # the project asks for review
    ]
    assert sorted(s.name for s in made[1].skills.all()) == ["add", "carry"]
    assert made[1].meta == {"source": "api"}


def test_bulk_create_names_every_bad_row_and_saves_nothing(world, api_as):
    from tests.factories import ExampleFactory

    project = world["project"]
    ExampleFactory(project=project, key="taken", skills=[world["skills"][0]])
    before = Example.objects.count()
    body = {"examples": [
        {"prompt": "2+2=", "answer": "4", "skills": ["add"], "level": 1},  # fine
        {"prompt": "   ", "answer": "4", "skills": ["add"], "level": 1},
        {"prompt": "2+2=", "answer": "4", "skills": ["nope"], "level": 1},
        {"prompt": "2+2=", "answer": "4", "skills": ["add"], "level": 1, "key": "taken"},
        {"prompt": "2+2=", "answer": "4", "skills": ["add"], "level": 1, "key": "dup"},
        {"prompt": "2+2=", "answer": "4", "skills": ["add"], "level": 1, "key": "dup"},
    ]}
    response = api_as(world["editor"]).post(f"/projects/{project.pk}/examples", body)
    assert response.status_code == 400
    assert set(response.data["errors"]) == {"examples.1.prompt", "examples.2.skills",
                                            "examples.3.key", "examples.5.key"}
    assert "no skill 'nope'" in response.data["errors"]["examples.2.skills"][0]
    assert Example.objects.count() == before


@pytest.mark.parametrize("row, field", [
    ({"level": "1"}, "examples.0.level"),  # strict: a string is not a number
    ({"level": 2**31}, "examples.0.level"),
    ({"level": 1.5}, "examples.0.level"),
    ({"skills": []}, "examples.0.skills"),
    ({"skills": ["a", "b", "c", "d", "e", "f"]}, "examples.0.skills"),
    ({"split": "test"}, "examples.0.split"),
    ({"prompt": 5}, "examples.0.prompt"),
    ({"key": "k" * 201}, "examples.0.key"),
    ({"color": "red"}, "examples.0.color"),
    ({"meta": []}, "examples.0.meta"),
])
def test_bulk_create_schema_errors_are_422_per_row(world, api_as, row, field):
    good = {"prompt": "2+2=", "answer": "4", "skills": ["add"], "level": 1}
    response = api_as(world["editor"]).post(f"/projects/{world['project'].pk}/examples",
                                            {"examples": [good | row]})
    assert response.status_code == 422
    assert field in response.data["errors"]


def test_bulk_create_is_bounded(world, api_as):
    row = {"prompt": "2+2=", "answer": "4", "skills": ["add"], "level": 1}
    client = api_as(world["editor"])
    url = f"/projects/{world['project'].pk}/examples"
    assert client.post(url, {"examples": []}).status_code == 422
    assert client.post(url, {"examples": [row] * 1001}).status_code == 422
