"""factory_boy factories for every model of the apps."""

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.accounts.models import Membership, MembershipChange, Role, Team
from apps.curricula.models import Curriculum
from apps.projects.models import (
    Example,
    ExampleSkill,
    ImportJob,
    Project,
    Skill,
    SkillExtraction,
    SkillProposal,
)
from apps.prompts.models import TeacherConfig, TeacherKind, TeacherPrompt, TeacherPromptVersion
from apps.runs.models import LevelStat, Round, Run, RunEvent, SkillStat, StudentSpec


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("password")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = Role.VIEWER


class MembershipChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MembershipChange

    team = factory.SubFactory(TeamFactory)
    actor_username = "alice"
    member = factory.SubFactory(UserFactory)
    member_username = factory.LazyAttribute(lambda c: c.member.username)
    action = MembershipChange.Action.ADDED
    new_role = Role.VIEWER


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    task_family = "arithmetic"


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Skill

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"skill_{n}")
    description = "a skill"


class ExampleFactory(factory.django.DjangoModelFactory):
    """An example; pass ``skills=[...]`` to link skills (default: one new skill)."""

    class Meta:
        model = Example
        skip_postgeneration_save = True

    project = factory.SubFactory(ProjectFactory)
    prompt = factory.Sequence(lambda n: f"{n}+1=")
    answer = factory.LazyAttribute(lambda e: str(int(e.prompt.split("+")[0]) + 1))
    level = 1
    # In the project's dataset unless synthesized or not approved (as example_build does).
    added_at = factory.LazyAttribute(
        lambda e: timezone.now()
        if getattr(e, "origin", Example.Origin.SEED) != Example.Origin.SYNTHESIZED
        and getattr(e, "review_status", Example.ReviewStatus.APPROVED)
        == Example.ReviewStatus.APPROVED else None)

    @factory.post_generation
    def skills(self, create, extracted, **kwargs):
        if not create:
            return
        skills = extracted if extracted is not None else [SkillFactory(project=self.project)]
        for skill in skills:
            ExampleSkill.objects.create(example=self, skill=skill)


class TeacherConfigFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeacherConfig

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"teacher {n}")
    kind = TeacherKind.ORACLE


class TeacherPromptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeacherPrompt

    project = factory.SubFactory(ProjectFactory)
    role = "solve"
    name = factory.Sequence(lambda n: f"prompt {n}")


class TeacherPromptVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeacherPromptVersion

    prompt = factory.SubFactory(TeacherPromptFactory)
    version = factory.Sequence(lambda n: n + 1)
    template = "Solve: {{ question }}"


class CurriculumFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Curriculum

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"curriculum {n}")
    strategy = "uniform"
    params = factory.LazyFunction(dict)


class StudentSpecFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StudentSpec

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"student {n}")
    preset = StudentSpec.Preset.TINY
    max_length = 32


class RunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Run

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"run {n}")
    student = factory.SubFactory(StudentSpecFactory, project=factory.SelfAttribute("..project"))
    teacher_config = factory.SubFactory(
        TeacherConfigFactory, project=factory.SelfAttribute("..project")
    )
    curriculum = factory.SubFactory(CurriculumFactory, project=factory.SelfAttribute("..project"))
    rounds = 2
    steps_per_round = 5
    batch_size = 4


class RoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Round

    run = factory.SubFactory(RunFactory)
    index = factory.Sequence(lambda n: n)
    metrics = factory.LazyFunction(lambda: {"accuracy": 0.5})


class SkillStatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SkillStat

    round = factory.SubFactory(RoundFactory)
    run = factory.SelfAttribute("round.run")
    skill = factory.SubFactory(SkillFactory, project=factory.SelfAttribute("..run.project"))
    evaluated = 10
    failed = 3
    miss_rate = 0.3
    miss_share = 1.0
    accuracy = 0.7


class LevelStatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LevelStat

    round = factory.SubFactory(RoundFactory)
    run = factory.SelfAttribute("round.run")
    level = factory.Sequence(lambda n: n + 1)
    sampling_probability = 0.5
    success_rate = 0.5
    samples = 10
    evaluated = 10


class RunEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RunEvent

    run = factory.SubFactory(RunFactory)
    kind = RunEvent.Kind.LOG
    message = "hello"


class SkillExtractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SkillExtraction

    project = factory.SubFactory(ProjectFactory)
    teacher_config = factory.SubFactory(
        TeacherConfigFactory, project=factory.SelfAttribute("..project")
    )


class SkillProposalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SkillProposal

    project = factory.SubFactory(ProjectFactory)
    extraction = factory.SubFactory(
        SkillExtractionFactory, project=factory.SelfAttribute("..project")
    )
    name = factory.Sequence(lambda n: f"proposed_{n}")


class ImportJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportJob

    project = factory.SubFactory(ProjectFactory)
    token = factory.Sequence(lambda n: f"{n:032x}")
