"""A JSONL upload whose train rows repeat eval or held-out rows is refused with the count and
examples, unless the person ticks the box that drops those train rows."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.projects import creation
from apps.projects.models import Example, Project
from tests.apps.projects.test_project_views import jsonl, preview


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def _row(i, prompt, split=None):
    row = {"id": f"r{i}", "prompt": prompt, "answer": "4", "skills": ["add"], "level": 1}
    if split:
        row["split"] = split
    return row


# Seven train rows repeat the eval row's prompt (spacing aside), one the held-out row's.
LEAKY = jsonl(
    _row(0, "2+2=", "eval"), _row(1, "What is two plus two?", "held_out"),
    *[_row(10 + i, "2 + 2 =" if i % 2 else " 2+2=", "train") for i in range(7)],
    _row(20, "What is  two plus two?", "train"),
    _row(21, "3+1=", "train"),
)


def _confirm(client, team, token, **extra):
    return client.post(reverse("projects:jsonl-confirm"), {
        "team": team.pk, "name": "Leaky", "description": "", "token": token,
        "answer_mode": "exact", "eval_share": "0", **extra})


def test_preview_shows_the_count_five_examples_and_the_drop_box(client_for, owner, team_a,
                                                                data_dir):
    response = preview(client_for(owner), team_a, LEAKY)
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["duplicates"] == 8
    assert "8 train rows repeat the prompt of an eval or held-out row" in html
    assert all(f"line {n}:" in html for n in (3, 4, 5, 6, 7))  # the first five
    assert "line 8:" not in html
    assert "drop the 8 train rows that duplicate eval rows" in html
    assert 'name="drop_eval_duplicates"' in html


def test_confirm_without_the_box_is_refused_with_the_count(client_for, owner, team_a, data_dir):
    client = client_for(owner)
    token = preview(client, team_a, LEAKY).context["confirm"].initial["token"]
    response = _confirm(client, team_a, token)
    assert response.status_code == 400
    html = response.content.decode()
    assert "8 train rows repeat the prompt" in html
    assert not Project.objects.exists() and not Example.objects.exists()


def test_confirm_with_the_box_drops_the_duplicating_train_rows(client_for, owner, team_a,
                                                               data_dir):
    client = client_for(owner)
    token = preview(client, team_a, LEAKY).context["confirm"].initial["token"]
    response = _confirm(client, team_a, token, drop_eval_duplicates="on")
    assert response.status_code == 302
    project = Project.objects.get(name="Leaky")
    splits = dict(Example.objects.filter(project=project).values_list("key", "split"))
    assert splits == {"r0": "eval", "r1": "held_out", "r21": "train"}


def test_the_service_refuses_with_five_examples_and_drops_on_request(owner, team_a, data_dir):
    with pytest.raises(ValidationError) as err:
        creation.project_create_from_jsonl(user=owner, team=team_a, name="L", text=LEAKY,
                                           eval_share=0.0)
    message = err.value.message_dict["file"][0]
    assert message.startswith("8 train rows repeat")
    assert message.count("line ") == 5
    project = creation.project_create_from_jsonl(user=owner, team=team_a, name="L", text=LEAKY,
                                                 eval_share=0.0, drop_eval_duplicates=True)
    assert Example.objects.filter(project=project, split="train").count() == 1


def test_rows_without_a_split_that_share_a_prompt_land_in_the_same_split(owner, team_a,
                                                                         data_dir):
    rows = [{"id": f"x{i}", "prompt": f"{i % 40} + 1 =" if i % 3 else f"{i % 40}+1=",
             "answer": str(i % 40 + 1), "skills": ["add"], "level": 1} for i in range(160)]
    project = creation.project_create_from_jsonl(
        user=owner, team=team_a, name="Auto", text="\n".join(json.dumps(r) for r in rows),
        eval_share=0.3)
    by_prompt: dict[str, set[str]] = {}
    for prompt, split in Example.objects.filter(project=project).values_list("prompt", "split"):
        by_prompt.setdefault(prompt.replace(" ", ""), set()).add(split)
    assert all(len(splits) == 1 for splits in by_prompt.values())
    assert {s for splits in by_prompt.values() for s in splits} == {"train", "eval"}


def test_a_family_project_larger_than_its_problem_space_names_train_size(client_for, owner,
                                                                         team_a):
    response = client_for(owner).post(reverse("projects:project-new"), {
        "task_family": "arithmetic", "train_size": 150, "eval_size": 10, "seed": 1,
        "team": team_a.pk, "name": "Tiny", "task_options": '{"levels": [1], "ops": ["add"]}'})
    assert response.status_code == 400
    assert "100 distinct problems" in response.context["family_form"].errors["train_size"][0]
    assert not Project.objects.filter(name="Tiny").exists()
