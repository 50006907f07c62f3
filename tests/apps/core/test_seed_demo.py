import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from apps.accounts.models import Membership, Team
from apps.curricula.models import Curriculum
from apps.projects.models import Example, ExampleSkill, Project, Skill
from apps.prompts.models import TeacherConfig, TeacherPrompt, TeacherPromptVersion
from apps.runs.models import StudentSpec
from workers.engine.tasks.registry import build_family
from workers.engine.teachers.prompts import ROLES

MODELS = (Team, Membership, Project, Skill, Example, ExampleSkill, TeacherConfig,
          TeacherPrompt, TeacherPromptVersion, Curriculum, StudentSpec)


def _counts():
    return {m.__name__: m.objects.count() for m in MODELS}


def _seed(capsys, *args):
    call_command("seed_demo", *args)
    return capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_twice_creates_nothing_twice(capsys, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    out = _seed(capsys)
    first = _counts()
    _seed(capsys)
    assert _counts() == first
    assert first["Example"] == 700
    assert "password:" in out


@pytest.mark.django_db
def test_seed_demo_content_comes_from_the_engine(capsys, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    _seed(capsys)
    project = Project.objects.get(name="Multi-digit arithmetic")
    family = build_family("arithmetic", {})
    skills = {s.name: s for s in project.skills.all()}
    assert set(skills) == {s.name for s in family.skills()}
    assert all(s.origin == "builtin" for s in skills.values())
    assert skills["carry"].parent == skills["add"]
    assert project.examples.filter(split="train").count() == 500
    assert project.examples.filter(split="eval").count() == 200
    prompts = set(project.examples.values_list("prompt", flat=True))
    assert len(prompts) == 700  # no eval item repeats a train item
    assert not ExampleSkill.objects.filter(example__project=project).exclude(
        skill__project=project).exists()
    assert set(project.prompts.values_list("role", flat=True)) == set(ROLES)
    assert set(project.curricula.values_list("strategy", flat=True)) == {"uniform", "stat_sel"}
    assert project.teachers.get().kind == "oracle"
    assert project.students.get().preset == "tiny"


@pytest.mark.django_db
def test_demo_password_printed_once_and_reset_on_request(capsys, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    out = _seed(capsys)
    password = out.split("password: ")[1].split()[0]
    assert authenticate(username="demo", password=password)
    out = _seed(capsys)
    assert "password unchanged" in out
    assert authenticate(username="demo", password=password)
    out = _seed(capsys, "--reset-password")
    new = out.split("password: ")[1].split()[0]
    assert new != password
    assert authenticate(username="demo", password=new)


@pytest.mark.django_db
def test_demo_password_from_environment(capsys, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    out = _seed(capsys)
    assert "password: demo-pass-123" in out
    assert authenticate(username="demo", password="demo-pass-123")
