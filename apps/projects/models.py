from django.conf import settings
from django.db import models

from apps.accounts.models import Team

MAX_SKILLS_PER_EXAMPLE = 5


class Project(models.Model):
    """One task domain inside a team, with its dataset, skills and settings."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # A task family of the engine (workers.engine.tasks): arithmetic, jsonl, reasoning_gym.
    task_family = models.CharField(max_length=50, default="arithmetic")
    task_options = models.JSONField(default=dict, blank=True)
    # Teacher-synthesized examples wait as "pending" until a person approves them.
    require_review = models.BooleanField(default=True)
    # With review required, a round whose synthesized items are still pending goes on at
    # once with the approved ones instead of waiting for the reviewers.
    approved_only = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="project_unique_team_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Skill(models.Model):
    class Origin(models.TextChoices):
        MANUAL = "manual", "Manual"
        TEACHER = "teacher", "Teacher-extracted"
        BUILTIN = "builtin", "Built into the task family"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="skills")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="skill_unique_project_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Example(models.Model):
    """One training or evaluation item, with its skills, difficulty level and lineage."""

    class Split(models.TextChoices):
        TRAIN = "train", "Train"
        EVAL = "eval", "Eval"
        HELD_OUT = "held_out", "Held-out"

    class Origin(models.TextChoices):
        SEED = "seed", "Seed"
        IMPORTED = "imported", "Imported"
        SELECTED = "selected", "Selected"
        SYNTHESIZED = "synthesized", "Synthesized"

    class ReviewStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    # Not indexed alone: the composite indexes below start with the project.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="examples",
                                db_index=False)
    # The item id from its source (task family, JSONL file, teacher); unique per project
    # when set, so imports and seeding can be repeated without duplicates.
    key = models.CharField(max_length=200, blank=True)
    prompt = models.TextField()
    answer = models.TextField()
    skills = models.ManyToManyField(Skill, through="ExampleSkill", related_name="examples")
    level = models.IntegerField()
    split = models.CharField(max_length=10, choices=Split.choices, default=Split.TRAIN)
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.SEED)
    review_status = models.CharField(
        max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.APPROVED
    )
    meta = models.JSONField(default=dict, blank=True)
    # Lineage of teacher-made examples. These and ``reviewed_by`` are indexed only where set
    # (Meta.indexes): most rows (seed and imported items) have none, and an import then
    # writes no index entry for them.
    prompt_version = models.ForeignKey(
        "prompts.TeacherPromptVersion", null=True, blank=True, on_delete=models.PROTECT,
        related_name="examples", db_index=False,
    )
    teacher_kind = models.CharField(max_length=20, blank=True)
    round = models.ForeignKey(
        "runs.Round", null=True, blank=True, on_delete=models.SET_NULL, related_name="examples",
        db_index=False,
    )
    triggering_example = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="triggered",
        db_index=False,
    )
    teacher_raw = models.TextField(blank=True)
    # When the item joined the project's dataset (None: not in it). Seed and imported items
    # join when they are created; a synthesized item belongs to the run that made it until
    # a person adds it. A run's pool is the dataset as it was at launch.
    added_at = models.DateTimeField(null=True, blank=True)
    # Review: ``version`` grows with every change, so a second reviewer's stale decision is
    # refused; ``suggestion`` keeps the teacher's prompt, answer, skills and level when a
    # person edited them (the person's version is the item itself).
    version = models.PositiveIntegerField(default=1)
    suggestion = models.JSONField(default=dict, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_index=False,
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "id"]
        indexes = [
            models.Index(
                fields=["project", "review_status", "level"], name="example_proj_review_level"
            ),
            models.Index(fields=["project", "split", "level"], name="example_proj_split_level"),
            *(models.Index(fields=[name], condition=models.Q(**{f"{name}__isnull": False}),
                           name=f"example_{name}_set")
              for name in ("prompt_version", "round", "triggering_example", "reviewed_by")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "key"], condition=~models.Q(key=""),
                name="example_unique_project_key",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} L{self.level} {self.prompt[:40]}"


class ExampleSkill(models.Model):
    """The Skill-Map: which examples require which skill."""

    # Not indexed alone: the unique constraint (example, skill) and the index (skill,
    # example) serve both lookups.
    example = models.ForeignKey(Example, on_delete=models.CASCADE, related_name="skill_links",
                                db_index=False)
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="example_links",
                              db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["example", "skill"], name="exampleskill_unique"),
        ]
        indexes = [models.Index(fields=["skill", "example"], name="exampleskill_skill_example")]

    def __str__(self) -> str:
        return f"{self.skill} <- {self.example_id}"


class SkillExtraction(models.Model):
    """One "extract skills with the teacher" job: the teacher reads sample items of the
    project and proposes skills, which people then accept or reject one by one."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="skill_extractions"
    )
    teacher_config = models.ForeignKey(
        "prompts.TeacherConfig", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    prompt_version = models.ForeignKey(
        "prompts.TeacherPromptVersion", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    sample_size = models.PositiveSmallIntegerField(default=20)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    message = models.TextField(blank=True)
    error = models.TextField(blank=True)
    # The teacher's text as it came back, kept with the proposals it was parsed into.
    raw = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "-created_at"]

    def __str__(self) -> str:
        return f"skill extraction #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class SkillProposal(models.Model):
    """A skill the teacher proposed; accepting it creates a teacher-extracted skill."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    extraction = models.ForeignKey(
        SkillExtraction, on_delete=models.CASCADE, related_name="proposals"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="skill_proposals")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    raw = models.TextField(blank=True)
    skill = models.ForeignKey(
        Skill, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["extraction", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class ImportJob(models.Model):
    """A large file imported by the default queue's worker (``apps/projects/imports.py``)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    token = models.CharField(max_length=32)  # the stored upload
    kind = models.CharField(max_length=5, default="jsonl")
    format = models.CharField(max_length=10, default="auto")
    default_skill = models.CharField(max_length=100, default="general")
    default_level = models.IntegerField(default=1)
    class Phase(models.TextChoices):
        ROWS = "rows", "Importing rows"
        LINKS = "links", "Linking rows to their skills"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Step 1 writes the rows, step 2 their skill links (about a third of a large import).
    phase = models.CharField(max_length=5, choices=Phase.choices, default=Phase.ROWS)
    total_rows = models.PositiveIntegerField(default=0)  # counted by the check
    done_rows = models.PositiveIntegerField(default=0)
    skipped_rows = models.PositiveIntegerField(default=0)
    total_links = models.PositiveIntegerField(default=0)  # known once step 1 is done
    done_links = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import #{self.pk} ({self.status})"
