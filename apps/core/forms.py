from django import forms

from apps.projects.models import Skill


class ProjectForm(forms.Form):
    team = forms.IntegerField(widget=forms.HiddenInput)
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class SkillForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False)
    parent = forms.ModelChoiceField(queryset=Skill.objects.none(), required=False)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Skill.objects.filter(project=project)
