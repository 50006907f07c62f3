"""Curriculum strategies (the engine's catalog) and the project's curricula."""

from ninja import Router, Status

from apps.api.routers.common import READ_ERRORS, WRITE_ERRORS, caller, project_for
from apps.api.schemas import CurriculumIn, CurriculumOut, Id, StrategyOut
from apps.curricula.selectors import curriculum_list_for_project, strategy_choices, strategy_schema
from apps.curricula.services import curriculum_create

router = Router(tags=["curricula"])


@router.get("/strategies", response={200: list[StrategyOut], **READ_ERRORS},
            summary="Curriculum strategies with their parameter schemas")
def strategy_list(request):
    return [{"name": name, "description": description,
             "params": strategy_schema(strategy=name)}
            for name, description in strategy_choices()]


@router.get("/projects/{project_id}/curricula",
            response={200: list[CurriculumOut], **READ_ERRORS})
def curriculum_list(request, project_id: Id):
    return list(curriculum_list_for_project(project=project_for(request, project_id)))


@router.post("/projects/{project_id}/curricula", response={201: CurriculumOut, **WRITE_ERRORS},
             summary="Add a curriculum; its params are checked against the strategy's schema "
                     "(errors name params.<name>)")
def curriculum_new(request, project_id: Id, payload: CurriculumIn):
    project = project_for(request, project_id, write=True)
    curriculum = curriculum_create(user=caller(request), project=project, name=payload.name,
                                   strategy=payload.strategy, params=payload.params,
                                   description=payload.description)
    return Status(201, curriculum)
