"""The API's typed input and output. Input schemas refuse unknown fields and values of the
wrong JSON type (strict: ``"5"`` is not a number), bound every number by the column that
holds it and every string by its column's length, and refuse NUL characters; the services
behind them still judge everything else (names taken, roles, strategy parameters, specs)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field

from apps.accounts.services import TEAM_NAME_MAX
from apps.common.db import INT32_MAX, INT32_MIN
from apps.common.safejson import json_problem
from apps.projects.models import MAX_SKILLS_PER_EXAMPLE, Example, Skill
from apps.projects.services import MAX_BULK_EXAMPLES
from apps.prompts.models import PromptRole, TeacherKind
from apps.runs.models import RunStatus, StudentSpec
from workers.engine.api import ANSWER_MODES

INT64_MAX = 2**63 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (\\u0000)")
    return value


def _json_object(value: dict) -> dict:
    problem = json_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def Text(max_length: int | None = None):  # noqa: N802 (a type factory)
    return Annotated[str, Field(max_length=max_length), AfterValidator(_no_nul)]


Id = Annotated[int, Field(ge=1, le=INT64_MAX)]
Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
JSONObject = Annotated[dict[str, Any], AfterValidator(_json_object)]
Split = Literal[tuple(Example.Split.values)]
Origin = Literal[tuple(Example.Origin.values)]
ReviewStatus = Literal[tuple(Example.ReviewStatus.values)]


class In(Schema):
    """The base of every request body."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] | None = None


# --- projects, skills, examples -------------------------------------------------------------

class TeamOut(Schema):
    id: int
    name: str


class TeamRoleOut(TeamOut):
    role: str = Field(description="your role in the team: viewer, editor or owner")


class TeamIn(In):
    name: Text(TEAM_NAME_MAX) = Field(min_length=1, description="unique, ignoring case")


class ProjectFromFileIn(Schema):
    team: Id = Field(description="one of your teams where you edit (GET /teams)")
    name: Text(200) = Field(min_length=1)
    description: Text(10_000) = ""
    answer_mode: Literal[tuple(ANSWER_MODES)] = Field(
        "exact", description="how answers are checked: exact, normalized or numeric")
    eval_share: float = Field(0.2, ge=0.0, le=0.9,
                              description="share of the lines without a split that go to "
                                          "eval")
    require_review: bool = True
    drop_eval_duplicates: bool = Field(False, description="leave out train lines that repeat "
                                                          "an eval line's prompt (else the "
                                                          "file is refused)")


class ProjectOut(Schema):
    id: int
    team: TeamOut
    name: str
    description: str
    task_family: str
    task_options: dict[str, Any]
    require_review: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class ProjectListOut(ProjectOut):
    n_skills: int
    n_examples: int


class ProjectDetailOut(ProjectOut):
    role: str | None = Field(description="the caller's role in the project's team")
    example_counts: dict[str, dict[str, int]] = Field(
        description="examples per split and review status")


class SkillOut(Schema):
    id: int
    name: str
    description: str
    parent: int | None = Field(description="the parent skill's id; null at the top")
    origin: Literal[tuple(Skill.Origin.values)]
    depth: int = Field(description="0 at the top of the tree")


class ExampleOut(Schema):
    id: int
    key: str
    prompt: str
    answer: str
    skills: list[str]
    level: int
    split: Split
    origin: Origin
    review_status: ReviewStatus
    version: int = Field(description="grows with every review decision (send it with one)")
    in_dataset: bool = Field(description="the item has joined the project's dataset")
    meta: dict[str, Any]
    prompt_version: int | None
    teacher_kind: str
    round: int | None
    triggering_example: int | None
    created_at: dt.datetime


class ExamplePage(Schema):
    results: list[ExampleOut]
    next_cursor: str | None
    next: str | None


class ExampleFilters(Schema):
    split: Split | None = None
    level: Int32 | None = None
    skill: Id | None = Field(None, description="a skill id")
    origin: Origin | None = None
    review_status: ReviewStatus | None = None


class ExampleIn(In):
    prompt: Text()
    answer: Text()
    skills: list[Text(100)] = Field(min_length=1, max_length=MAX_SKILLS_PER_EXAMPLE,
                                    description="skill names of the project")
    level: Int32
    split: Split = "train"
    origin: Origin = "imported"
    review_status: ReviewStatus | None = Field(
        None, description="default: pending for synthesized examples of a project that "
                          "asks for review, else approved")
    key: Text(200) = Field("", description="your id for the example, unique per project")
    meta: JSONObject = Field(default_factory=dict)


class ExampleBulkIn(In):
    examples: list[ExampleIn] = Field(min_length=1, max_length=MAX_BULK_EXAMPLES)


class ExampleBulkOut(Schema):
    created: int
    ids: list[int]


# --- prompts and teachers -------------------------------------------------------------------

class PromptOut(Schema):
    id: int
    role: Literal[tuple(PromptRole.values)]
    name: str
    latest_version: int | None
    created_at: dt.datetime


class PromptVersionOut(Schema):
    id: int
    version: int
    template: str
    note: str
    created_by: str | None
    created_at: dt.datetime
    n_runs: int = Field(description="runs that recorded this version")


class PromptVersionIn(In):
    template: Text()
    note: Text(200) = ""


TeacherKindName = Literal[tuple(TeacherKind.values)]
Timeout = Annotated[float, Field(gt=0, le=86_400, allow_inf_nan=False)]


class TeacherOut(Schema):
    id: int
    name: str
    kind: TeacherKindName
    base_url: str
    model: str
    model_dir: str
    timeout_s: float
    max_retries: int
    concurrency: int
    has_api_key: bool = Field(description="whether a key is stored; the key is never sent back")
    created_at: dt.datetime
    updated_at: dt.datetime


class TeacherUpdateOut(TeacherOut):
    api_key_removed: bool = Field(
        description="the stored key was removed: the kind or base URL changed and no new key "
                    "was sent (a key goes only to the endpoint it was saved for)")


class TeacherIn(In):
    name: Text(100)
    kind: TeacherKindName = "oracle"
    base_url: Text(500) = ""
    model: Text(200) = ""
    api_key: Text(500) = Field("", description="write-only: stored encrypted, never returned")
    model_dir: Text(500) = ""
    timeout_s: Timeout = 60.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    concurrency: Annotated[int, Field(ge=1, le=64)] = 4


class TeacherPatchIn(In):
    name: Text(100) | None = None
    kind: TeacherKindName | None = None
    base_url: Text(500) | None = None
    model: Text(200) | None = None
    api_key: Text(500) | None = Field(
        None, description="write-only. Omitted or empty: keep the stored key, but only while "
                          "kind and base_url stay the same (else it is removed)")
    clear_api_key: bool = Field(False, description="remove the stored key")
    model_dir: Text(500) | None = None
    timeout_s: Timeout | None = None
    max_retries: Annotated[int, Field(ge=0, le=10)] | None = None
    concurrency: Annotated[int, Field(ge=1, le=64)] | None = None


# --- curricula ------------------------------------------------------------------------------

class StrategyParamOut(Schema):
    name: str
    kind: str
    default: Any = None
    help: str
    min: float | None = None
    max: float | None = None
    choices: list[str]


class StrategyOut(Schema):
    name: str
    description: str
    params: list[StrategyParamOut]


class CurriculumOut(Schema):
    id: int
    name: str
    strategy: str
    params: dict[str, Any]
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime


class CurriculumIn(In):
    name: Text(100)
    strategy: Text(50)
    params: JSONObject = Field(default_factory=dict,
                               description="checked against the strategy's parameter schema")
    description: Text() = ""


# --- runs -----------------------------------------------------------------------------------

class StudentOut(Schema):
    id: int
    name: str
    preset: str
    model_dir: str
    max_length: int


class NamedOut(Schema):
    id: int
    name: str


class CurriculumRefOut(NamedOut):
    strategy: str


class TeacherRefOut(NamedOut):
    kind: str


class RunOut(Schema):
    id: int
    project: int
    name: str
    status: Literal[tuple(RunStatus.values)]
    stop_request: str
    error: str
    current_round: int = Field(description="the last finished round")
    rounds: int
    steps_per_round: int
    batch_size: int
    lr: float
    eval_size: int
    seed: int
    synth_requires_review: bool
    student: StudentOut
    teacher_config: TeacherRefOut
    curriculum: CurriculumRefOut
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    controls: list[str] = Field(description="the controls the caller may use now")


class RunDetailOut(RunOut):
    spec: dict[str, Any] = Field(description="the frozen run spec (it holds no API key)")
    prompt_versions: list[int]


class RunPage(Schema):
    results: list[RunOut]
    next_cursor: str | None
    next: str | None


class RunFilters(Schema):
    status: Literal[tuple(RunStatus.values)] | None = None


class RunLaunchIn(In):
    name: Text(200) = ""
    preset: Literal[tuple(StudentSpec.Preset.values)] | None = Field(
        None, description="a student trained from scratch; give this or model_dir")
    model_dir: Text(500) = Field("", description="a local model directory on the workers")
    max_length: Annotated[int, Field(ge=8, le=4096)] = 64
    teacher_config: Id
    curriculum: Id
    rounds: Annotated[int, Field(ge=1, le=1000)] | None = None
    steps_per_round: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    batch_size: Annotated[int, Field(ge=1, le=4096)] | None = None
    lr: Annotated[float, Field(allow_inf_nan=False)] | None = None
    eval_size: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    seed: Int32 | None = None
    device: Literal["auto", "cpu", "cuda"] | None = None
    synth_requires_review: bool | None = Field(
        None, description="default: the project's require_review")


class SkillStatOut(Schema):
    skill_id: int
    skill_name: str
    evaluated: int
    failed: int
    miss_rate: float
    miss_share: float
    accuracy: float


class LevelStatOut(Schema):
    level: int
    sampling_probability: float
    success_rate: float
    strategy_score: float | None
    samples: int
    evaluated: int


class RoundOut(Schema):
    index: int = Field(description="0 is the initial evaluation")
    metrics: dict[str, Any]
    plan: dict[str, Any] = Field(description="the data plan the curriculum chose")
    curriculum_state: dict[str, Any]
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    profile: list[SkillStatOut] = Field(description="the round's Missing-Skill-Profile")
    levels: list[LevelStatOut]


class RoundPage(Schema):
    results: list[RoundOut]
    next_cursor: str | None
    next: str | None
