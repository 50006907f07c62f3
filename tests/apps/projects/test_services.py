import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.projects.models import Example, ExampleSkill
from apps.projects.services import (
    example_bulk_create,
    example_create,
    example_review,
    example_set_skills,
    project_create,
    project_update,
    skill_create,
    skill_rename,
    skill_update,
)
from tests.factories import ExampleFactory, SkillFactory


def test_project_create_by_editor(team_a, editor):
    project = project_create(user=editor, team=team_a, name=" Sums ",
                             task_options={"ops": ["add"]})
    assert project.name == "Sums"
    assert (project.created_by, project.task_options) == (editor, {"ops": ["add"]})


def test_project_create_refused_to_viewer_and_stranger(team_a, viewer, stranger):
    for user in (viewer, stranger):
        with pytest.raises(PermissionDenied):
            project_create(user=user, team=team_a, name="Sums")


def test_project_name_unique_per_team(team_a, team_b, owner, stranger, project_a):
    with pytest.raises(ValidationError, match="already has a project"):
        project_create(user=owner, team=team_a, name=project_a.name)
    # the same name in another team is fine
    assert project_create(user=stranger, team=team_b, name=project_a.name).pk


def test_project_update_checks_role(project_a, owner, viewer):
    with pytest.raises(PermissionDenied):
        project_update(user=viewer, project=project_a, require_review=False)
    project_update(user=owner, project=project_a, require_review=False, description="d")
    project_a.refresh_from_db()
    assert not project_a.require_review and project_a.description == "d"


def test_skill_tree_and_rename(project_a, owner, viewer):
    add = skill_create(user=owner, project=project_a, name="add")
    carry = skill_create(user=owner, project=project_a, name="carry", parent=add)
    assert carry.parent == add and carry.origin == "manual"
    with pytest.raises(ValidationError, match="already has a skill 'add'"):
        skill_create(user=owner, project=project_a, name="add")
    with pytest.raises(PermissionDenied):
        skill_create(user=viewer, project=project_a, name="sub")
    with pytest.raises(PermissionDenied):
        skill_rename(user=viewer, skill=add, name="addition")
    skill_rename(user=owner, skill=add, name="addition")
    add.refresh_from_db()
    assert add.name == "addition"
    with pytest.raises(ValidationError, match="already has a skill 'carry'"):
        skill_rename(user=owner, skill=add, name="carry")


def test_skill_parent_cycle_and_other_project_refused(project_a, project_b, owner):
    add = skill_create(user=owner, project=project_a, name="add")
    carry = skill_create(user=owner, project=project_a, name="carry", parent=add)
    with pytest.raises(ValidationError, match="cycle"):
        skill_update(user=owner, skill=add, parent=carry)
    foreign = SkillFactory(project=project_b)
    with pytest.raises(ValidationError, match="another project"):
        skill_create(user=owner, project=project_a, name="x", parent=foreign)


def test_example_needs_one_to_five_skills_of_its_project(project_a, project_b, owner):
    skills = [SkillFactory(project=project_a) for _ in range(6)]
    with pytest.raises(ValidationError, match="1 to 5 skills, got 0"):
        example_create(user=owner, project=project_a, prompt="1+1=", answer="2", skills=[], level=1)
    with pytest.raises(ValidationError, match="1 to 5 skills, got 6"):
        example_create(user=owner, project=project_a, prompt="1+1=", answer="2", skills=skills,
                       level=1)
    with pytest.raises(ValidationError, match="belongs to another project"):
        example_create(user=owner, project=project_a, prompt="1+1=", answer="2",
                       skills=[SkillFactory(project=project_b)], level=1)
    example = example_create(user=owner, project=project_a, prompt="1+1=", answer="2",
                             skills=skills[:5], level=1)
    assert example.skills.count() == 5


def test_example_rejects_bad_fields(project_a, owner):
    skill = SkillFactory(project=project_a)
    kwargs = {"user": owner, "project": project_a, "prompt": "1+1=", "answer": "2",
              "skills": [skill]}
    with pytest.raises(ValidationError, match="whole number"):
        example_create(**kwargs, level="2")
    with pytest.raises(ValidationError, match="split"):
        example_create(**kwargs, level=1, split="test")
    with pytest.raises(ValidationError, match="prompt"):
        example_create(**{**kwargs, "prompt": " "}, level=1)


def test_synthesized_examples_wait_for_review_when_project_requires_it(project_a, owner):
    skill = SkillFactory(project=project_a)
    seed = example_create(user=owner, project=project_a, prompt="1+1=", answer="2",
                          skills=[skill], level=1)
    synth = example_create(user=owner, project=project_a, prompt="2+2=", answer="4",
                           skills=[skill], level=1, origin="synthesized", teacher_kind="oracle",
                           triggering_example=seed, teacher_raw="<question>2+2=</question>")
    assert seed.review_status == "approved"
    assert synth.review_status == "pending"
    assert synth.triggering_example == seed and synth.teacher_raw.startswith("<question>")
    project_a.require_review = False
    project_a.save()
    later = example_create(user=owner, project=project_a, prompt="3+3=", answer="6",
                           skills=[skill], level=1, origin="synthesized")
    assert later.review_status == "approved"


def test_example_review_and_skills_need_editor(project_a, owner, viewer):
    example = ExampleFactory(project=project_a, review_status="pending")
    with pytest.raises(PermissionDenied):
        example_review(user=viewer, example=example, status="approved")
    example_review(user=owner, example=example, status="approved")
    assert Example.objects.get(pk=example.pk).review_status == "approved"
    new = SkillFactory(project=project_a)
    with pytest.raises(PermissionDenied):
        example_set_skills(user=viewer, example=example, skills=[new])
    example_set_skills(user=owner, example=example, skills=[new])
    assert list(example.skills.all()) == [new]


def test_bulk_create_skips_known_keys(project_a):
    skill = SkillFactory(project=project_a)
    rows = [{"key": f"k{i}", "prompt": f"{i}+0=", "answer": str(i), "level": 1,
             "skills": [skill]} for i in range(3)]
    assert len(example_bulk_create(project=project_a, rows=rows)) == 3
    assert len(example_bulk_create(project=project_a, rows=rows)) == 0
    assert ExampleSkill.objects.filter(skill=skill).count() == 3


def test_bulk_create_names_the_bad_row(project_a):
    skill = SkillFactory(project=project_a)
    rows = [{"key": "good", "prompt": "1+0=", "answer": "1", "level": 1, "skills": [skill]},
            {"key": "bad", "prompt": "2+0=", "answer": "2", "level": 1, "skills": []}]
    with pytest.raises(ValidationError, match="row 1 \\(key 'bad'\\)"):
        example_bulk_create(project=project_a, rows=rows)
    assert not Example.objects.filter(project=project_a).exists()  # all or nothing
