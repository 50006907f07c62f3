"""Teacher jobs on the default queue (no route sends them elsewhere): skill extraction.

Tasks take ids, claim their job with a conditional update (a redelivered message finds it
claimed and returns), call the teacher and record the result or the failure.
"""

from __future__ import annotations

import logging
import random

from config.celery import app

logger = logging.getLogger(__name__)


def _sample_items(extraction):
    from apps.projects.models import Example
    from apps.prompts.selectors import example_item

    ids = list(Example.objects.filter(
        project=extraction.project_id, review_status=Example.ReviewStatus.APPROVED,
    ).values_list("pk", flat=True))
    rng = random.Random(extraction.pk)
    chosen = rng.sample(ids, min(extraction.sample_size, len(ids)))
    examples = Example.objects.filter(pk__in=chosen).prefetch_related("skills").order_by("id")
    return [example_item(e) for e in examples]


@app.task(name="workers.teacher_tasks.skill_extract", acks_late=True,
          soft_time_limit=600, time_limit=660)
def skill_extract(extraction_id: int) -> str:
    """Ask the teacher for the skills behind sample items of the project; store proposals."""
    from apps.projects.extraction import (
        skill_extraction_claim,
        skill_extraction_fail,
        skill_extraction_finish,
    )
    from apps.projects.models import SkillExtraction
    from apps.prompts.teacher_calls import extract_skill_proposals
    from workers.engine.errors import EngineError
    from workers.engine.teachers import build_teacher
    from workers.engine.teachers.prompts import default_template

    if not skill_extraction_claim(extraction_id=extraction_id):
        return "skipped: not queued"
    extraction = SkillExtraction.objects.select_related(
        "project", "teacher_config", "prompt_version"
    ).get(pk=extraction_id)
    if extraction.teacher_config is None:
        skill_extraction_fail(extraction=extraction, error="the teacher was deleted")
        return "failed"
    template = (extraction.prompt_version.template if extraction.prompt_version
                else default_template("extract_skills"))
    try:
        items = _sample_items(extraction)
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
