from django import forms

from apps.common.forms import Form
from apps.review.models import ReviewDecision
from apps.review.services import MAX_NOTE


class RejectForm(Form):
    reason = forms.ChoiceField(choices=ReviewDecision.Reason.choices, widget=forms.RadioSelect,
                               initial=ReviewDecision.Reason.WRONG_ANSWER)
    note = forms.CharField(max_length=MAX_NOTE, required=False,
                           widget=forms.TextInput(attrs={"placeholder": "why (optional)"}))


class EditForm(Form):
    """A person's version of the item. The service checks the content (empty answer, a
    skill the project lacks, a level out of range), so its messages are the same for every
    door; the form only reads the fields."""

    prompt = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    answer = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    skills = forms.CharField(required=False, help_text="skill names, separated by commas")
    level = forms.IntegerField(required=False)
    add_to_dataset = forms.BooleanField(required=False)

    def skill_names(self) -> list[str]:
        return [s.strip() for s in (self.cleaned_data.get("skills") or "").split(",")]


class BulkForm(Form):
    action = forms.ChoiceField(choices=[(ReviewDecision.Action.ACCEPT, "Accept"),
                                        (ReviewDecision.Action.REJECT, "Reject")])
    reason = forms.ChoiceField(choices=ReviewDecision.Reason.choices, required=False)
    note = forms.CharField(max_length=MAX_NOTE, required=False)
    add_to_dataset = forms.BooleanField(required=False)
    expected = forms.IntegerField(required=False, min_value=0)
