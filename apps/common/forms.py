"""A service's ValidationError put back on the form that sent the input."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError


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
