import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.prompts.models import ImmutableVersionError, PromptRole, TeacherPromptVersion
from apps.prompts.selectors import prompt_versions_current
from apps.prompts.services import (
    prompt_defaults_install,
    prompt_version_create,
    teacher_config_create,
    teacher_config_update,
    teacher_prompt_create,
)
from workers.engine.teachers.prompts import ROLES, default_template

SOLVE = "Solve this: {{ question }}"


def test_roles_match_the_engine():
    assert tuple(PromptRole.values) == ROLES


def test_new_text_makes_a_new_version(project_a, editor):
    prompt = teacher_prompt_create(user=editor, project=project_a, role="solve", name="mine",
                                   template=SOLVE)
    v2 = prompt_version_create(user=editor, prompt=prompt, template=SOLVE + "\nBe brief.")
    assert [v.version for v in prompt.versions.order_by("version")] == [1, 2]
    assert v2.created_by == editor
    # saving the same text again does not add an empty version
    assert prompt_version_create(user=editor, prompt=prompt, template=v2.template) == v2
    assert prompt.versions.count() == 2


def test_saved_versions_are_immutable(project_a, owner):
    prompt = teacher_prompt_create(user=owner, project=project_a, role="solve", name="mine",
                                   template=SOLVE)
    version = prompt.versions.get()
    version.template = "changed {{ question }}"
    with pytest.raises(ImmutableVersionError, match="immutable"):
        version.save()
    assert TeacherPromptVersion.objects.get(pk=version.pk).template == SOLVE


def test_bad_templates_are_refused_naming_the_problem(project_a, owner):
    with pytest.raises(ValidationError, match="unknown variable 'nope'"):
        teacher_prompt_create(user=owner, project=project_a, role="solve", name="bad",
                              template="{{ nope }}")
    with pytest.raises(ValidationError, match="role"):
        teacher_prompt_create(user=owner, project=project_a, role="dance", name="bad",
                              template=SOLVE)


def test_viewer_and_stranger_cannot_write_prompts(project_a, owner, viewer, stranger):
    prompt = teacher_prompt_create(user=owner, project=project_a, role="solve", name="mine",
                                   template=SOLVE)
    for user in (viewer, stranger):
        with pytest.raises(PermissionDenied):
            prompt_version_create(user=user, prompt=prompt, template=SOLVE + "!")
        with pytest.raises(PermissionDenied):
            teacher_prompt_create(user=user, project=project_a, role="grade", name="x",
                                  template=default_template("grade"))


def test_default_prompts_for_every_role_installed_once(project_a, owner):
    prompt_defaults_install(user=owner, project=project_a)
    prompt_defaults_install(user=owner, project=project_a)
    current = prompt_versions_current(project=project_a)
    assert set(current) == set(ROLES)
    assert all(v.version == 1 for v in current.values())
    assert current["grade"].template == default_template("grade")


def test_api_key_is_write_only(project_a, owner):
    teacher = teacher_config_create(user=owner, project=project_a, name="gpt", kind="openai",
                                    base_url="http://localhost:8000/v1", model="m",
                                    api_key="sk-secret")
    assert teacher.has_api_key
    teacher_config_update(user=owner, teacher=teacher, api_key="", model="m2")
    teacher.refresh_from_db()
    assert teacher.api_key == "sk-secret" and teacher.model == "m2"
    teacher_config_update(user=owner, teacher=teacher, api_key="sk-new")
    teacher.refresh_from_db()
    assert teacher.api_key == "sk-new"
    teacher_config_update(user=owner, teacher=teacher, clear_api_key=True)
    teacher.refresh_from_db()
    assert not teacher.has_api_key


def test_teacher_config_validation_names_fields(project_a, owner):
    with pytest.raises(ValidationError) as exc:
        teacher_config_create(user=owner, project=project_a, name="gpt", kind="openai")
    assert set(exc.value.message_dict) == {"base_url", "model"}
    with pytest.raises(ValidationError, match="model_dir"):
        teacher_config_create(user=owner, project=project_a, name="local", kind="hf_local")
    with pytest.raises(ValidationError, match="kind"):
        teacher_config_create(user=owner, project=project_a, name="x", kind="magic")


def test_teacher_config_scoping(project_a, owner, viewer, stranger):
    teacher = teacher_config_create(user=owner, project=project_a, name="oracle")
    with pytest.raises(PermissionDenied):
        teacher_config_create(user=viewer, project=project_a, name="other")
    with pytest.raises(PermissionDenied):
        teacher_config_update(user=viewer, teacher=teacher, timeout_s=5.0)
