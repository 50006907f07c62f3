"""Bad configuration fails fast with a message naming the variable; prod passes check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DATABASE_URL", "CELERY_", "DJANGO_", "STUDIO_SECRET_KEYS"))}
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


FERNET_KEY = "K1x2n0Qe3wzq9b8VtR7yU6iO5pA4sD3fG2hJ1kL0mN8="  # 32 bytes, a test key only


def test_prod_requires_secret_keys_for_the_teachers_api_keys(tmp_path):
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.prod", "DJANGO_SECRET_KEY": "x7#kq" * 12}
    result = _manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "STUDIO_SECRET_KEYS must be set" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_secret_key_is_named_by_position_never_shown(tmp_path):
    result = _manage("check", env={"STUDIO_SECRET_KEYS": f"{FERNET_KEY},not-a-key-zz9"},
                     tmp_path=tmp_path)
    assert result.returncode != 0
    assert "STUDIO_SECRET_KEYS: key 2 of 2 is not a Fernet key" in result.stderr
    assert "not-a-key-zz9" not in result.stderr and FERNET_KEY not in result.stderr
    assert "Traceback" not in result.stderr


def test_prod_passes_check_deploy_without_warnings(tmp_path):
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "DJANGO_SECRET_KEY": "x7#kq" * 12,
        "STUDIO_SECRET_KEYS": FERNET_KEY,
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


def test_web_processes_pool_their_postgres_connections(tmp_path):
    code = ("from django.conf import settings; import json; "
            "print(json.dumps(settings.DATABASES['default'], default=str))")
    env = {"DATABASE_URL": "postgres://studio@db.example.org:5432/studio",
           "STUDIO_DB_POOL": "1", "STUDIO_DB_POOL_MAX_SIZE": "5"}
    result = _manage("shell", "-c", code, env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    import json

    db = json.loads(result.stdout.strip().splitlines()[-1])
    assert db["OPTIONS"]["pool"]["max_size"] == 5
    assert db["CONN_MAX_AGE"] == 0  # Django refuses persistent connections with a pool
    without = _manage("shell", "-c", code, env={k: v for k, v in env.items()
                                                if k != "STUDIO_DB_POOL"}, tmp_path=tmp_path)
    assert "pool" not in json.loads(without.stdout.strip().splitlines()[-1]).get("OPTIONS", {})


PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.prod",
    "DJANGO_SECRET_KEY": "x7#kq" * 12,
    "STUDIO_SECRET_KEYS": FERNET_KEY,
}


@pytest.mark.parametrize("hosts", [None, "", "*", "studio.example.org,*"])
def test_prod_requires_named_allowed_hosts(tmp_path, hosts):
    env = dict(PROD_ENV) if hosts is None else {**PROD_ENV, "DJANGO_ALLOWED_HOSTS": hosts}
    result = _manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS must be set" in result.stderr
    assert "Traceback" not in result.stderr


def test_prod_cookies_are_secure_and_hosts_are_the_named_ones(tmp_path):
    code = ("from django.conf import settings as s; import json; print(json.dumps(["
            "s.ALLOWED_HOSTS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_HTTPONLY, s.SECURE_HSTS_SECONDS > 0]))")
    env = {**PROD_ENV, "DJANGO_ALLOWED_HOSTS": "studio.example.org"}
    result = _manage("shell", "-c", code, env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    import json

    hosts, *flags = json.loads(result.stdout.strip().splitlines()[-1])
    assert hosts == ["studio.example.org"] and all(flags)


def test_pool_processes_have_time_to_preload_the_engine():
    """A GPU worker's pool process imports torch before it reports "up" (3-4 s); Celery's
    default wait of 4 s killed it at start."""
    from config.celery import app

    assert app.conf.worker_proc_alive_timeout >= 30


def test_rate_limits_may_share_a_redis_cache(tmp_path):
    code = ("from django.conf import settings; "
            "print(settings.CACHES['default']['BACKEND'])")
    shared = _manage("shell", "-c", code, env={"STUDIO_CACHE_URL": "redis://cache.example.org:6379/1"},
                     tmp_path=tmp_path)
    assert shared.stdout.strip().endswith("RedisCache"), shared.stderr
    local = _manage("shell", "-c", code, env={}, tmp_path=tmp_path)
    assert local.stdout.strip().endswith("LocMemCache"), local.stderr
    bad = _manage("check", env={"STUDIO_CACHE_URL": "memcached://x"}, tmp_path=tmp_path)
    assert bad.returncode != 0 and "STUDIO_CACHE_URL must be a redis://" in bad.stderr
