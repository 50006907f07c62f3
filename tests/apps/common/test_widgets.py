"""FastSelect writes the same HTML as Django's Select, escaped the same way."""

import re

from django import forms

from apps.common.widgets import FastSelect

CHOICES = [
    ("", "---------"),
    ("1", "plain"),
    ("2", '<script>alert("x")</script>'),
    ("3\" onmouseover=\"x", "quote & ampersand"),
    ("Group <b>", [("4", "in a group"), ("5", "also")]),
]


def _normalize(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", html)).strip()


def _render(widget_class, value) -> str:
    widget = widget_class(attrs={"id": "id_skill", "required": True, "disabled": False},
                          choices=CHOICES)
    return str(widget.render("skill", value))


def test_fast_select_matches_django_select():
    for value in ("", "2", "4", None):
        assert _normalize(_render(FastSelect, value)) == _normalize(_render(forms.Select, value))


def test_fast_select_escapes_labels_values_and_groups():
    html = _render(FastSelect, "2")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert 'value="3&quot; onmouseover=&quot;x"' in html
    assert 'label="Group &lt;b&gt;"' in html
    assert "quote &amp; ampersand" in html
    assert '<option value="2" selected>' in html
