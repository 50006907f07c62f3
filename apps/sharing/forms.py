from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from apps.common.forms import Form
from apps.sharing.models import ShareKind


class ShareLinkForm(Form):
    """A new share link to one run or comparison (``kind`` and ``object_id`` are hidden:
    the page of the object fills them)."""

    EXPIRY_CHOICES = [("", "Never"), ("1", "1 day"), ("7", "7 days"), ("30", "30 days"),
                      ("90", "90 days")]

    kind = forms.ChoiceField(choices=ShareKind.choices, widget=forms.HiddenInput)
    object_id = forms.IntegerField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    expires_in = forms.ChoiceField(choices=EXPIRY_CHOICES, required=False, label="Expires",
                                   initial="30")
    show_prompts = forms.BooleanField(
        required=False, label="Show the teacher prompt text",
        help_text="Off: the page shows no prompt template. Teacher keys are never shown.")

    def expires_at(self):
        days = self.cleaned_data.get("expires_in")
        return timezone.now() + dt.timedelta(days=int(days)) if days else None
