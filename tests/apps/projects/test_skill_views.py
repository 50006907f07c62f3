"""Skills pages: list and tree, add, rename, move, merge, delete with a confirmation."""

import pytest
from django.urls import reverse

from apps.projects.models import ExampleSkill, Skill
from tests.factories import ExampleFactory, SkillFactory


@pytest.fixture
def tree(project_a):
    add = SkillFactory(project=project_a, name="add")
    carry = SkillFactory(project=project_a, name="carry", parent=add)
    sub = SkillFactory(project=project_a, name="sub")
    ExampleFactory.create_batch(2, project=project_a, level=1, skills=[add])
    ExampleFactory(project=project_a, level=2, skills=[add, carry])
    ExampleFactory(project=project_a, level=2, skills=[carry])
    return {"add": add, "carry": carry, "sub": sub}


def url(name, project, *args):
    return reverse(f"projects:{name}", args=[project.pk, *args])


@pytest.mark.parametrize("who", ["owner", "editor", "viewer"])
def test_skill_list_shows_the_tree_with_counts_per_level(request, client_for, who, project_a,
                                                         tree):
    response = client_for(request.getfixturevalue(who)).get(url("skill-list", project_a))
    assert response.status_code == 200
    rows = {r["skill"].name: r for r in response.context["rows"]}
    assert [r["skill"].name for r in response.context["rows"]] == ["add", "carry", "sub"]
    assert rows["carry"]["depth"] == 1 and rows["carry"]["per_level"] == [0, 2]
    assert rows["add"]["per_level"] == [2, 1] and rows["add"]["total"] == 3
    html = response.content.decode()
    assert (url("skill-new", project_a) in html) == (who != "viewer")
    assert ("Extract skills with the teacher" in html) == (who != "viewer")


def test_skill_pages_are_404_for_a_stranger(client_for, stranger, project_a, tree):
    client = client_for(stranger)
    carry = tree["carry"]
    for name, args in [("skill-list", ()), ("skill-detail", (carry.pk,)),
                       ("skill-delete", (carry.pk,))]:
        assert client.get(url(name, project_a, *args)).status_code == 404
    for name, data in [("skill-rename", {"name": "x"}), ("skill-move", {"parent": ""}),
                       ("skill-merge", {"target": tree["add"].pk}), ("skill-delete", {})]:
        assert client.post(url(name, project_a, carry.pk), data).status_code == 404
    assert client.post(url("skill-new", project_a), {"name": "x"}).status_code == 404
    assert Skill.objects.filter(project=project_a).count() == 3


def test_viewer_reads_a_skill_but_cannot_change_it(client_for, viewer, project_a, tree):
    client = client_for(viewer)
    carry = tree["carry"]
    html = client.get(url("skill-detail", project_a, carry.pk)).content.decode()
    assert "carry" in html and url("skill-rename", project_a, carry.pk) not in html
    assert client.get(url("skill-delete", project_a, carry.pk)).status_code == 403
    for name, data in [("skill-rename", {"name": "x"}), ("skill-move", {"parent": ""}),
                       ("skill-merge", {"target": tree["add"].pk}), ("skill-delete", {})]:
        assert client.post(url(name, project_a, carry.pk), data).status_code == 403
    carry.refresh_from_db()
    assert carry.name == "carry" and carry.parent_id == tree["add"].pk


def test_skill_list_query_count_is_bounded(client_for, owner, project_a,
                                           django_assert_max_num_queries):
    parents = [SkillFactory(project=project_a, name=f"s{i}") for i in range(20)]
    for i, parent in enumerate(parents):
        child = SkillFactory(project=project_a, name=f"s{i}-child", parent=parent)
        ExampleFactory(project=project_a, level=i % 4, skills=[parent, child])
    client = client_for(owner)
    with django_assert_max_num_queries(10):
        response = client.get(url("skill-list", project_a))
    assert len(response.context["rows"]) == 40


@pytest.mark.parametrize("n_skills", [3, 40])
def test_skill_detail_query_count_does_not_grow(client_for, owner, project_a, n_skills,
                                                django_assert_max_num_queries):
    skills = [SkillFactory(project=project_a, name=f"s{i}") for i in range(n_skills)]
    for i in range(2 * n_skills):
        ExampleFactory(project=project_a, level=i % 4, skills=skills[: 1 + i % 3])
    client = client_for(owner)
    with django_assert_max_num_queries(10):
        response = client.get(url("skill-detail", project_a, skills[0].pk))
    assert response.status_code == 200
    # the move and merge selects list every other skill, each read once
    assert response.content.decode().count(f'value="{skills[1].pk}"') == 2


def test_skill_usage_counts_examples_and_those_with_no_other_skill(client_for, owner,
                                                                  project_a):
    a, b = SkillFactory(project=project_a, name="a"), SkillFactory(project=project_a, name="b")
    ExampleFactory.create_batch(2, project=project_a, skills=[a])
    ExampleFactory(project=project_a, skills=[a, b])
    ExampleFactory(project=project_a, skills=[b])
    response = client_for(owner).get(url("skill-detail", project_a, a.pk))
    assert (response.context["used"], response.context["only"]) == (3, 2)


def test_add_skill_under_a_parent(client_for, editor, project_a, tree):
    response = client_for(editor).post(url("skill-new", project_a),
                                       {"name": "borrow", "parent": tree["sub"].pk})
    assert response.status_code == 302
    assert Skill.objects.get(project=project_a, name="borrow").parent == tree["sub"]


def test_duplicate_skill_name_is_an_inline_error(client_for, owner, project_a, tree):
    client = client_for(owner)
    response = client.post(url("skill-new", project_a), {"name": "carry"})
    assert response.status_code == 400
    assert "already has a skill" in response.content.decode()
    response = client.post(url("skill-rename", project_a, tree["sub"].pk), {"name": "add"})
    assert response.status_code == 400
    assert "already has a skill" in response.content.decode()
    assert Skill.objects.filter(project=project_a, name="sub").exists()
    assert Skill.objects.filter(project=project_a).count() == 3


def test_rename_and_move(client_for, owner, project_a, tree):
    client = client_for(owner)
    carry = tree["carry"]
    assert client.post(url("skill-rename", project_a, carry.pk),
                       {"name": "carry_one"}).status_code == 302
    assert client.post(url("skill-move", project_a, carry.pk), {"parent": ""}).status_code == 302
    carry.refresh_from_db()
    assert carry.name == "carry_one" and carry.parent is None


def test_moving_a_skill_under_its_own_child_is_refused(client_for, owner, project_a, tree):
    response = client_for(owner).post(url("skill-move", project_a, tree["add"].pk),
                                      {"parent": tree["carry"].pk})
    assert response.status_code == 400
    assert "would make a cycle" in response.content.decode()
    tree["add"].refresh_from_db()
    assert tree["add"].parent is None


def test_merge_moves_examples_and_children(client_for, owner, project_a, tree):
    add, carry = tree["add"], tree["carry"]
    grandchild = SkillFactory(project=project_a, name="carry_twice", parent=carry)
    response = client_for(owner).post(url("skill-merge", project_a, carry.pk),
                                      {"target": add.pk})
    assert response.status_code == 302
    assert response.url == url("skill-detail", project_a, add.pk)
    assert not Skill.objects.filter(pk=carry.pk).exists()
    # 3 examples had add, 2 had carry (one of them both): add now covers all 4, once each.
    assert ExampleSkill.objects.filter(skill=add).count() == 4
    grandchild.refresh_from_db()
    assert grandchild.parent == add


def test_merge_into_itself_or_a_stranger_skill_is_refused(client_for, owner, project_a,
                                                          project_b, tree):
    client = client_for(owner)
    other = SkillFactory(project=project_b, name="elsewhere")
    for target in (tree["add"].pk, other.pk):
        response = client.post(url("skill-merge", project_a, tree["add"].pk),
                               {"target": target})
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
    assert Skill.objects.filter(project=project_a).count() == 3


def test_delete_confirmation_says_how_many_examples_use_the_skill(client_for, owner,
                                                                  project_a, tree):
    client = client_for(owner)
    html = client.get(url("skill-delete", project_a, tree["add"].pk)).content.decode()
    assert "<strong>3</strong> examples use this skill" in html
    assert "2 of them have no other skill" in html
    html = client.get(url("skill-delete", project_a, tree["sub"].pk)).content.decode()
    assert "<strong>0</strong> examples use this skill" in html


def test_delete_leaving_examples_without_a_skill_is_refused(client_for, owner, project_a,
                                                            tree):
    response = client_for(owner).post(url("skill-delete", project_a, tree["carry"].pk))
    assert response.status_code == 400
    assert "merge" in response.content.decode()
    assert Skill.objects.filter(pk=tree["carry"].pk).exists()
    assert ExampleSkill.objects.filter(skill=tree["carry"]).count() == 2


def test_delete_a_skill_whose_examples_have_others(client_for, owner, project_a, tree):
    sub, add = tree["sub"], tree["add"]
    ExampleFactory(project=project_a, skills=[add, sub])
    child = SkillFactory(project=project_a, name="sub_child", parent=sub)
    response = client_for(owner).post(url("skill-delete", project_a, sub.pk))
    assert response.status_code == 302
    assert not Skill.objects.filter(pk=sub.pk).exists()
    child.refresh_from_db()
    assert child.parent is None
