"""Form widgets that render long option lists in Python.

Django's ``Select`` renders every ``<option>`` through its own template include; a list of
100 skills then costs several milliseconds of template work per select. ``FastSelect``
writes the same HTML with ``format_html`` (names, values and labels escaped the same way).
``freeze_choices`` reads a model choice field's options once per form instead of once per
iteration (Django's model choice iterator queries on every pass: once to render, once more
to decide the ``required`` attribute).
"""

from __future__ import annotations

from django import forms
from django.utils.choices import BaseChoiceIterator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe


def _attrs(attrs: dict) -> SafeString:
    """``attrs`` as Django's ``attrs.html`` writes them: False left out, True bare."""
    return format_html_join(
        "", "{}", (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in attrs.items() if value is not False
        ),
    )


class FastSelect(forms.Select):
    """A ``<select>`` whose options are written in Python, not one template each."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"{}>', widget["name"], _attrs(widget["attrs"]))]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('\n  <optgroup label="{}">', group_name))
            for option in options:
                parts.append(format_html('\n  <option value="{}"{}>{}</option>',
                                         option["value"], _attrs(option["attrs"]),
                                         option["label"]))
            if group_name:
                parts.append(mark_safe("\n  </optgroup>"))
        parts.append(mark_safe("\n</select>"))
        return mark_safe("".join(parts))


class _ReadOnce(BaseChoiceIterator):
    """The choices of ``source``, read on the first iteration and kept."""

    def __init__(self, source):
        self.source = source
        self.cache = None

    def __iter__(self):
        if self.cache is None:
            self.cache = list(iter(self.source))  # no len(): it would count in SQL
        return iter(self.cache)


def freeze_choices(form: forms.Form, *names: str) -> None:
    """Make the widgets of the model choice fields ``names`` read their options at most once
    per form (lazily: a form that is only validated reads none); validation still checks a
    submitted value against the field's queryset."""
    for name in names:
        field = form.fields[name]
        field.widget.choices = _ReadOnce(field.choices)
