import pytest
from django.core.exceptions import ValidationError

from apps.curricula.forms import CurriculumForm, StrategyParamsForm, add_service_errors

SCHEMA = [
    {"name": "k", "kind": "int", "default": 5, "help": "items", "min": 1, "max": 10,
     "choices": []},
    {"name": "tau", "kind": "float", "default": 0.5, "help": "temperature", "min": 0.0,
     "max": None, "choices": []},
    {"name": "greedy", "kind": "bool", "default": True, "help": "argmax", "min": None,
     "max": None, "choices": []},
    {"name": "pacing", "kind": "choice", "default": "step", "help": "how",
     "min": None, "max": None, "choices": ["linear", "step"]},
]


def test_fields_follow_the_schema():
    form = StrategyParamsForm(schema=SCHEMA)
    assert list(form.fields) == ["k", "tau", "greedy", "pacing"]
    assert form["k"].value() == 5 and form["pacing"].value() == "step"
    html = str(form["k"])
    assert 'name="params-k"' in html and 'min="1"' in html and 'max="10"' in html
    assert 'step="any"' in str(form["tau"]) and 'type="checkbox"' in str(form["greedy"])
    assert form.fields["tau"].help_text == "temperature"


def test_params_leave_empty_numbers_to_the_default():
    form = StrategyParamsForm({"params-k": "", "params-tau": "0.25", "params-pacing": "linear"},
                              schema=SCHEMA)
    assert form.is_valid()
    # An unchecked box is an explicit False; an empty number is left out.
    assert form.params() == {"tau": 0.25, "greedy": False, "pacing": "linear"}


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kind 'text'"):
        StrategyParamsForm(schema=[{**SCHEMA[0], "kind": "text"}])


def test_service_errors_land_on_their_fields():
    form = CurriculumForm({"name": "x", "strategy": "sec"}, strategies=[("sec", "bandit")])
    params = StrategyParamsForm({}, schema=SCHEMA)
    assert form.is_valid() and params.is_valid()
    add_service_errors(form, params, ValidationError({
        "params.k": "must be at least 1", "params.other": "unknown parameter",
        "name": "taken", "strategy": "unknown strategy",
    }))
    assert params.errors["k"] == ["must be at least 1"]
    assert params.non_field_errors() == ["other: unknown parameter"]
    assert form.errors["name"] == ["taken"] and form.errors["strategy"] == ["unknown strategy"]
