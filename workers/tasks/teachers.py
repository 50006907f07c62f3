"""Teacher jobs on the default queue: skill extraction.

Tasks take ids, claim their job with a conditional update (a redelivered message finds it
claimed and returns), call the teacher and record the result or the failure.
"""

from __future__ import annotations

import logging

from celery import shared_task

from workers.queues import TaskName

logger = logging.getLogger(__name__)


@shared_task(name=TaskName.SKILL_EXTRACT, acks_late=True, soft_time_limit=600,
             time_limit=660)
def skill_extract(extraction_id: int) -> str:
    """Ask the teacher for the skills behind sample items of the project; store proposals."""
    from apps.projects.extraction import (
        skill_extraction_claim,
        skill_extraction_fail,
        skill_extraction_finish,
    )
    from apps.projects.selectors import skill_extraction_for_worker, skill_extraction_sample
    from apps.prompts.teacher_calls import extract_skill_proposals
    from workers.engine.api import EngineError, build_teacher, default_template

    if not skill_extraction_claim(extraction_id=extraction_id):
        return "skipped: not queued"
    extraction = skill_extraction_for_worker(extraction_id=extraction_id)
    if extraction.teacher_config is None:
        skill_extraction_fail(extraction=extraction, error="the teacher was deleted")
        return "failed"
    template = (extraction.prompt_version.template if extraction.prompt_version
                else default_template("extract_skills"))
    try:
        items = skill_extraction_sample(extraction=extraction)
        if not items:
            raise EngineError("the project has no approved examples to show the teacher")
        proposals, raw = extract_skill_proposals(
            project=extraction.project, teacher=extraction.teacher_config, template=template,
            items=items, build=build_teacher,
        )
    except EngineError as exc:
        logger.warning("skill extraction %s failed: %s", extraction_id, exc)
        skill_extraction_fail(extraction=extraction, error=str(exc),
                              raw=getattr(exc, "raw", ""))
        return "failed"
    except Exception as exc:
        # Record it so the page stops waiting, then let Celery log the traceback.
        skill_extraction_fail(extraction=extraction, error=f"{type(exc).__name__}: {exc}")
        raise
    skill_extraction_finish(extraction=extraction, proposals=proposals, raw=raw)
    return "done"
