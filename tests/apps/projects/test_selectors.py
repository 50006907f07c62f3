import pytest
from django.http import Http404

from apps.projects.selectors import (
    project_get_for_user,
    project_list_for_user,
    skill_level_counts,
    skill_tree,
)
from tests.factories import ExampleFactory, SkillFactory


def test_projects_are_scoped_to_the_users_teams(owner, viewer, stranger, project_a, project_b):
    assert list(project_list_for_user(user=owner)) == [project_a]
    assert list(project_list_for_user(user=viewer)) == [project_a]
    assert list(project_list_for_user(user=stranger)) == [project_b]
    assert project_get_for_user(user=viewer, pk=project_a.pk) == project_a
    with pytest.raises(Http404):
        project_get_for_user(user=stranger, pk=project_a.pk)


def test_skill_map_counts_and_filters(project_a):
    add = SkillFactory(project=project_a, name="add")
    carry = SkillFactory(project=project_a, name="carry", parent=add)
    ExampleFactory(project=project_a, level=2, skills=[add, carry])
    ExampleFactory(project=project_a, level=2, skills=[add])
    ExampleFactory(project=project_a, level=4, skills=[carry], review_status="rejected")
    counts, levels = skill_level_counts(project=project_a)
    assert counts == {add.pk: {2: 2}, carry.pk: {2: 1}}
    assert levels == [2]
    counts, levels = skill_level_counts(project=project_a, statuses=("approved", "rejected"))
    assert counts[carry.pk] == {2: 1, 4: 1} and levels == [2, 4]
    assert [(s.name, d) for s, d in skill_tree(project=project_a)] == [("add", 0), ("carry", 1)]
