"""Fixtures of the share link tests: runs with rounds, skills and failed items, a teacher
with a key and a prompt version with a distinctive text."""

import pytest

API_KEY = "sk-share-test-KEY-7f3a9c"
PROMPT_TEXT = "ZEBRA-PROMPT-TEXT: explain every carry like a pirate"


def _run_with_failures(project, *, name, skill_name, prompt):
    from apps.runs.models import EvalFailure
    from tests import factories as f

    teacher = f.TeacherConfigFactory(project=project, name=f"{name} teacher", kind="openai",
                                     base_url="https://teacher.example.org/v1",
                                     model="big-model", api_key=API_KEY)
    version = f.TeacherPromptVersionFactory(
        prompt=f.TeacherPromptFactory(project=project, name=f"{name} prompt"),
        template=PROMPT_TEXT)
    run = f.RunFactory(project=project, name=name, teacher_config=teacher,
                       spec={"teacher": {"kind": "openai", "prompts": {"solve": PROMPT_TEXT}}})
    run.prompt_versions.add(version)
    skill = f.SkillFactory(project=project, name=skill_name)
    for index in (0, 1):
        rnd = f.RoundFactory(run=run, index=index, metrics={"accuracy": 0.5 + index / 10})
        f.SkillStatFactory(round=rnd, run=run, skill=skill, failed=1)
        EvalFailure.objects.create(run=run, round=rnd, item_id=f"{name}-item-{index}",
                                   prompt=prompt, answer="42", prediction="41", level=1,
                                   skills=[skill_name], blamed=[skill_name])
    return run


@pytest.fixture
def run_a(project_a):
    return _run_with_failures(project_a, name="Run A", skill_name="carry",
                              prompt="17+25=")


@pytest.fixture
def run_a2(project_a):
    """Another run of the same team: a link to run A opens nothing of it either."""
    return _run_with_failures(project_a, name="Run A2", skill_name="borrow",
                              prompt="SECRET-A2-ITEM 90-1=")


@pytest.fixture
def run_b(project_b):
    return _run_with_failures(project_b, name="Run B", skill_name="carry",
                              prompt="SECRET-B-ITEM 55+5=")


@pytest.fixture
def comparison_a(project_a, run_a):
    from apps.compare.models import Comparison

    return Comparison.objects.create(project=project_a, name="Strategies A",
                                     run_ids=[run_a.pk])


@pytest.fixture
def make_link():
    """``make_link(obj, user, **options)``: (link, token) through the service."""
    from apps.sharing.services import share_link_create

    def make(obj, user, **options):
        return share_link_create(user=user, obj=obj, **options)

    return make
