"""Model directories (a student's, a local teacher's) are confined to the model roots and the
team's own run checkpoints, with one answer for "not allowed" and "not found"."""

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.projects.models import SkillExtraction
from apps.prompts.services import teacher_config_create
from apps.runs.artifacts import run_artifacts_dir
from apps.runs.model_paths import MODEL_DIR_REFUSED, model_dir_resolve
from apps.runs.models import Run, StudentSpec
from apps.runs.selectors import run_spec_for_worker
from apps.runs.services import run_create, student_spec_create
from tests.factories import (
    CurriculumFactory,
    ExampleFactory,
    RunFactory,
    SkillFactory,
    StudentSpecFactory,
    TeacherConfigFactory,
)
from workers.engine.api import ModelLoadError
from workers.tasks.teachers import skill_extract


def _model(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")
    return path


def _checkpoint(run) -> Path:
    return _model(run_artifacts_dir(run.pk) / "checkpoints" / "round-001")


@pytest.fixture
def paths(settings, tmp_path, project_a, project_b):
    """Model roots with one model, and a checkpoint of a run of team A and of team B."""
    settings.STUDIO_MODEL_ROOTS = [tmp_path / "models"]
    settings.STUDIO_ARTIFACTS_DIR = tmp_path / "artifacts"
    model = _model(tmp_path / "models" / "tiny-llama")
    run_a, run_b = RunFactory(project=project_a), RunFactory(project=project_b)
    secret = _model(tmp_path / "elsewhere" / "secret-model")
    return SimpleNamespace(root=tmp_path / "models", model=model, own=_checkpoint(run_a),
                           other=_checkpoint(run_b), run_a=run_a, run_b=run_b, secret=secret,
                           tmp=tmp_path)


def _refused_paths(p) -> dict[str, str]:
    (p.root / "to-etc").symlink_to("/etc")
    (p.root / "to-other-team").symlink_to(p.other)
    return {
        "another team's checkpoint": str(p.other),
        "another team's run folder": str(p.other.parent.parent),
        "/etc": "/etc",
        "/": "/",
        "dot-dot out of the roots": f"{p.root}/../../../../../../../../etc",
        "dot-dot to a model outside": f"{p.model}/../../elsewhere/secret-model",
        "a symlink in the roots to /etc": str(p.root / "to-etc"),
        "a symlink in the roots to another team": str(p.root / "to-other-team"),
        "an existing model outside the roots": str(p.secret),
        "the artifacts store itself": str(p.tmp / "artifacts"),
        "missing under the roots": str(p.root / "no-such-model"),
        "missing checkpoint of the own run": str(p.own.parent / "round-999"),
        "a file, not a folder": str(p.model / "config.json"),
        "relative": "models/tiny-llama",
        "a name too long": "/" + "a" * 300,
        "a NUL byte": f"{p.root}/x\x00y",
    }


def test_a_folder_under_the_roots_and_the_teams_own_checkpoint_are_accepted(paths, team_a):
    assert model_dir_resolve(str(paths.model), team_id=team_a.pk) == paths.model.resolve()
    assert model_dir_resolve(str(paths.own), team_id=team_a.pk) == paths.own.resolve()
    # the roots themselves, resolved the same way (a root given through a symlink works)
    (paths.tmp / "link-to-models").symlink_to(paths.root)
    assert model_dir_resolve(str(paths.tmp / "link-to-models" / "tiny-llama"),
                             team_id=team_a.pk) == paths.model.resolve()


def test_refused_paths(paths, team_a):
    for name, path in _refused_paths(paths).items():
        assert model_dir_resolve(path, team_id=team_a.pk) is None, name


def test_a_deleted_runs_checkpoint_is_refused(paths, team_a):
    Run.objects.filter(pk=paths.run_a.pk).delete()
    assert model_dir_resolve(str(paths.own), team_id=team_a.pk) is None


def test_the_student_service_gives_one_message_for_missing_and_forbidden(paths, owner,
                                                                         project_a):
    messages = {}
    for name, path in _refused_paths(paths).items():
        with pytest.raises(ValidationError) as caught:
            student_spec_create(user=owner, project=project_a, name=f"s {len(messages)}",
                                model_dir=path)
        messages[name] = caught.value.message_dict["model_dir"]
    assert all(m == [MODEL_DIR_REFUSED] for m in messages.values()), messages
    assert not StudentSpec.objects.filter(project=project_a).exclude(preset="tiny").exists()
    for path in (paths.model, paths.own):
        student_spec_create(user=owner, project=project_a, name=f"ok {path.name}",
                            model_dir=str(path))


def test_the_launch_page_gives_one_message_for_missing_and_forbidden(paths, client_for,
                                                                     editor, project_a):
    teacher = TeacherConfigFactory(project=project_a, name="oracle")
    curriculum = CurriculumFactory(project=project_a, name="uniform")
    data = {"name": "", "preset": "", "max_length": "64", "teacher_config": teacher.pk,
            "curriculum": curriculum.pk, "rounds": "2", "steps_per_round": "20",
            "batch_size": "16", "lr": "0.001", "eval_size": "40", "seed": "7", "device": "cpu"}
    client = client_for(editor)
    errors = []
    for path in (str(paths.root / "missing"), "/etc", str(paths.other)):
        response = client.post(reverse("runs:run-new", args=[project_a.pk]),
                               {**data, "model_dir": path})
        assert response.status_code == 400
        errors.append(response.context["form"].errors["model_dir"])
        assert MODEL_DIR_REFUSED in response.content.decode().replace("&#x27;", "'")
    assert errors[0] == errors[1] == errors[2] == [MODEL_DIR_REFUSED]
    assert not Run.objects.filter(project=project_a).exclude(pk=paths.run_a.pk).exists()


def test_a_launch_refuses_a_stored_student_or_teacher_with_a_forbidden_path(paths, owner,
                                                                           project_a):
    """Rows saved before the rule (or pointing at a folder that moved) are refused too."""
    curriculum = CurriculumFactory(project=project_a, strategy="uniform")
    oracle = TeacherConfigFactory(project=project_a)
    student = StudentSpecFactory(project=project_a, preset="", model_dir=str(paths.other))
    with pytest.raises(ValidationError) as caught:
        run_create(user=owner, project=project_a, student=student, teacher_config=oracle,
                   curriculum=curriculum, enqueue=False)
    assert caught.value.message_dict == {"spec.student.model_dir": [MODEL_DIR_REFUSED]}
    local = TeacherConfigFactory(project=project_a, kind="hf_local", model_dir="/etc")
    with pytest.raises(ValidationError) as caught:
        run_create(user=owner, project=project_a, student=StudentSpecFactory(project=project_a),
                   teacher_config=local, curriculum=curriculum, enqueue=False)
    assert caught.value.message_dict == {"spec.teacher.model_dir": [MODEL_DIR_REFUSED]}
    ok = StudentSpecFactory(project=project_a, preset="", model_dir=str(paths.own))
    run = run_create(user=owner, project=project_a, student=ok, teacher_config=oracle,
                     curriculum=curriculum, enqueue=False)
    assert run.spec["student"]["model_dir"] == str(paths.own)
    assert "allowed_hosts" not in run.spec["teacher"]  # the worker fills it from settings


def test_a_local_teacher_is_confined_the_same_way(paths, owner, project_a, client_for):
    for i, path in enumerate(("/etc", str(paths.root / "missing"), str(paths.other))):
        with pytest.raises(ValidationError) as caught:
            teacher_config_create(user=owner, project=project_a, name=f"t{i}", kind="hf_local",
                                  model_dir=path)
        assert caught.value.message_dict == {"model_dir": [MODEL_DIR_REFUSED]}
    teacher_config_create(user=owner, project=project_a, name="ok", kind="hf_local",
                          model_dir=str(paths.model))
    # "test connection" answers the same for a missing and a forbidden folder
    client, url = client_for(owner), reverse("prompts:teacher-new", args=[project_a.pk])
    form = {"name": "local", "kind": "hf_local", "base_url": "", "model": "", "api_key": "",
            "timeout_s": "5", "max_retries": "0", "concurrency": "1", "action": "test"}
    tests = [client.post(url, {**form, "model_dir": path}).context["test"]
             for path in ("/etc", str(paths.root / "missing"), str(paths.secret))]
    assert {t.error for t in tests} == {MODEL_DIR_REFUSED}
    found = client.post(url, {**form, "model_dir": str(paths.model)}).context["test"]
    assert found.ok and "config.json" in found.note


def test_the_worker_checks_again_and_loads_the_resolved_path(paths, project_a):
    """A symlink under the roots moved after launch to another team's checkpoint."""
    link = paths.root / "current"
    link.symlink_to(paths.model)
    run = RunFactory(project=project_a, spec={"student": {"preset": None,
                                                          "model_dir": str(link)}})
    assert run_spec_for_worker(run=run).student.model_dir == str(paths.model.resolve())
    os.unlink(link)
    link.symlink_to(paths.other)
    with pytest.raises(ModelLoadError, match="not found or not allowed"):
        run_spec_for_worker(run=run)
    run.spec = {"teacher": {"kind": "hf_local", "model_dir": "/etc"}}
    run.save()
    with pytest.raises(ModelLoadError, match="not found or not allowed"):
        run_spec_for_worker(run=run)


def test_skill_extraction_refuses_a_forbidden_local_teacher_before_loading(paths, project_a):
    add = SkillFactory(project=project_a, name="add")
    ExampleFactory.create_batch(3, project=project_a, skills=[add])
    teacher = TeacherConfigFactory(project=project_a, kind="hf_local", model_dir=str(paths.other))
    job = SkillExtraction.objects.create(project=project_a, teacher_config=teacher)
    assert skill_extract.run(job.pk) == "failed"
    job.refresh_from_db()
    assert "not found or not allowed" in job.error
