"""Teacher calls from the web and the workers obey the outbound policy: no loopback, private
or cloud-metadata address unless STUDIO_TEACHER_ALLOWED_HOSTS names it, refused before any
connection; a failed call shows its HTTP status and error class, never the body."""

import socket

import pytest
from django.urls import reverse

from apps.projects.models import SkillExtraction
from apps.prompts.models import TeacherConfig, TeacherKind
from apps.runs.selectors import run_spec_for_worker
from tests.apps.teacher_server import FakeServer, completion
from tests.factories import (
    ExampleFactory,
    RunFactory,
    SkillFactory,
    TeacherConfigFactory,
    TeacherPromptFactory,
    TeacherPromptVersionFactory,
)
from workers.engine.api import default_template
from workers.tasks.teachers import skill_extract

BODY_SECRET = "internal-db-password-hunter2"


def form(**fields):
    return {"name": "remote", "kind": "openai", "base_url": "", "model": "m", "api_key": "",
            "model_dir": "", "timeout_s": "5", "max_retries": "0", "concurrency": "2",
            **fields}


@pytest.fixture
def seeded(project_a):
    add = SkillFactory(project=project_a, name="add")
    ExampleFactory(project=project_a, prompt="2+3=", answer="5", skills=[add], split="eval")
    return project_a


@pytest.fixture
def no_allow_list(settings):
    settings.STUDIO_TEACHER_ALLOWED_HOSTS = []


@pytest.fixture
def connections(monkeypatch):
    made: list = []
    real = socket.create_connection

    def recording(address, *args, **kwargs):
        made.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    return made


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def post_test_connection(client, project, **fields):
    return client.post(reverse("prompts:teacher-new", args=[project.pk]),
                       form(action="test", **fields), HTTP_HX_REQUEST="true")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_test_connection_to_loopback_is_refused_before_any_connection(
        client_for, owner, seeded, no_allow_list, connections, host):
    if host == "::1" and not _ipv6_loopback():
        pytest.skip("no IPv6 loopback here")
    bind = "::1" if host == "::1" else "127.0.0.1"
    with FakeServer([(200, completion("<answer>5</answer>"), 0)], host=bind) as server:
        url = server.url.replace("127.0.0.1", "localhost") if host == "localhost" else server.url
        response = post_test_connection(client_for(owner), seeded, base_url=url)
        requests = list(server.requests)
    html = response.content.decode()
    assert response.status_code == 400
    assert "Connection failed" in html and "a loopback address" in html
    assert "STUDIO_TEACHER_ALLOWED_HOSTS" in html
    assert requests == [] and connections == []


@pytest.mark.parametrize(("url", "reason"), [
    ("http://10.0.0.1:8000/v1", "a private address"),
    ("http://169.254.169.254/latest/meta-data/iam/", "cloud metadata"),
    ("http://[::ffff:169.254.169.254]/v1", "cloud metadata"),
])
def test_test_connection_to_internal_addresses_is_refused(
        client_for, owner, seeded, no_allow_list, connections, url, reason):
    response = post_test_connection(client_for(owner), seeded, base_url=url)
    assert response.status_code == 400 and reason in response.content.decode()
    assert connections == []


def test_the_connection_check_on_save_refuses_and_saves_nothing(
        client_for, owner, seeded, no_allow_list):
    with FakeServer([(200, completion("<answer>5</answer>"), 0)]) as server:
        response = client_for(owner).post(reverse("prompts:teacher-new", args=[seeded.pk]),
                                          form(base_url=server.url, check_connection="on"))
        assert server.requests == []
    assert response.status_code == 400
    assert "The connection check failed, so nothing was saved" in response.content.decode()
    assert not TeacherConfig.objects.exists()


def test_the_allow_list_setting_lets_a_local_server_through(client_for, owner, seeded,
                                                           settings):
    with FakeServer([(200, completion("<answer>5</answer>"), 0)]) as server:
        settings.STUDIO_TEACHER_ALLOWED_HOSTS = [f"127.0.0.1:{server.port}"]
        response = post_test_connection(client_for(owner), seeded, base_url=server.url)
        assert len(server.requests) == 1
    assert response.status_code == 200 and "answer: 5" in response.content.decode()


@pytest.mark.parametrize(("status", "shown"), [
    (403, "HTTP 403 (PermissionDeniedError)"),
    (404, "HTTP 404 (NotFoundError)"),
    (500, "HTTP 500 (InternalServerError)"),
    (200, "not valid JSON"),  # a 200 that is not a chat completion: no body either
])
def test_a_failed_call_shows_status_and_error_class_never_the_body(
        client_for, owner, seeded, status, shown):
    body = f"<html>{BODY_SECRET} " + "x" * 500 + "</html>"
    with FakeServer([(status, body, 0)]) as server:
        response = post_test_connection(client_for(owner), seeded, base_url=server.url)
    html = response.content.decode()
    assert response.status_code == 400
    assert shown in html
    assert BODY_SECRET not in html and "xxxxxxxxxx" not in html


def test_try_it_shows_no_body_of_a_failed_call(client_for, editor, seeded):
    prompt = TeacherPromptFactory(project=seeded, role="solve", name="solver")
    TeacherPromptVersionFactory(prompt=prompt, version=1, template=default_template("solve"))
    with FakeServer([(400, f'{{"error": "{BODY_SECRET}"}}', 0)]) as server:
        teacher = TeacherConfigFactory(project=seeded, kind="openai", base_url=server.url,
                                       model="m")
        response = client_for(editor).post(
            reverse("prompts:prompt-try", args=[seeded.pk, prompt.pk]),
            {"template": default_template("solve"), "teacher": teacher.pk},
            HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 400
    assert "HTTP 400 (BadRequestError)" in html and BODY_SECRET not in html


def test_try_it_with_a_stored_teacher_on_a_blocked_host(client_for, editor, seeded,
                                                       no_allow_list, connections):
    prompt = TeacherPromptFactory(project=seeded, role="solve", name="solver")
    TeacherPromptVersionFactory(prompt=prompt, version=1, template=default_template("solve"))
    teacher = TeacherConfigFactory(project=seeded, kind="openai", model="m",
                                   base_url="http://169.254.169.254/latest/")
    response = client_for(editor).post(
        reverse("prompts:prompt-try", args=[seeded.pk, prompt.pk]),
        {"template": default_template("solve"), "teacher": teacher.pk})
    assert response.status_code == 400 and "cloud metadata" in response.content.decode()
    assert connections == []


def test_skill_extraction_on_the_worker_is_refused_too(seeded, no_allow_list):
    with FakeServer([(200, completion("1. carry: carry a ten"), 0)]) as server:
        teacher = TeacherConfigFactory(project=seeded, kind=TeacherKind.OPENAI,
                                       base_url=server.url, model="m", max_retries=0)
        job = SkillExtraction.objects.create(project=seeded, teacher_config=teacher)
        assert skill_extract.run(job.pk) == "failed"
        assert server.requests == []
    job.refresh_from_db()
    assert "loopback address" in job.error


def test_a_run_gets_the_allow_list_of_the_settings_at_worker_time(project_a, settings):
    teacher = TeacherConfigFactory(project=project_a, kind="openai", model="m",
                                   base_url="http://vllm.internal:8000/v1")
    run = RunFactory(project=project_a, teacher_config=teacher,
                     spec={"teacher": {"kind": "openai", "base_url": teacher.base_url,
                                       "model": "m"}})
    settings.STUDIO_TEACHER_ALLOWED_HOSTS = []
    assert run_spec_for_worker(run=run).teacher.allowed_hosts == ()
    settings.STUDIO_TEACHER_ALLOWED_HOSTS = ["vllm.internal:8000"]
    assert run_spec_for_worker(run=run).teacher.allowed_hosts == ("vllm.internal:8000",)
