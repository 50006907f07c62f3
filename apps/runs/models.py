from django.conf import settings
from django.db import models

from apps.curricula.models import Curriculum
from apps.projects.models import Project, Skill
from apps.prompts.models import TeacherConfig, TeacherPromptVersion


class StudentSpec(models.Model):
    """A student model: a preset trained from scratch, or a local model directory."""

    class Preset(models.TextChoices):
        TINY = "tiny", "tiny"
        SMALL = "small", "small"
        BASE = "base", "base"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="students")
    name = models.CharField(max_length=100)
    preset = models.CharField(max_length=10, choices=Preset.choices, blank=True)
    model_dir = models.CharField(max_length=500, blank=True)
    lora = models.JSONField(null=True, blank=True)  # peft LoraConfig keywords, e.g. {"r": 8}
    max_length = models.PositiveIntegerField(default=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="student_unique_project_name"),
        ]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    # Stopped between rounds until people decide the run's pending synthesized items
    # (review required); it goes back to queued by itself when the last one is decided.
    WAITING = "waiting", "Waiting for review"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Run(models.Model):
    """One training job. Status changes only through ``apps.runs.states``."""

    class StopRequest(models.TextChoices):
        NONE = "", "None"
        PAUSE = "pause", "Pause"
        CANCEL = "cancel", "Cancel"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    name = models.CharField(max_length=200)
    student = models.ForeignKey(StudentSpec, on_delete=models.PROTECT, related_name="runs")
    teacher_config = models.ForeignKey(TeacherConfig, on_delete=models.PROTECT, related_name="runs")
    curriculum = models.ForeignKey(Curriculum, on_delete=models.PROTECT, related_name="runs")
    rounds = models.PositiveIntegerField(default=5)
    steps_per_round = models.PositiveIntegerField(default=100)
    batch_size = models.PositiveIntegerField(default=32)
    lr = models.FloatField(default=1e-3)
    eval_size = models.PositiveIntegerField(default=200)
    seed = models.IntegerField(default=0)
    synth_requires_review = models.BooleanField(default=False)
    # The project's dataset at launch (train split), so a run can be reproduced and compared.
    pool_count = models.PositiveIntegerField(null=True, blank=True)
    pool_hash = models.CharField(max_length=64, blank=True)
    # The frozen RunSpec.to_dict() the worker runs (without the teacher's API key).
    spec = models.JSONField(default=dict)
    prompt_versions = models.ManyToManyField(
        TeacherPromptVersion, blank=True, related_name="runs"
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    # Set by people, honoured by the worker between steps: it then moves the run to
    # paused or cancelled itself, after finishing or discarding the round in flight.
    stop_request = models.CharField(
        max_length=10, choices=StopRequest.choices, default=StopRequest.NONE, blank=True
    )
    error = models.TextField(blank=True)
    current_round = models.PositiveIntegerField(default=0)  # last finished round
    worker = models.CharField(max_length=200, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "status"], name="run_project_status"),
            models.Index(fields=["status", "heartbeat_at"], name="run_status_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED,
                               RunStatus.WAITING)


class Round(models.Model):
    """One finished iteration of the round loop (index 0 is the initial evaluation)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="round_set")
    index = models.PositiveIntegerField()
    metrics = models.JSONField(default=dict, blank=True)
    plan = models.JSONField(default=dict, blank=True)  # DataPlan.to_dict()
    curriculum_state = models.JSONField(default=dict, blank=True)  # Strategy.state()
    checkpoint_path = models.CharField(max_length=1000, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="round_unique_run_index"),
        ]

    def __str__(self) -> str:
        return f"{self.run.name} round {self.index}"


class SkillStat(models.Model):
    """One row of a round's Missing-Skill-Profile."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="skill_stats")
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="skill_stats")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="stats")
    evaluated = models.PositiveIntegerField()
    failed = models.PositiveIntegerField()
    miss_rate = models.FloatField()
    miss_share = models.FloatField()
    accuracy = models.FloatField()

    class Meta:
        ordering = ["round", "skill"]
        constraints = [
            models.UniqueConstraint(fields=["round", "skill"], name="skillstat_unique_round_skill"),
        ]
        indexes = [models.Index(fields=["run", "round"], name="skillstat_run_round")]

    def __str__(self) -> str:
        return f"{self.round} {self.skill}: miss {self.miss_rate:.2f}"


class LevelStat(models.Model):
    """Difficulty progress of one level in one round."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="level_stats")
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="level_stats")
    level = models.IntegerField()
    sampling_probability = models.FloatField(default=0.0)
    success_rate = models.FloatField(default=0.0)
    strategy_score = models.FloatField(null=True, blank=True)  # Q value, UCB score, ...
    samples = models.PositiveIntegerField(default=0)  # training items drawn at this level
    evaluated = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["round", "level"]
        constraints = [
            models.UniqueConstraint(fields=["round", "level"], name="levelstat_unique_round_level"),
        ]
        indexes = [models.Index(fields=["run", "round"], name="levelstat_run_round")]

    def __str__(self) -> str:
        return f"{self.round} L{self.level}: {self.success_rate:.2f}"


class RunEvent(models.Model):
    """Live progress and the log tail of a run."""

    class Kind(models.TextChoices):
        PROGRESS = "progress", "Progress"
        LOG = "log", "Log"
        ERROR = "error", "Error"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LOG)
    round = models.PositiveIntegerField(null=True, blank=True)
    step = models.PositiveIntegerField(null=True, blank=True)
    total_steps = models.PositiveIntegerField(null=True, blank=True)
    loss = models.FloatField(null=True, blank=True)
    tokens_per_s = models.FloatField(null=True, blank=True)
    eta_s = models.FloatField(null=True, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "id"]
        indexes = [models.Index(fields=["run", "kind", "id"], name="runevent_run_kind_id")]

    def __str__(self) -> str:
        return f"{self.run_id} {self.kind} {self.message[:40]}"


class EvalFailure(models.Model):
    """One eval item the student got wrong in one round, with its answer: what a click on a
    cell of the dashboard's skills × rounds heatmap lists."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="eval_failures")
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="eval_failures")
    item_id = models.CharField(max_length=200)  # the engine's item id
    prompt = models.TextField()
    answer = models.TextField()  # the reference
    prediction = models.TextField(blank=True)  # the student's answer
    level = models.IntegerField()
    skills = models.JSONField(default=list)  # the item's skills
    blamed = models.JSONField(default=list)  # the skills the failure was attributed to
    held_out = models.BooleanField(default=False)

    class Meta:
        ordering = ["round", "id"]
        indexes = [models.Index(fields=["run", "round"], name="evalfailure_run_round")]

    def __str__(self) -> str:
        return f"{self.round} {self.item_id}"
