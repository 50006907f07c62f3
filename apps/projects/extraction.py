"""Skill extraction with the teacher: start a job, record its proposals, accept or reject.

The teacher call itself runs on the default Celery queue (``workers.tasks.teachers``); the
task is sent by name, so the web process never imports the worker code.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Role
from apps.accounts.permissions import require_role
from apps.common.tasks import enqueue
from apps.projects.models import Example, Project, Skill, SkillExtraction, SkillProposal
from apps.projects.services import skill_create
from apps.prompts.models import TeacherConfig
from apps.prompts.selectors import prompt_versions_current
from workers.queues import TaskName

MAX_SAMPLE = 50


def enqueue_skill_extraction(extraction_id: int) -> None:
    enqueue(TaskName.SKILL_EXTRACT, extraction_id)


@transaction.atomic
def skill_extraction_start(
    *, user, project: Project, teacher_config: TeacherConfig, sample_size: int = 20
) -> SkillExtraction:
    """A queued extraction job; the task is sent once the transaction commits."""
    require_role(user, project.team, Role.EDITOR)
    if teacher_config.project_id != project.pk:
        raise ValidationError({"teacher": f"teacher {teacher_config.name!r} belongs to "
                                          "another project"})
    if not 1 <= sample_size <= MAX_SAMPLE:
        raise ValidationError({"sample_size": f"must be between 1 and {MAX_SAMPLE}"})
    if not Example.objects.filter(project=project).exists():
        raise ValidationError("the project has no examples yet to show the teacher")
    extraction = SkillExtraction.objects.create(
        project=project, teacher_config=teacher_config, sample_size=sample_size,
        prompt_version=prompt_versions_current(project=project).get("extract_skills"),
        created_by=user,
    )
    transaction.on_commit(lambda: enqueue_skill_extraction(extraction.pk))
    return extraction


def skill_extraction_claim(*, extraction_id: int) -> bool:
    """``queued -> running`` only if still queued, so a redelivered message does nothing."""
    return bool(
        SkillExtraction.objects.filter(pk=extraction_id, status=SkillExtraction.Status.QUEUED)
        .update(status=SkillExtraction.Status.RUNNING)
    )


@transaction.atomic
def skill_extraction_finish(
    *, extraction: SkillExtraction, proposals: list[tuple[str, str]], raw: str
) -> list[SkillProposal]:
    """Record the teacher's proposals; names the project already has are left out."""
    known = {
        n.lower() for n in Skill.objects.filter(project=extraction.project_id)
        .values_list("name", flat=True)
    }
    rows, skipped = [], []
    for name, description in proposals:
        name = name.strip()[:100]
        if name.lower() in known:
            skipped.append(name)
            continue
        known.add(name.lower())
        rows.append(SkillProposal(extraction=extraction, project_id=extraction.project_id,
                                  name=name, description=description.strip(), raw=raw))
    created = SkillProposal.objects.bulk_create(rows)
    message = f"The teacher proposed {len(proposals)} skills."
    if skipped:
        message += f" Already in the project, left out: {', '.join(skipped)}."
    extraction.status = SkillExtraction.Status.DONE
    extraction.message = message
    extraction.raw = raw
    extraction.finished_at = timezone.now()
    extraction.save(update_fields=["status", "message", "raw", "finished_at"])
    return created


def skill_extraction_fail(*, extraction: SkillExtraction, error: str, raw: str = "") -> None:
    extraction.status = SkillExtraction.Status.FAILED
    extraction.error = error
    extraction.raw = raw
    extraction.finished_at = timezone.now()
    extraction.save(update_fields=["status", "error", "raw", "finished_at"])


def _check_pending(proposal: SkillProposal) -> None:
    if proposal.status != SkillProposal.Status.PENDING:
        raise ValidationError(f"proposal {proposal.name!r} was {proposal.status} already")


@transaction.atomic
def skill_proposal_accept(*, user, proposal: SkillProposal) -> Skill:
    """Create the proposed skill (origin: teacher-extracted)."""
    require_role(user, proposal.project.team, Role.EDITOR)
    _check_pending(proposal)
    skill = skill_create(user=user, project=proposal.project, name=proposal.name,
                         description=proposal.description, origin=Skill.Origin.TEACHER)
    proposal.status = SkillProposal.Status.ACCEPTED
    proposal.skill = skill
    proposal.save(update_fields=["status", "skill"])
    return skill


@transaction.atomic
def skill_proposal_reject(*, user, proposal: SkillProposal) -> SkillProposal:
    require_role(user, proposal.project.team, Role.EDITOR)
    _check_pending(proposal)
    proposal.status = SkillProposal.Status.REJECTED
    proposal.save(update_fields=["status"])
    return proposal
