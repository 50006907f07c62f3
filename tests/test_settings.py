"""Bad configuration fails fast with a message naming the variable; prod passes check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DATABASE_URL", "CELERY_", "DJANGO_"))}
    clean.update({"STUDIO_DATA_DIR": str(tmp_path)}, **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean,
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DATABASE_URL", "mysql://u@h/db", "DATABASE_URL must be a postgres://"),
        ("DATABASE_URL", "not a url", "DATABASE_URL"),
        ("DATABASE_URL", "postgres://u@localhost:5432/", "DATABASE_URL names no database"),
        ("CELERY_BROKER_URL", "redis://localhost:notaport/0", "CELERY_BROKER_URL has a malformed"),
        ("CELERY_BROKER_URL", "kafka://x", "CELERY_BROKER_URL must start with one of"),
        ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG must be true or false"),
    ],
)
def test_bad_configuration_stops_startup_naming_the_variable(tmp_path, variable, value, message):
    result = _manage("check", env={variable: value}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_embedded_default_needs_no_environment(tmp_path):
    result = _manage("check", env={}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr


def test_prod_requires_a_real_secret_key(tmp_path):
    result = _manage("check", env={"DJANGO_SETTINGS_MODULE": "config.settings.prod"},
                     tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_prod_passes_check_deploy_without_warnings(tmp_path):
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "DJANGO_SECRET_KEY": "x7#kq" * 12,
        "DJANGO_ALLOWED_HOSTS": "studio.example.org",
        "DATABASE_URL": "postgres://studio@db.example.org:5432/studio",
        "CELERY_BROKER_URL": "redis://broker.example.org:6379/0",
    }
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_embedded_broker_keeps_every_folder_in_the_data_folder(tmp_path):
    """kombu's filesystem transport writes exchange tables to ./control unless told where:
    all of its folders live under STUDIO_DATA_DIR, none in the working directory."""
    code = ("from django.conf import settings; import json; "
            "print(json.dumps(settings.CELERY_BROKER_TRANSPORT_OPTIONS))")
    result = _manage("shell", "-c", code, env={}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    import json

    options = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        assert Path(options[key]).is_relative_to(tmp_path), key
