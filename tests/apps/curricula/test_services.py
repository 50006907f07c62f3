import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from apps.curricula.selectors import curriculum_get_for_user, strategy_choices, strategy_schema
from apps.curricula.services import curriculum_create, curriculum_update
from workers.engine.curriculum import get_strategy
from workers.engine.curriculum.base import validate_params


def test_params_are_validated_and_defaults_filled(project_a, editor):
    curriculum = curriculum_create(user=editor, project=project_a, name="sel",
                                   strategy="stat_sel", params={})
    assert curriculum.params == validate_params(get_strategy("stat_sel").params, {})
    assert curriculum.params  # stat_sel has parameters (k, uniform floor, ...)


def test_form_strings_are_coerced(project_a, editor):
    schema = get_strategy("sec").params
    numeric = next(p for p in schema if p.kind == "float")
    curriculum = curriculum_create(user=editor, project=project_a, name="sec", strategy="sec",
                                   params={numeric.name: str(numeric.default)})
    assert curriculum.params[numeric.name] == float(numeric.default)


def test_unknown_strategy_and_bad_params_name_the_field(project_a, editor):
    with pytest.raises(ValidationError) as exc:
        curriculum_create(user=editor, project=project_a, name="x", strategy="magic")
    assert "strategy" in exc.value.message_dict
    assert "uniform" in exc.value.message_dict["strategy"][0]
    with pytest.raises(ValidationError) as exc:
        curriculum_create(user=editor, project=project_a, name="x", strategy="uniform",
                          params={"bogus": 1})
    assert exc.value.message_dict == {"params.bogus": ["unknown parameter"]}


def test_strategy_change_drops_old_params(project_a, editor):
    curriculum = curriculum_create(user=editor, project=project_a, name="c", strategy="stat_sel")
    curriculum_update(user=editor, curriculum=curriculum, strategy="uniform")
    curriculum.refresh_from_db()
    assert curriculum.strategy == "uniform"
    assert curriculum.params == validate_params(get_strategy("uniform").params, {})


def test_viewer_reads_stranger_404s(project_a, owner, viewer, stranger):
    curriculum = curriculum_create(user=owner, project=project_a, name="u", strategy="uniform")
    with pytest.raises(PermissionDenied):
        curriculum_create(user=viewer, project=project_a, name="v", strategy="uniform")
    with pytest.raises(PermissionDenied):
        curriculum_update(user=viewer, curriculum=curriculum, name="renamed")
    assert curriculum_get_for_user(user=viewer, pk=curriculum.pk) == curriculum
    with pytest.raises(Http404):
        curriculum_get_for_user(user=stranger, pk=curriculum.pk)


def test_every_engine_strategy_is_offered_with_its_schema():
    names = [name for name, _ in strategy_choices()]
    assert {"uniform", "stat_sel", "sec", "dump", "mastery"} <= set(names)
    for name in names:
        assert strategy_schema(strategy=name) == [p.to_dict() for p in get_strategy(name).params]


@pytest.mark.parametrize(("strategy", "params", "field", "names"), [
    ("mastery", {"promote": 0.3, "demote": 0.5}, "params.demote", ("promote", "demote")),
    ("mastery", {"promote": 0.5, "demote": 0.5}, "params.demote", ("promote", "demote")),
    ("stat_syn", {"n_agree": 4, "n_solutions": 3}, "params.n_agree", ("n_agree", "n_solutions")),
])
def test_rules_between_params_are_checked_before_saving(project_a, editor, strategy, params,
                                                        field, names):
    """A curriculum the engine would refuse at launch is refused when saved."""
    with pytest.raises(ValidationError) as exc:
        curriculum_create(user=editor, project=project_a, name="x", strategy=strategy,
                          params=params)
    [message] = exc.value.message_dict[field]
    assert all(name in message for name in names), message
    assert not project_a.curricula.exists()
