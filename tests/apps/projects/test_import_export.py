"""Importing a file into a project and exporting its dataset, through the pages; a run's
files. Strangers get 404, viewers may export but not import (403); a cancelled import and
an import with no good rows save nothing."""

from __future__ import annotations

import io
import json
import tarfile
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.projects import imports
from apps.projects.formats import FORMATS
from apps.projects.models import Example, ImportJob, Skill
from tests.factories import ExampleFactory, RoundFactory, RunFactory, SkillFactory

pytestmark = pytest.mark.django_db
CHAT = {"messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "2+2="}, {"role": "assistant", "content": "4"}]}
FILE = (json.dumps(CHAT) + "\n{broken\n"
        + json.dumps({"messages": [{"role": "user", "content": "q"}]}) + "\n"
        + json.dumps({**CHAT, "skills": ["carry"], "level": 3, "id": "k2"}) + "\n").encode()
REAL_INSERT = imports.examples_insert


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.STUDIO_ARTIFACTS_DIR = tmp_path / "artifacts"
    return tmp_path

def _insert_then_fail(*args, **kwargs):
    """The batch is written, then the disk fills up: the whole import must roll back."""
    REAL_INSERT(*args, **kwargs)
    raise RuntimeError("disk full")



def _check(client, project, content=FILE, name="chat.jsonl", **extra):
    return client.post(reverse("projects:example-import", args=[project.pk]), {
        "file": SimpleUploadedFile(name, content), "format": "auto", "default_skill": "add",
        "default_level": "1", **extra})


def test_check_shows_every_bad_row_and_saves_nothing(client, owner, project_a, data_dir):
    client.force_login(owner)
    response = _check(client, project_a)
    assert response.status_code == 200
    check = response.context["check"]
    assert (check.fmt, check.good, check.bad) == ("openai", 2, 2)
    assert [(p.line, p.field) for p in check.problems] == [(2, ""), (3, "messages[0].role")]
    assert b"bad JSON" in response.content and b"messages[0].role" in response.content
    assert Example.objects.filter(project=project_a).count() == 0


def test_import_the_good_rows(client, owner, project_a, data_dir):
    client.force_login(owner)
    confirm = _check(client, project_a).context["confirm"]
    response = client.post(reverse("projects:example-import-confirm", args=[project_a.pk]),
                           {k: confirm[k].value() for k in confirm.fields})
    assert response.status_code == 302
    rows = list(Example.objects.filter(project=project_a).order_by("pk"))
    assert [(e.prompt, e.answer, e.level, e.key, e.meta) for e in rows] == [
        ("2+2=", "4", 1, "", {"system": "Be brief."}),
        ("2+2=", "4", 3, "k2", {"system": "Be brief."})]
    assert sorted(Skill.objects.filter(project=project_a).values_list("name", flat=True)) == [
        "add", "carry"]
    assert not list((data_dir / "imports").glob("*.upload"))


def test_cancel_saves_nothing_and_removes_the_file(client, owner, project_a, data_dir):
    client.force_login(owner)
    token = _check(client, project_a).context["token"]
    response = client.post(reverse("projects:example-import-cancel", args=[project_a.pk]),
                           {"token": token})
    assert response.status_code == 302
    assert Example.objects.count() == 0 and not list((data_dir / "imports").glob("*"))


def test_a_file_with_no_good_row_is_400_and_not_kept(client, owner, project_a, data_dir):
    client.force_login(owner)
    response = _check(client, project_a, content=b"\xff\xfe\n{x\n", format="ours")
    assert response.status_code == 400
    assert b"not UTF-8" in response.content
    assert not list((data_dir / "imports").glob("*.upload"))


def test_a_failure_mid_import_saves_nothing(client, owner, project_a, data_dir):
    client.force_login(owner)
    confirm = _check(client, project_a).context["confirm"]
    with mock.patch("apps.projects.imports.examples_insert", side_effect=_insert_then_fail), \
            pytest.raises(RuntimeError):
        client.post(reverse("projects:example-import-confirm", args=[project_a.pk]),
                    {k: confirm[k].value() for k in confirm.fields})
    assert Example.objects.count() == 0


def test_a_large_file_goes_to_the_worker(client, owner, project_a, data_dir, monkeypatch,
                                         django_capture_on_commit_callbacks):
    monkeypatch.setattr(imports, "ASYNC_ROWS", 1)
    client.force_login(owner)
    confirm = _check(client, project_a).context["confirm"]
    with mock.patch("apps.projects.imports.enqueue") as enqueue, \
            django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("projects:example-import-confirm", args=[project_a.pk]),
                               {k: confirm[k].value() for k in confirm.fields})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/imports/{job.pk}/")
    enqueue.assert_called_once_with("examples.import", job.pk)
    assert Example.objects.count() == 0
    page = client.get(response.url)
    assert b"hx-get" in page.content and b"<progress" in page.content
    from workers.tasks.imports import examples_import

    examples_import(job.pk)
    job.refresh_from_db()
    assert (job.status, job.done_rows, job.skipped_rows) == ("succeeded", 2, 2)
    assert Example.objects.count() == 2
    assert b"hx-get" not in client.get(response.url).content
    examples_import(job.pk)  # a redelivered message finds it claimed
    assert Example.objects.count() == 2


@pytest.mark.parametrize("name", ["example-import", "example-import-confirm",
                                  "example-import-cancel"])
def test_viewer_may_not_import_and_stranger_finds_nothing(client, viewer, stranger,
                                                          project_a, data_dir, name):
    url = reverse(f"projects:{name}", args=[project_a.pk])
    client.force_login(viewer)
    assert client.post(url, {"token": "0" * 32}).status_code == 403
    client.force_login(stranger)
    assert client.post(url, {"token": "0" * 32}).status_code == 404
    assert Example.objects.count() == 0


def test_import_job_page_shows_each_step(client, viewer, project_a):
    job = ImportJob.objects.create(project=project_a, token="0" * 32, status="running",
                                   total_rows=200, done_rows=50)
    url = reverse("projects:import-job", args=[project_a.pk, job.pk])
    client.force_login(viewer)
    page = client.get(url).content.decode()
    assert "Step 1 of 2: writing the rows" in page and 'value="25"' in page
    ImportJob.objects.filter(pk=job.pk).update(phase="links", done_rows=200, total_links=300,
                                                done_links=30)
    page = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Step 2 of 2: linking the rows to their skills, 30 of 300 links" in page
    assert 'value="10"' in page and "hx-get" in page
    ImportJob.objects.filter(pk=job.pk).update(status="succeeded", done_links=300)
    page = client.get(url).content.decode()
    assert "Step" not in page and 'value="100"' in page and "hx-get" not in page


def test_import_job_page_is_404_for_a_stranger(client, stranger, viewer, project_a):
    job = ImportJob.objects.create(project=project_a, token="0" * 32)
    url = reverse("projects:import-job", args=[project_a.pk, job.pk])
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    client.force_login(viewer)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_export_then_import_gives_back_the_same_items(client, owner, viewer, stranger,
                                                      project_a, data_dir, fmt):
    add, carry = SkillFactory(project=project_a, name="add"), SkillFactory(
        project=project_a, name="carry")
    ExampleFactory(project=project_a, prompt="1+1=", answer="2", skills=[add], level=1,
                   key="a", meta={"system": "S", "note": 1})
    ExampleFactory(project=project_a, prompt="9+9=", answer="18", skills=[carry, add],
                   level=2, split="eval")
    url = reverse("projects:project-export", args=[project_a.pk]) + f"?format={fmt}"
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    client.force_login(viewer)
    response = client.get(url)
    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content)
    before = [(e.prompt, e.answer, e.level, e.split, e.key, e.meta,
               [s.name for s in e.skills.order_by("example_links__pk")])
              for e in Example.objects.order_by("pk")]
    Example.objects.all().delete()
    client.force_login(owner)
    confirm = _check(client, project_a, content=body).context["confirm"]
    client.post(reverse("projects:example-import-confirm", args=[project_a.pk]),
                {k: confirm[k].value() for k in confirm.fields})
    after = [(e.prompt, e.answer, e.level, e.split, e.key, e.meta,
              [s.name for s in e.skills.order_by("example_links__pk")])
             for e in Example.objects.order_by("pk")]
    assert after == before


def _run_with_checkpoint(project, data_dir):
    run = RunFactory(project=project)
    RoundFactory(run=run, index=0, metrics={"accuracy": 0.5, "weakest_skill": "=cmd"},
                 plan={})
    rnd = RoundFactory(run=run, index=1, metrics={"accuracy": 0.75},
                       plan={"entries": [{"skill": "add", "count": 4, "source": "pool"}]})
    folder = data_dir / "artifacts" / "runs" / f"run-{run.pk}" / "checkpoints" / "round-001"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"w" * 70_000)
    (folder / "optimizer.pt").write_bytes(b"o")
    (folder / "state.json").write_text(json.dumps(
        {"complete": True, "round": 1, "teacher": {"api_key": "sk-x", "model": "m"}}))
    (folder / "link").symlink_to("/etc/passwd")
    rnd.checkpoint_path = str(folder.relative_to(data_dir / "artifacts"))
    rnd.save()
    return run


def test_run_files(client, viewer, stranger, project_a, data_dir):
    run = _run_with_checkpoint(project_a, data_dir)

    def url(what):
        return reverse("runs:run-export", args=[run.pk, what])

    client.force_login(stranger)
    assert client.get(url("metrics.csv")).status_code == 404
    client.force_login(viewer)
    assert client.get(url("metrics.csv")).content.decode() == (
        "round,accuracy,weakest_skill\n0,0.5,'=cmd\n1,0.75,\n")
    assert client.get(url("metrics.json")).json()[1] == {"round": 1, "accuracy": 0.75}
    plans = b"".join(client.get(url("plans.jsonl")).streaming_content).splitlines()
    assert json.loads(plans[1])["plan"]["entries"][0]["count"] == 4
    assert client.get(url("synthesized.jsonl") + "?format=x").status_code == 400
    response = client.get(url("student.tar.gz"))
    assert response.streaming
    with tarfile.open(fileobj=io.BytesIO(b"".join(response.streaming_content))) as archive:
        names = sorted(m.name.split("/", 1)[1] for m in archive.getmembers())
        assert names == ["model.safetensors", "state.json"]
        state = json.load(archive.extractfile(f"run-{run.pk}-round-001/state.json"))
        assert state == {"complete": True, "round": 1, "teacher": {"model": "m"}}
        weights = archive.extractfile(f"run-{run.pk}-round-001/model.safetensors").read()
        assert len(weights) == 70_000
    assert client.get(reverse("runs:run-export", args=[run.pk, "x"])).status_code == 404
