import pytest
from django.urls import reverse

from apps.curricula.models import Curriculum
from tests.factories import CurriculumFactory


@pytest.fixture
def stat_sel(project_a):
    return CurriculumFactory(project=project_a, name="targeted", strategy="stat_sel",
                             params={"k": 5, "uniform_floor": 0.1})


def _post_new(client, project, **fields):
    data = {"name": "new one", "strategy": "stat_sel", "description": "",
            "params-k": "3", "params-uniform_floor": "0.2"}
    data.update(fields)
    return client.post(reverse("curricula:curriculum-new", args=[project.pk]), data)


def test_pages_need_login(client, project_a, stat_sel):
    for url in (reverse("curricula:curriculum-list", args=[project_a.pk]),
                reverse("curricula:curriculum-new", args=[project_a.pk]),
                reverse("curricula:curriculum-detail", args=[stat_sel.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_viewer_reads_list_and_detail_without_edit_controls(client_for, viewer, stat_sel):
    client = client_for(viewer)
    html = client.get(
        reverse("curricula:curriculum-list", args=[stat_sel.project_id])).content.decode()
    assert "targeted" in html and "k=5" in html
    assert reverse("curricula:curriculum-new", args=[stat_sel.project_id]) not in html
    response = client.get(reverse("curricula:curriculum-detail", args=[stat_sel.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<fieldset disabled>" in html and ">Save</button>" not in html
    assert response.context["params_form"]["k"].value() == 5


def test_viewer_cannot_create_or_change(client_for, viewer, project_a, stat_sel):
    client = client_for(viewer)
    assert _post_new(client, project_a).status_code == 403
    response = client.post(reverse("curricula:curriculum-detail", args=[stat_sel.pk]), {
        "name": "renamed", "strategy": "stat_sel", "params-k": "9",
    })
    assert response.status_code == 403
    stat_sel.refresh_from_db()
    assert stat_sel.name == "targeted" and stat_sel.params["k"] == 5
    assert not Curriculum.objects.filter(name="new one").exists()


def test_stranger_gets_404_everywhere(client_for, stranger, project_a, stat_sel):
    client = client_for(stranger)
    for url in (reverse("curricula:curriculum-list", args=[project_a.pk]),
                reverse("curricula:curriculum-new", args=[project_a.pk]),
                reverse("curricula:curriculum-params", args=[project_a.pk]) + "?strategy=sec",
                reverse("curricula:curriculum-detail", args=[stat_sel.pk])):
        assert client.get(url).status_code == 404, url
    assert _post_new(client, project_a).status_code == 404
    response = client.post(reverse("curricula:curriculum-detail", args=[stat_sel.pk]),
                           {"name": "x", "strategy": "uniform"})
    assert response.status_code == 404
    assert Curriculum.objects.count() == 1


def test_new_form_defaults_to_uniform_and_lists_every_strategy(client_for, editor, project_a):
    response = client_for(editor).get(reverse("curricula:curriculum-new", args=[project_a.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    for name in ("uniform", "easy_to_hard", "stat_sel", "stat_syn", "sec", "dump", "mastery"):
        assert f'<option value="{name}"' in html
    assert f'hx-get="{reverse("curricula:curriculum-params", args=[project_a.pk])}"' in html
    assert "This strategy has no parameters." in html


def test_params_partial_renders_schema_with_defaults_and_help(client_for, viewer, project_a):
    url = reverse("curricula:curriculum-params", args=[project_a.pk])
    html = client_for(viewer).get(url, {"strategy": "sec"}).content.decode()
    assert "<html" not in html and 'id="params"' in html
    assert 'name="params-tau"' in html and 'value="0.1"' in html
    assert 'name="params-alpha"' in html and 'min="0' in html
    assert '<select name="params-sampling"' in html
    assert "(default 0.5)" in html  # alpha's default next to its help text
    html = client_for(viewer).get(url, {"strategy": "no_such"}).content.decode()
    assert "This strategy has no parameters." in html  # unknown: back to uniform


def test_create_with_changed_parameter(client_for, editor, project_a):
    response = _post_new(client_for(editor), project_a)
    curriculum = Curriculum.objects.get(name="new one")
    assert response.status_code == 302
    assert response.url == reverse("curricula:curriculum-detail", args=[curriculum.pk])
    assert curriculum.strategy == "stat_sel"
    assert curriculum.params == {"k": 3, "uniform_floor": 0.2}


def test_empty_parameter_takes_the_default(client_for, editor, project_a):
    _post_new(client_for(editor), project_a, **{"params-k": ""})
    assert Curriculum.objects.get(name="new one").params == {"k": 5, "uniform_floor": 0.2}


@pytest.mark.parametrize(("field", "value", "message"), [
    ("params-k", "0", "must be at least 1"),
    ("params-uniform_floor", "1.5", "must be at most 1.0"),
    ("params-k", "two", "Enter a whole number."),
])
def test_invalid_parameter_is_shown_on_its_field_and_nothing_saved(
    client_for, editor, project_a, field, value, message
):
    response = _post_new(client_for(editor), project_a, **{field: value})
    assert response.status_code == 400
    name = field.split("-", 1)[1]
    assert message in str(response.context["params_form"].errors[name])
    html = response.content.decode()
    # The message sits inside the field's own block, before the next parameter.
    block = html.split(f'id="param-{name}"', 1)[1].split('id="param-', 1)[0]
    assert message in block.replace("&#x27;", "'")
    assert not Curriculum.objects.filter(name="new one").exists()


def test_duplicate_name_is_shown_on_the_name_field(client_for, editor, project_a, stat_sel):
    response = _post_new(client_for(editor), project_a, name="targeted")
    assert response.status_code == 400
    assert "already has a curriculum" in str(response.context["form"].errors["name"])
    assert Curriculum.objects.count() == 1


def test_edit_changes_parameters_and_strategy(client_for, owner, stat_sel):
    client = client_for(owner)
    url = reverse("curricula:curriculum-detail", args=[stat_sel.pk])
    response = client.post(url, {"name": "targeted", "strategy": "stat_sel",
                                 "params-k": "8", "params-uniform_floor": "0.1"})
    assert response.status_code == 302
    stat_sel.refresh_from_db()
    assert stat_sel.params == {"k": 8, "uniform_floor": 0.1}
    client.post(url, {"name": "bandit", "strategy": "sec", "params-tau": "0.5",
                      "params-alpha": "0.5", "params-sampling": "multinomial"})
    stat_sel.refresh_from_db()
    assert stat_sel.strategy == "sec" and stat_sel.params["tau"] == 0.5


def test_invalid_edit_changes_nothing(client_for, owner, stat_sel):
    url = reverse("curricula:curriculum-detail", args=[stat_sel.pk])
    response = client_for(owner).post(url, {"name": "renamed", "strategy": "stat_sel",
                                            "params-k": "-1"})
    assert response.status_code == 400
    assert "must be at least 1" in response.content.decode()
    stat_sel.refresh_from_db()
    assert stat_sel.name == "targeted" and stat_sel.params["k"] == 5


def test_list_query_count_is_bounded(client_for, viewer, project_a, django_assert_max_num_queries):
    CurriculumFactory.create_batch(30, project=project_a)
    client = client_for(viewer)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("curricula:curriculum-list", args=[project_a.pk]))
        assert response.status_code == 200
