"""Teacher API keys: sent only to the URL they were saved for, encrypted at rest, rotated,
and never shown (pages, admin, dumps, error messages)."""

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core import serializers
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from apps.common.secrets import SecretKeyError, decrypt, encrypt, is_encrypted
from apps.prompts.models import TeacherConfig
from apps.prompts.services import teacher_config_update
from apps.runs.selectors import run_spec_for_worker
from tests.apps.teacher_server import FakeServer, completion
from tests.apps.test_admin import _staff
from tests.factories import ExampleFactory, RunFactory, SkillFactory, TeacherConfigFactory

SECRET = "sk-stored-key-4f9a2c"
ANSWER = completion("<answer>5</answer>")


@pytest.fixture
def seeded(project_a):
    add = SkillFactory(project=project_a, name="add")
    ExampleFactory(project=project_a, prompt="2+3=", answer="5", skills=[add], split="eval")
    return project_a


def form(**fields):
    return {"name": "remote", "kind": "openai", "base_url": "", "model": "m", "api_key": "",
            "model_dir": "", "timeout_s": "5", "max_retries": "0", "concurrency": "2",
            **fields}


def edit_url(teacher):
    return reverse("prompts:teacher-edit", args=[teacher.project_id, teacher.pk])


def saw_the_key(server) -> bool:
    return any(SECRET in json.dumps(r) for r in server.requests)


def raw_column(teacher) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM prompts_teacherconfig WHERE id = %s", [teacher.pk])
        return cursor.fetchone()[0]


# --- 1. the stored key goes only to the stored base URL --------------------------------------

@pytest.mark.parametrize("htmx", [False, True])
def test_test_connection_to_a_new_url_with_a_blank_key_never_sends_the_stored_key(
        client_for, editor, seeded, htmx):
    with FakeServer([(200, ANSWER, 0)]) as stored, FakeServer([(200, ANSWER, 0)]) as attacker:
        teacher = TeacherConfigFactory(project=seeded, name="remote", kind="openai",
                                       base_url=stored.url, model="m", api_key=SECRET)
        extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        response = client_for(editor).post(
            edit_url(teacher), form(base_url=attacker.url, action="test"), **extra)
    html = response.content.decode()
    assert len(attacker.requests) == 1  # the call was made, without the key
    assert attacker.requests[0]["auth"] != f"Bearer {SECRET}" and not saw_the_key(attacker)
    assert not stored.requests
    assert "goes only to the base URL it was saved with" in html and SECRET not in html
    teacher.refresh_from_db()
    assert teacher.base_url == stored.url and teacher.api_key == SECRET  # nothing saved


def test_saving_a_new_url_with_a_blank_key_never_sends_and_removes_the_stored_key(
        client_for, editor, seeded):
    with FakeServer([(200, ANSWER, 0)]) as attacker:
        teacher = TeacherConfigFactory(project=seeded, name="remote", kind="openai",
                                       base_url="https://api.example.org/v1", model="m",
                                       api_key=SECRET)
        client = client_for(editor)
        response = client.post(edit_url(teacher), form(base_url=attacker.url,
                                                        check_connection="on"), follow=True)
        html = response.content.decode()
        assert response.status_code == 200
        assert "The stored API key was removed" in html and SECRET not in html
        teacher.refresh_from_db()
        assert teacher.base_url == attacker.url and teacher.api_key == ""
        # neither the connection check, a later test, nor the worker's spec has the key
        client.post(edit_url(teacher), form(base_url=attacker.url, action="test"))
        worker_spec = run_spec_for_worker(run=RunFactory(project=seeded,
                                                         teacher_config=teacher))
    assert len(attacker.requests) == 2 and not saw_the_key(attacker)
    assert worker_spec.teacher.api_key == ""


def test_a_new_kind_with_a_blank_key_removes_the_stored_key(owner, project_a):
    teacher = TeacherConfigFactory(project=project_a, kind="openai",
                                   base_url="https://api.example.org/v1", model="m",
                                   api_key=SECRET)
    teacher_config_update(user=owner, teacher=teacher, kind="oracle")
    teacher.refresh_from_db()
    assert teacher.api_key == ""


def test_the_same_url_keeps_the_key_and_a_typed_key_goes_to_a_new_url(
        client_for, editor, seeded):
    with FakeServer([(200, ANSWER, 0)]) as stored, FakeServer([(200, ANSWER, 0)]) as other:
        teacher = TeacherConfigFactory(project=seeded, name="remote", kind="openai",
                                       base_url=stored.url, model="m", api_key=SECRET)
        client = client_for(editor)
        assert client.post(edit_url(teacher), form(base_url=stored.url, model="m2",
                                                   check_connection="on")).status_code == 302
        assert stored.requests[-1]["auth"] == f"Bearer {SECRET}"
        teacher.refresh_from_db()
        assert teacher.api_key == SECRET and teacher.model == "m2"
        assert client.post(edit_url(teacher), form(base_url=other.url, api_key="sk-other",
                                                   check_connection="on")).status_code == 302
    assert other.requests[-1]["auth"] == "Bearer sk-other"
    teacher.refresh_from_db()
    assert teacher.api_key == "sk-other" and teacher.base_url == other.url


def test_admin_new_url_with_a_blank_key_removes_the_stored_key(client_for, owner, project_a):
    teacher = TeacherConfigFactory(project=project_a, name="t", kind="openai", model="m",
                                   base_url="https://api.example.org/v1", api_key=SECRET)
    url = reverse("admin:prompts_teacherconfig_change", args=[teacher.pk])
    response = client_for(_staff(owner)).post(url, {
        "project": project_a.pk, "name": "t", "kind": "openai", "model": "m",
        "base_url": "https://attacker.example.net/v1", "timeout_s": "60", "max_retries": "3",
        "concurrency": "4", "api_key": "",
    }, follow=True)
    assert "The stored API key was removed" in response.content.decode()
    teacher.refresh_from_db()
    assert teacher.base_url == "https://attacker.example.net/v1" and teacher.api_key == ""


# --- 2. encrypted at rest, rotated, never shown ----------------------------------------------

def test_the_key_is_stored_encrypted_and_read_back_plain(project_a):
    teacher = TeacherConfigFactory(project=project_a, api_key=SECRET)
    stored = raw_column(teacher)
    assert is_encrypted(stored) and SECRET not in stored
    assert TeacherConfig.objects.get(pk=teacher.pk).api_key == SECRET
    assert TeacherConfig.objects.filter(pk=teacher.pk).values_list("api_key", flat=True)[0] \
        == SECRET
    empty = TeacherConfigFactory(project=project_a, api_key="")
    assert raw_column(empty) == "" and not empty.has_api_key
    assert set(TeacherConfig.objects.filter(api_key="")) == {empty}


def test_the_worker_reads_the_key_decrypted(project_a):
    teacher = TeacherConfigFactory(project=project_a, api_key=SECRET)
    run = RunFactory(project=project_a, teacher_config=teacher)
    assert run_spec_for_worker(run=run).teacher.api_key == SECRET
    assert SECRET not in json.dumps(run.spec)


def test_rotation_re_encrypts_with_the_first_key_and_the_old_key_can_go(project_a):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(STUDIO_SECRET_KEYS=[old]):
        teacher = TeacherConfigFactory(project=project_a, api_key=SECRET)
        before = raw_column(teacher)
    with override_settings(STUDIO_SECRET_KEYS=[new]), pytest.raises(SecretKeyError,
                                                                    match="STUDIO_SECRET_KEYS"):
        TeacherConfig.objects.get(pk=teacher.pk)  # the new key alone cannot open it yet
    with override_settings(STUDIO_SECRET_KEYS=[new, old]):
        assert TeacherConfig.objects.get(pk=teacher.pk).api_key == SECRET
        out = io.StringIO()
        call_command("rotate_secret_keys", stdout=out)
    assert "prompts.TeacherConfig: 1 value(s) re-encrypted" in out.getvalue()
    after = raw_column(teacher)
    assert after != before and SECRET not in after
    with override_settings(STUDIO_SECRET_KEYS=[new]):
        assert TeacherConfig.objects.get(pk=teacher.pk).api_key == SECRET
    with override_settings(STUDIO_SECRET_KEYS=[old]), pytest.raises(SecretKeyError):
        decrypt(after)


def test_rotation_encrypts_a_plain_key_left_from_before(project_a):
    teacher = TeacherConfigFactory(project=project_a)
    TeacherConfig.objects.filter(pk=teacher.pk).update(api_key="")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE prompts_teacherconfig SET api_key = %s WHERE id = %s",
                       [SECRET, teacher.pk])
    assert TeacherConfig.objects.get(pk=teacher.pk).api_key == SECRET  # legacy plain value
    call_command("rotate_secret_keys", stdout=io.StringIO())
    assert is_encrypted(raw_column(teacher))
    assert TeacherConfig.objects.get(pk=teacher.pk).api_key == SECRET


def test_dumps_hold_only_the_token_and_load_back(project_a):
    teacher = TeacherConfigFactory(project=project_a, api_key=SECRET)
    dumped = serializers.serialize("json", TeacherConfig.objects.filter(pk=teacher.pk))
    assert SECRET not in dumped and "fernet:" in dumped
    TeacherConfig.objects.filter(pk=teacher.pk).update(api_key="")
    for obj in serializers.deserialize("json", dumped):
        obj.save()
    assert TeacherConfig.objects.get(pk=teacher.pk).api_key == SECRET


def test_admin_shows_only_whether_a_key_is_set(client_for, owner, viewer, project_a):
    teacher = TeacherConfigFactory(project=project_a, api_key=SECRET)
    url = reverse("admin:prompts_teacherconfig_change", args=[teacher.pk])
    for user in (viewer, owner):  # read-only page and change page
        client = client_for(_staff(user))
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 200
        assert SECRET not in html and encrypt(SECRET)[:20] not in html
        assert "Stored API key" in html and ">set<" in html.replace(" ", "")
        changelist = client.get(reverse("admin:prompts_teacherconfig_changelist"))
        assert SECRET not in changelist.content.decode()


def test_error_reports_of_the_teacher_views_hide_the_key(rf, editor, project_a, monkeypatch):
    """A crash below "test connection" is reported (logs, mails) without the typed or the
    stored key: neither in the POST data nor in any frame's variables."""
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.views.debug import ExceptionReporter

    from apps.prompts import teacher_calls, views

    def crash(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(teacher_calls, "_call", crash)
    teacher = TeacherConfigFactory(project=project_a, name="remote", kind="openai",
                                   base_url="https://api.example.org/v1", model="m",
                                   api_key=SECRET)
    for typed in ("", SECRET):
        request = rf.post("/x", form(base_url=teacher.base_url, api_key=typed, action="test"))
        request.user, request.session, request.htmx = editor, {}, False
        request._messages = FallbackStorage(request)
        with pytest.raises(RuntimeError) as crashed:
            views.teacher_edit(request, pk=project_a.pk, teacher_pk=teacher.pk)
        report = ExceptionReporter(request, crashed.type, crashed.value,
                                   crashed.tb).get_traceback_text()
        assert "boom" in report and "teacher_test_connection" in report
        assert SECRET not in report


# --- 4. an answer that echoes the request does not show the key -------------------------------

def test_an_echoed_key_is_redacted_on_the_page(client_for, editor, seeded):
    echo = completion(f"I saw Authorization: Bearer {SECRET} <answer>5</answer>")
    with FakeServer([(200, echo, 0)]) as server:
        teacher = TeacherConfigFactory(project=seeded, name="remote", kind="openai",
                                       base_url=server.url, model="m", api_key=SECRET)
        response = client_for(editor).post(edit_url(teacher),
                                           form(base_url=server.url, action="test"))
    assert server.requests[0]["auth"] == f"Bearer {SECRET}"
    html = response.content.decode()
    assert "I saw Authorization" in html and SECRET not in html
