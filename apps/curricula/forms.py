"""Curriculum forms. The parameter form is generated from the strategy's schema, so a new
strategy in the engine gets its form without any change here."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from apps.common.forms import Form
from apps.common.forms import add_service_errors as put_errors

PARAMS_PREFIX = "params"


class CurriculumForm(Form):
    name = forms.CharField(max_length=100)
    strategy = forms.ChoiceField(choices=())
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def __init__(self, *args, strategies: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["strategy"].choices = [(name, name) for name, _ in strategies]
        self.descriptions = dict(strategies)


def _field_for(param: dict) -> forms.Field:
    """One form field for one schema entry. Ranges travel to the browser as hints only:
    the engine's ``validate_params`` is the one judge, so its messages are the ones shown."""
    common = {"required": False, "help_text": param.get("help", ""), "label": param["name"]}
    attrs: dict = {}
    for bound in ("min", "max"):
        if param.get(bound) is not None:
            attrs[bound] = param[bound]
    kind = param["kind"]
    if kind == "int":
        return forms.IntegerField(widget=forms.NumberInput(attrs=attrs), **common)
    if kind == "float":
        attrs["step"] = "any"
        return forms.FloatField(widget=forms.NumberInput(attrs=attrs), **common)
    if kind == "bool":
        return forms.BooleanField(**common)
    if kind == "choice":
        return forms.ChoiceField(choices=[(c, c) for c in param.get("choices", [])], **common)
    raise ValueError(f"parameter {param['name']!r}: unknown kind {kind!r}")


class StrategyParamsForm(Form):
    """The parameters of one strategy, built from ``strategy_schema``."""

    def __init__(self, *args, schema: list[dict], **kwargs):
        kwargs.setdefault("prefix", PARAMS_PREFIX)
        super().__init__(*args, **kwargs)
        self.schema = schema
        for param in schema:
            field = _field_for(param)
            field.initial = param.get("default")
            self.fields[param["name"]] = field

    def params(self) -> dict:
        """The cleaned values as the raw input of ``curriculum_params_clean``: empty
        number fields are left out, so the strategy's default fills them."""
        return {k: v for k, v in self.cleaned_data.items() if v is not None and v != ""}


def add_service_errors(form: forms.Form, params_form: StrategyParamsForm | None,
                       exc: ValidationError) -> None:
    """Put a service's ValidationError on the right fields: ``params.<name>`` on the
    parameter form, anything else on the main form (or as a non-field error)."""
    if params_form is None or not hasattr(exc, "error_dict"):
        put_errors(form, exc, name_unplaced=True)
        return
    params, rest = {}, {}
    for key, messages in exc.message_dict.items():
        if key.startswith(f"{PARAMS_PREFIX}."):
            params[key.split(".", 1)[1]] = messages
        else:
            rest[key] = messages
    put_errors(params_form, ValidationError(params), name_unplaced=True)
    put_errors(form, ValidationError(rest), name_unplaced=True)
