"""Teacher pages: backends, the write-only API key, "test connection"."""

import pytest
from django.urls import reverse

from apps.prompts.models import TeacherConfig
from tests.apps.teacher_server import FakeServer, closed_port_url, completion
from tests.factories import ExampleFactory, SkillFactory, TeacherConfigFactory

SECRET = "sk-very-secret-key-123"


def form(**fields):
    return {"name": "remote", "kind": "openai", "base_url": "", "model": "m", "api_key": "",
            "model_dir": "", "timeout_s": "5", "max_retries": "0", "concurrency": "2",
            **fields}


@pytest.fixture
def seeded(project_a):
    add = SkillFactory(project=project_a, name="add")
    ExampleFactory(project=project_a, prompt="2+3=", answer="5", skills=[add], split="eval")
    return project_a


def new_url(project):
    return reverse("prompts:teacher-new", args=[project.pk])


@pytest.mark.parametrize("who", ["owner", "editor", "viewer"])
def test_teacher_list(request, client_for, who, project_a):
    TeacherConfigFactory(project=project_a, name="the oracle")
    html = client_for(request.getfixturevalue(who)).get(
        reverse("prompts:teacher-list", args=[project_a.pk])).content.decode()
    assert "the oracle" in html
    assert ("Test connection" in html) == (who != "viewer")


def test_teacher_pages_are_404_for_a_stranger(client_for, stranger, project_a):
    teacher = TeacherConfigFactory(project=project_a)
    client = client_for(stranger)
    assert client.get(reverse("prompts:teacher-list", args=[project_a.pk])).status_code == 404
    edit = reverse("prompts:teacher-edit", args=[project_a.pk, teacher.pk])
    assert client.get(edit).status_code == 404
    assert client.post(edit, form(kind="oracle")).status_code == 404
    assert client.post(new_url(project_a), form(kind="oracle")).status_code == 404
    assert TeacherConfig.objects.count() == 1


def test_viewer_cannot_add_edit_or_test(client_for, viewer, project_a):
    teacher = TeacherConfigFactory(project=project_a, name="t")
    client = client_for(viewer)
    edit = reverse("prompts:teacher-edit", args=[project_a.pk, teacher.pk])
    assert "Save teacher" not in client.get(edit).content.decode()
    assert client.post(new_url(project_a), form(kind="oracle", name="x")).status_code == 403
    assert client.post(edit, form(kind="oracle", name="y")).status_code == 403
    assert client.post(new_url(project_a), form(kind="oracle", action="test")).status_code == 403
    assert list(TeacherConfig.objects.values_list("name", flat=True)) == ["t"]


def test_add_an_oracle_teacher(client_for, editor, project_a):
    response = client_for(editor).post(new_url(project_a), form(kind="oracle", name="oracle"))
    assert response.status_code == 302
    assert TeacherConfig.objects.get(project=project_a).kind == "oracle"


def test_missing_openai_fields_are_inline_errors(client_for, owner, project_a):
    response = client_for(owner).post(new_url(project_a), form(base_url="ftp://x", model=""))
    html = response.content.decode()
    assert response.status_code == 400
    assert "needs an http(s):// base URL" in html and "needs a model name" in html
    assert not TeacherConfig.objects.exists()


def test_unreachable_url_with_the_connection_check_saves_nothing(client_for, owner, seeded):
    response = client_for(owner).post(new_url(seeded), form(
        base_url=closed_port_url(), check_connection="on", api_key=SECRET))
    html = response.content.decode()
    assert response.status_code == 400
    assert "The connection check failed, so nothing was saved" in html
    assert "connection failed" in html
    assert SECRET not in html
    assert not TeacherConfig.objects.exists()


def test_test_connection_on_an_unreachable_url_shows_the_error(client_for, owner, seeded):
    response = client_for(owner).post(new_url(seeded), form(
        base_url=closed_port_url(), action="test"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 400
    assert html.lstrip().startswith('<div id="teacher-test"')
    assert "Connection failed" in html and "connection failed" in html
    assert not TeacherConfig.objects.exists()


def test_test_connection_makes_one_real_call_and_shows_the_answer(client_for, owner, seeded):
    answer = "2 plus 3 is five. <answer>5</answer>"
    with FakeServer([(200, completion(answer), 0)]) as server:
        response = client_for(owner).post(new_url(seeded), form(
            base_url=server.url, api_key=SECRET, action="test"), HTTP_HX_REQUEST="true")
        requests = list(server.requests)
    html = response.content.decode()
    assert response.status_code == 200
    assert len(requests) == 1
    assert requests[0]["auth"] == f"Bearer {SECRET}"
    assert "2+3=" in requests[0]["body"]["messages"][0]["content"]
    assert "2 plus 3 is five." in html and "answer: 5" in html
    assert SECRET not in html
    assert not TeacherConfig.objects.exists()


def test_save_with_a_working_connection_check(client_for, owner, seeded):
    with FakeServer([(200, completion("<answer>5</answer>"), 0)]) as server:
        response = client_for(owner).post(new_url(seeded), form(
            base_url=server.url, api_key=SECRET, check_connection="on"))
    assert response.status_code == 302
    teacher = TeacherConfig.objects.get()
    assert teacher.api_key == SECRET and teacher.timeout_s == 5


def test_the_api_key_is_never_rendered_and_blank_keeps_it(client_for, owner, viewer, project_a):
    teacher = TeacherConfigFactory(project=project_a, name="remote", kind="openai",
                                   base_url="http://127.0.0.1:9/v1", model="m", api_key=SECRET)
    edit = reverse("prompts:teacher-edit", args=[project_a.pk, teacher.pk])
    pages = [reverse("prompts:teacher-list", args=[project_a.pk]), edit,
             reverse("core:project-detail", args=[project_a.pk])]
    for user in (owner, viewer):
        client = client_for(user)
        for page in pages:
            html = client.get(page).content.decode()
            assert SECRET not in html, page
        assert "stored" in client.get(pages[0]).content.decode()
    client = client_for(owner)
    response = client.post(edit, form(base_url="http://127.0.0.1:9/v1", model="m2"))
    assert response.status_code == 302
    teacher.refresh_from_db()
    assert teacher.api_key == SECRET and teacher.model == "m2"
    response = client.post(edit, form(base_url="", model="m2"))  # invalid: shown, key kept
    assert response.status_code == 400 and SECRET not in response.content.decode()
    client.post(edit, form(base_url="http://127.0.0.1:9/v1", clear_api_key="on"))
    teacher.refresh_from_db()
    assert teacher.api_key == ""


def test_edit_test_connection_uses_the_stored_key(client_for, owner, seeded):
    with FakeServer([(200, completion("<answer>5</answer>"), 0)]) as server:
        teacher = TeacherConfigFactory(project=seeded, kind="openai", base_url=server.url,
                                       model="m", api_key=SECRET)
        edit = reverse("prompts:teacher-edit", args=[seeded.pk, teacher.pk])
        response = client_for(owner).post(edit, form(base_url=server.url, action="test"))
        auth = server.requests[0]["auth"]
    assert response.status_code == 200 and auth == f"Bearer {SECRET}"
    assert SECRET not in response.content.decode()


def test_local_model_directory_is_checked(client_for, owner, seeded, tmp_path, settings):
    settings.STUDIO_MODEL_ROOTS = [tmp_path]
    client = client_for(owner)
    response = client.post(new_url(seeded), form(kind="hf_local", model_dir=str(tmp_path / "no"),
                                                  action="test"))
    assert response.status_code == 400
    assert "model directory not found or not allowed" in response.content.decode()
    (tmp_path / "config.json").write_text("{}")
    response = client.post(new_url(seeded), form(kind="hf_local", model_dir=str(tmp_path),
                                                  action="test"))
    assert response.status_code == 200 and "config.json" in response.content.decode()
