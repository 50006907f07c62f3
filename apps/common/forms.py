"""Form building blocks: a service's ValidationError put back on the form that sent the
input, the base form that refuses NUL characters, a field's length taken from its column, a
JSON field that refuses deep nesting."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator

from apps.common.safejson import JSONInputError, json_loads_safe


def add_service_errors(form: forms.Form, exc: ValidationError, *,
                       field_for: Callable[[str], str | None] | None = None,
                       name_unplaced: bool = False) -> None:
    """Show ``exc`` on ``form``: each key of its message dict on the field ``field_for(key)``
    names (by default the key itself, when the form has such a field). A key with no field
    becomes a non-field error; with ``name_unplaced`` its messages are prefixed with the key
    (``"key: message"``). An error without a message dict is a non-field error."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, messages in exc.message_dict.items():
        field = field_for(key) if field_for is not None else (key if key in form.fields else None)
        if field:
            form.add_error(field, messages)
        elif name_unplaced:
            form.add_error(None, [f"{key}: {m}" for m in messages])
        else:
            form.add_error(None, messages)


# --- input every form refuses -------------------------------------------------------------

def column_max_length(model, name: str) -> int:
    """The ``max_length`` of the CharField column ``name`` of ``model``, for the form field
    that fills it (so the two cannot drift apart)."""
    return model._meta.get_field(name).max_length


class NoNulMixin:
    """Every field of the form refuses NUL characters (PostgreSQL stores none in text).

    Django's CharField already has the validator; the mixin adds it to every other field
    too (choice, hidden, number, and the fields a form adds in its ``__init__``: it does so
    when the form is cleaned), so no text from the request reaches a query or a column with
    a NUL in it. Model choices are left out: their value is a row (a NUL in the submitted
    key is already "not one of the choices").
    """

    def full_clean(self):
        for field in self.fields.values():  # each form holds its own copies of its fields
            if isinstance(field, forms.ModelChoiceField) or any(
                    isinstance(v, ProhibitNullCharactersValidator) for v in field.validators):
                continue
            field.validators.append(ProhibitNullCharactersValidator())
        super().full_clean()


class Form(NoNulMixin, forms.Form):
    """The base of the apps' forms: a Django form with :class:`NoNulMixin`."""


class SafeJSONField(forms.JSONField):
    """Django's JSONField, with the JSON read by :func:`json_loads_safe`: deep nesting, NaN,
    Infinity and NUL characters are form errors, not server errors or database errors.

    For a column that holds no NULL, give ``empty`` (what an empty input means: a value, or
    a callable that makes one, such as the column's default) and ``allow_null=False`` (JSON
    ``null`` is refused): an optional ``JSONField(default=dict, blank=True)`` would otherwise
    get None, which Django's model validation lets through and the database refuses.
    """

    def __init__(self, *args, empty=None, allow_null: bool = True, **kwargs):
        self.empty = empty
        self.allow_null = allow_null
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if not self.disabled and value in self.empty_values:
            return self.empty() if callable(self.empty) else self.empty
        converted = self._read(value)
        if converted is None and not self.allow_null and not self.disabled:
            raise ValidationError("null is not allowed here", code="invalid")
        return converted

    def _read(self, value):
        if (self.disabled or not isinstance(value, str)
                or isinstance(value, forms.fields.JSONString)):
            return super().to_python(value)
        try:
            converted = json_loads_safe(value)
        except JSONInputError as exc:
            raise ValidationError(str(exc), code="invalid") from None
        return forms.fields.JSONString(converted) if isinstance(converted, str) else converted

    def bound_data(self, data, initial):
        if self.disabled:
            return initial
        if data is None:
            return None
        try:
            return json_loads_safe(data)
        except JSONInputError:
            return forms.fields.InvalidJSONInput(data)
