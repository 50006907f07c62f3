"""A service's ValidationError lands on the form field it names."""

from django import forms
from django.core.exceptions import ValidationError

from apps.common.forms import add_service_errors


class NameForm(forms.Form):
    name = forms.CharField()
    size = forms.IntegerField()


def _form():
    form = NameForm({"name": "x", "size": "1"})
    assert form.is_valid()
    return form


def test_keys_land_on_their_fields_and_the_rest_on_the_form():
    form = _form()
    add_service_errors(form, ValidationError({"name": "taken", "team": "not yours"}))
    assert form.errors["name"] == ["taken"]
    assert form.non_field_errors() == ["not yours"]


def test_unplaced_keys_can_be_named_and_keys_mapped():
    form = _form()
    add_service_errors(form, ValidationError({"spec.size": "too big", "lora": "no"}),
                       field_for=lambda key: "size" if key.startswith("spec.") else None,
                       name_unplaced=True)
    assert form.errors["size"] == ["too big"]
    assert form.non_field_errors() == ["lora: no"]


def test_an_error_without_keys_is_a_non_field_error():
    form = _form()
    add_service_errors(form, ValidationError(["first", "second"]))
    assert form.non_field_errors() == ["first", "second"]
