"""Files over the API: a multipart upload checked row by row (line, field, reason; nothing
saved), then "import the good rows" or "cancel", as on the import page; a large file on the
worker with its progress; a project created from a JSONL file; the caller's teams."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.projects import imports
from apps.projects.models import Example, Project, Skill
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db
CHAT = {"messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "2+2="}, {"role": "assistant", "content": "4"}]}
# one row of each bad kind between good ones: bad JSON, a missing field, a wrong type,
# a non-UTF-8 line
MIXED = b"\n".join([
    json.dumps(CHAT).encode(),
    b"{broken",
    json.dumps({"messages": [{"role": "user", "content": "q"}]}).encode(),
    json.dumps({"messages": [{"role": "user", "content": 5},
                             {"role": "assistant", "content": "x"}]}).encode(),
    b'{"messages": [{"role": "user", "content": "\xff"}]}',
    json.dumps({**CHAT, "skills": ["carry"], "level": 3, "id": "k2"}).encode(),
]) + b"\n"
REAL_INSERT = imports.examples_insert


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path

def _insert_then_fail(*args, **kwargs):
    """The batch is written, then the disk fills up: the whole import must roll back."""
    REAL_INSERT(*args, **kwargs)
    raise RuntimeError("disk full")



def _upload(client, project, content=MIXED, name="chat.jsonl", **fields):
    return client.multipart("POST", f"/projects/{project.pk}/uploads", {
        "file": SimpleUploadedFile(name, content), "default_skill": "add", **fields})


def _stored(data_dir) -> list[str]:
    folder = data_dir / "imports"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_check_names_every_bad_row_and_saves_nothing(owner, project_a, data_dir, api_as):
    response = _upload(api_as(owner), project_a)
    assert response.status_code == 201, response.data
    data = response.data
    assert (data["kind"], data["format"], data["good"], data["bad"]) == ("jsonl", "openai", 2, 4)
    assert [(e["line"], e["field"]) for e in data["errors"]] == [
        (2, ""), (3, "messages[0].role"), (4, "messages[0].content"), (5, "")]
    reasons = " ".join(e["reason"] for e in data["errors"])
    assert "bad JSON" in reasons and "UTF-8" in reasons
    assert data["new_skills"] == ["add", "carry"] and data["large"] is False
    assert Example.objects.count() == 0 and Skill.objects.count() == 0
    assert len(_stored(data_dir)) == 2  # the file and its notes, kept for the next step


def test_import_the_good_rows(owner, project_a, data_dir, api_as):
    client = api_as(owner)
    token = _upload(client, project_a).data["upload"]
    response = client.post(f"/projects/{project_a.pk}/uploads/{token}/import")
    assert response.status_code == 201, response.data
    assert response.data == {"imported": 2, "skipped": 4, "job": None}
    rows = list(Example.objects.filter(project=project_a).order_by("pk"))
    assert [(e.prompt, e.answer, e.level, e.key, e.meta.get("system")) for e in rows] == [
        ("2+2=", "4", 1, "", "Be brief."), ("2+2=", "4", 3, "k2", "Be brief.")]
    assert _stored(data_dir) == []
    again = client.post(f"/projects/{project_a.pk}/uploads/{token}/import")
    assert again.status_code == 404 and Example.objects.count() == 2


def test_cancel_saves_nothing_and_removes_the_file(owner, project_a, data_dir, api_as):
    client = api_as(owner)
    token = _upload(client, project_a).data["upload"]
    response = client.delete(f"/projects/{project_a.pk}/uploads/{token}")
    assert response.status_code == 204 and not response.body
    assert _stored(data_dir) == [] and Example.objects.count() == 0
    assert client.post(f"/projects/{project_a.pk}/uploads/{token}/import").status_code == 404
    assert client.delete(f"/projects/{project_a.pk}/uploads/{token}").status_code == 404


def test_a_file_with_no_good_row_is_refused_and_not_kept(owner, project_a, data_dir, api_as):
    response = _upload(api_as(owner), project_a, content=b"{broken\n[1]\n", format="ours")
    assert response.status_code == 400
    assert set(response.data["errors"]) == {"file.line.1", "file.line.2"}
    assert _stored(data_dir) == [] and Example.objects.count() == 0


def test_csv_is_read_by_its_name_and_the_format_can_be_chosen(owner, project_a, data_dir,
                                                              api_as):
    client = api_as(owner)
    csv = b"prompt,completion\n2+2=,4\n3+3=,6\n"
    data = _upload(client, project_a, content=csv, name="rows.csv").data
    assert (data["kind"], data["format"], data["good"]) == ("csv", "trl", 2)
    data = _upload(client, project_a, content=csv, name="rows.txt", kind="csv",
                   format="trl", default_level="4").data
    assert (data["kind"], data["format"], data["good"]) == ("csv", "trl", 2)
    client.post(f"/projects/{project_a.pk}/uploads/{data['upload']}/import")
    assert set(Example.objects.values_list("level", flat=True)) == {4}
    unknown = _upload(client, project_a, content=b'{"q": 1}\n', format="auto")
    assert unknown.status_code == 400 and "format" in unknown.data["errors"]
    assert _upload(client, project_a, format="xml").status_code == 422


def test_an_upload_belongs_to_its_project(owner, project_a, team_a, data_dir, api_as):
    from tests.factories import ProjectFactory

    other = ProjectFactory(team=team_a, name="other")
    client = api_as(owner)
    token = _upload(client, project_a).data["upload"]
    assert client.post(f"/projects/{other.pk}/uploads/{token}/import").status_code == 404
    assert client.delete(f"/projects/{other.pk}/uploads/{token}").status_code == 404
    assert client.post(f"/projects/{project_a.pk}/uploads/{'f' * 32}/import").status_code == 404
    assert client.post(f"/projects/{project_a.pk}/uploads/..%2F..%2Fx/import").status_code \
        in (404, 422)
    assert Example.objects.count() == 0


def test_a_failure_mid_import_saves_nothing(owner, project_a, data_dir, api_as):
    client = api_as(owner)
    token = _upload(client, project_a).data["upload"]
    client.client.raise_request_exception = True
    with mock.patch("apps.projects.imports.examples_insert", side_effect=_insert_then_fail), \
            pytest.raises(RuntimeError):
        client.post(f"/projects/{project_a.pk}/uploads/{token}/import")
    assert Example.objects.count() == 0 and _stored(data_dir) == []


def test_a_large_file_goes_to_the_worker(owner, viewer, project_a, data_dir, api_as,
                                         monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(imports, "ASYNC_ROWS", 1)
    client = api_as(owner)
    check = _upload(client, project_a).data
    assert check["large"] is True
    with mock.patch("apps.projects.imports.enqueue") as enqueue, \
            django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/projects/{project_a.pk}/uploads/{check['upload']}/import")
    assert response.status_code == 202, response.data
    job = response.data["job"]
    assert (job["status"], job["total_rows"], job["done_rows"]) == ("queued", 2, 0)
    assert (job["step"], job["percent"], job["total_links"]) == (1, 0, 0)
    enqueue.assert_called_once_with("examples.import", job["id"])
    # the job owns the file now: cancelling it is no longer possible
    assert client.delete(f"/projects/{project_a.pk}/uploads/{check['upload']}"
                         ).status_code == 404
    from workers.tasks.imports import examples_import

    examples_import(job["id"])
    done = api_as(viewer).get(f"/projects/{project_a.pk}/imports/{job['id']}").data
    assert (done["status"], done["done_rows"], done["skipped_rows"]) == ("succeeded", 2, 4)
    assert done["percent"] == 100 and done["done_links"] == done["total_links"]
    assert Example.objects.count() == 2 and _stored(data_dir) == []


# --- a project from a file, and the caller's teams ------------------------------------------

ITEMS = (b'{"id": "a", "prompt": "2+2=", "answer": "4", "skills": ["add"], "level": 1}\n'
         b'{"id": "b", "prompt": "3+4=", "answer": "7", "skills": ["add", "carry"], '
         b'"level": 2, "split": "eval"}\n')


def _create(client, team, content=ITEMS, **fields):
    return client.multipart("POST", "/projects", {
        "team": str(team.pk), "name": "from a file",
        "file": SimpleUploadedFile("items.jsonl", content), **fields})


def test_create_a_project_from_a_file(editor, team_a, data_dir, api_as):
    response = _create(api_as(editor), team_a, answer_mode="numeric", eval_share="0")
    assert response.status_code == 201, response.data
    data = response.data
    assert (data["name"], data["team"]["id"], data["role"], data["task_family"]) == (
        "from a file", team_a.pk, "editor", "jsonl")
    assert data["task_options"]["answer_mode"] == "numeric"
    assert data["example_counts"]["train"]["approved"] == 1
    assert data["example_counts"]["eval"]["approved"] == 1
    project = Project.objects.get(pk=data["id"])
    assert sorted(project.skills.values_list("name", flat=True)) == ["add", "carry"]


def test_a_bad_line_refuses_the_whole_file(editor, team_a, data_dir, api_as):
    client = api_as(editor)
    response = _create(client, team_a, content=ITEMS + b"{broken\n")
    assert response.status_code == 400
    assert any(m.startswith("line 3") for m in response.data["errors"]["file"])
    assert _create(client, team_a, content=b"\xff\xfe\n").status_code == 400
    assert _create(client, team_a, name="").status_code == 422
    assert _create(client, team_a, eval_share="2").status_code == 422
    assert Project.objects.filter(name="from a file").count() == 0


def test_a_name_taken_is_refused(editor, team_a, project_a, data_dir, api_as):
    response = _create(api_as(editor), team_a, name=project_a.name)
    assert response.status_code == 400 and "name" in response.data["errors"]


def test_team_list_gives_each_role(owner, team_a, team_b, api_as):
    MembershipFactory(user=owner, team=team_b, role="viewer")
    data = api_as(owner).get("/teams").data
    assert [(t["name"], t["role"]) for t in data] == [("Team A", "owner"), ("Team B", "viewer")]


def _import(client, project, **fields):
    return client.post(f"/projects/{project.pk}/import",
                       {"content": json.dumps(CHAT) + "\n", "default_skill": "add", **fields})


def test_import_by_body_dry_run_saves_nothing(owner, project_a, data_dir, api_as):
    response = _import(api_as(owner), project_a, dry_run=True)
    assert response.status_code == 200, response.data
    assert (response.data["good"], response.data["bad"], response.data["imported"]) == (1, 0, 0)
    assert not Example.objects.filter(project=project_a).exists()
    assert _stored(data_dir) == []


@pytest.mark.parametrize("fields, name", [
    ({"dryrun": True}, "dryrun"),  # a misspelt option must not turn a check into an import
    ({"dry_run": "true"}, "dry_run"),  # loose types are refused too
    ({"default_level": "2"}, "default_level"),
])
def test_import_by_body_refuses_unknown_options_and_loose_types(owner, project_a, data_dir,
                                                                 api_as, fields, name):
    response = _import(api_as(owner), project_a, **fields)
    assert response.status_code == 422, response.data
    assert any(name in key for key in response.data["errors"])
    assert not Example.objects.filter(project=project_a).exists()
    assert _stored(data_dir) == []


@pytest.mark.parametrize("fields", [
    {"defualt_level": "4"},  # misspelt: the default level would be used in silence
    {"fromat": "trl"},
    {"second": SimpleUploadedFile("b.jsonl", b"{}\n")},  # a file the operation does not take
])
def test_a_multipart_upload_refuses_unknown_fields(owner, project_a, data_dir, api_as, fields):
    response = _upload(api_as(owner), project_a, **fields)
    assert response.status_code == 422, response.data
    assert list(response.data["errors"]) == [next(iter(fields))]
    assert _stored(data_dir) == []
    assert not Example.objects.filter(project=project_a).exists()


def test_a_project_from_a_file_refuses_unknown_fields(editor, team_a, data_dir, api_as):
    response = _create(api_as(editor), team_a, eval_shar="0.5")
    assert response.status_code == 422, response.data
    assert response.data["errors"] == {"eval_shar": ["Extra inputs are not permitted"]}
    assert not Project.objects.filter(name="from a file").exists()


def test_a_session_may_send_its_csrf_token_as_a_form_field(owner, project_a, data_dir):
    """A browser's form carries the CSRF token as ``csrfmiddlewaretoken``: not unknown."""
    from tests.apps.api.conftest import ApiClient

    client = ApiClient(user=owner, csrf=True)
    client.client.get("/accounts/tokens/")
    csrf = client.client.cookies["csrftoken"].value
    assert _upload(client, project_a).status_code == 403  # no token: refused
    response = _upload(client, project_a, csrfmiddlewaretoken=csrf)
    assert response.status_code == 201, response.data
