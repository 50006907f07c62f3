"""The security settings read from the environment (docs/security.md)."""

import os
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_list, env_paths


def test_model_roots_are_absolute_paths(monkeypatch):
    monkeypatch.setenv("STUDIO_MODEL_ROOTS", "/srv/models, /mnt/shared/models")
    assert env_paths("STUDIO_MODEL_ROOTS", []) == [Path("/srv/models"),
                                                  Path("/mnt/shared/models")]
    monkeypatch.setenv("STUDIO_MODEL_ROOTS", "/srv/models,models")
    with pytest.raises(ImproperlyConfigured, match="STUDIO_MODEL_ROOTS must list absolute"):
        env_paths("STUDIO_MODEL_ROOTS", [])
    monkeypatch.delenv("STUDIO_MODEL_ROOTS")
    assert env_paths("STUDIO_MODEL_ROOTS", [Path("/data/models")]) == [Path("/data/models")]


def test_the_teacher_allow_list_is_empty_unless_set(monkeypatch):
    monkeypatch.delenv("STUDIO_TEACHER_ALLOWED_HOSTS", raising=False)
    assert env_list("STUDIO_TEACHER_ALLOWED_HOSTS", []) == []
    monkeypatch.setenv("STUDIO_TEACHER_ALLOWED_HOSTS", "127.0.0.1:8000, ollama:11434")
    assert env_list("STUDIO_TEACHER_ALLOWED_HOSTS", []) == ["127.0.0.1:8000", "ollama:11434"]


def test_base_settings_default_to_no_allowed_hosts_and_the_data_models_root():
    from config.settings import base

    if not os.environ.get("STUDIO_TEACHER_ALLOWED_HOSTS"):
        assert base.STUDIO_TEACHER_ALLOWED_HOSTS == []
    if not os.environ.get("STUDIO_MODEL_ROOTS"):
        assert base.STUDIO_MODEL_ROOTS == [base.DATA_DIR / "models"]
