"""Base settings: everything comes from the environment, with an embedded default.

With no environment at all the product runs on SQLite in ``DATA_DIR`` and a Celery broker
that needs no server (kombu's filesystem transport). ``DATABASE_URL`` switches to
PostgreSQL and ``CELERY_BROKER_URL`` to Redis.
"""

from pathlib import Path

from config.env import (
    broker_url,
    database_config,
    enable_pool,
    env_bool,
    env_fernet_keys,
    env_int,
    env_list,
    env_paths,
    env_str,
)
from workers.queues import ROUTES, Queue, TaskName

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(env_str("STUDIO_DATA_DIR", str(BASE_DIR / "data"))).resolve()

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# Teachers' API keys are stored encrypted (apps/common/secrets.py) with these Fernet keys:
# the first encrypts, all decrypt (rotation: docs/security.md). Unset (development, tests),
# one key is derived from SECRET_KEY; production settings refuse to start without it.
STUDIO_SECRET_KEYS = env_fernet_keys("STUDIO_SECRET_KEYS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    # django-ninja (the REST API, apps/api): installed for its templates and static files,
    # so the API docs page loads Swagger UI from this site, never from a CDN.
    "ninja",
    "apps.core",
    "apps.accounts",
    "apps.projects",
    "apps.prompts",
    "apps.curricula",
    "apps.runs",
    "apps.compare",
    "apps.review",
    "apps.sharing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files with far-future cache headers (hashed names) and gzip/brotli copies made
    # by collectstatic; pages gzipped (Django's BREACH mitigation). docs/benchmarks.md,
    # "Run dashboard and page weight".
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    # CSP, nosniff, referrer policy, frame denial (docs/security.md, "Web")
    "apps.common.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": database_config("DATABASE_URL", DATA_DIR / "studio.sqlite3")}
# Web processes (`make web`, `make demo`, the web container) set STUDIO_DB_POOL=1: each
# process then shares a psycopg pool of at most STUDIO_DB_POOL_MAX_SIZE connections among its
# threads, and a burst of requests waits up to STUDIO_DB_POOL_TIMEOUT_S for one instead of
# opening a connection per thread until PostgreSQL refuses more. Celery workers keep one
# connection per process (a pool must not be shared across the fork of a worker pool).
if env_bool("STUDIO_DB_POOL", False):
    enable_pool(DATABASES["default"], max_size=env_int("STUDIO_DB_POOL_MAX_SIZE", 8),
                timeout_s=float(env_int("STUDIO_DB_POOL_TIMEOUT_S", 20)))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Production (prod.py, and collectstatic in docker/web.Dockerfile) stores static files under
# content-hashed names with compressed copies, which WhiteNoise serves as immutable.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": env_str(
        "DJANGO_STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")},
}
# With DEBUG, WhiteNoise serves straight from static/ (no collectstatic needed); tests need
# neither (the live server serves static files itself) nor pay for the finders' scan.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)
# Static files serve this site's own pages: no "Access-Control-Allow-Origin: *" on them.
WHITENOISE_ALLOW_ALL_ORIGINS = False

# Uploads (JSONL datasets) are refused above this size, with a clear error.
STUDIO_MAX_UPLOAD_BYTES = env_int("STUDIO_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Checkpoints and exports: a local path or a shared filesystem path seen by every worker.
STUDIO_ARTIFACTS_DIR = Path(env_str("STUDIO_ARTIFACTS_DIR", str(DATA_DIR / "artifacts")))

# Security (docs/security.md). Teacher calls reach only public addresses; these hosts
# ("host" or "host:port", e.g. "127.0.0.1:8000,ollama:11434") may be loopback or private
# (a local vLLM or Ollama server).
STUDIO_TEACHER_ALLOWED_HOSTS = env_list("STUDIO_TEACHER_ALLOWED_HOSTS", [])
# Model directories (a student's or a local teacher's) must lie under one of these roots, or
# be a checkpoint of a run of the same team in STUDIO_ARTIFACTS_DIR. The web and the workers
# must see them at the same paths.
STUDIO_MODEL_ROOTS = env_paths("STUDIO_MODEL_ROOTS", [DATA_DIR / "models"])

# Rate limits (apps/common/ratelimit.py: sign-in failures, prompt previews, "try it") count
# in the default cache. Local memory is per process: with several web processes set
# STUDIO_CACHE_URL=redis://HOST:6379/1 so that they share one count (docs/security.md, Web).
_CACHE_URL = env_str("STUDIO_CACHE_URL", "")
if _CACHE_URL and not _CACHE_URL.startswith(("redis://", "rediss://")):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("STUDIO_CACHE_URL must be a redis:// or rediss:// URL")
CACHES = {"default": (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}
    if _CACHE_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
)}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = broker_url("CELERY_BROKER_URL", "filesystem://")
_BROKER_DIR = DATA_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("in", "processed", "control"):
        (_BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "in"),
        "data_folder_out": str(_BROKER_DIR / "in"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        # exchange tables; unset, kombu writes them to ./control in the working directory
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Redis redelivers an unacknowledged message after the visibility timeout. Training
    # tasks can run for hours, and a redelivered run is refused by the conditional claim
    # (queued -> running), so the timeout only bounds how long a message lost with a dead
    # worker waits; the stale-heartbeat sweep requeues such runs sooner.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600),
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A pool process reports "up" only after worker_process_init, where GPU workers import torch
# and the engine (3-4 s, more on a cold disk or with CUDA); Celery's default of 4 s killed
# such processes at start. The UP message is the readiness signal; this bounds the wait.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = float(env_int("CELERY_WORKER_PROC_ALIVE_TIMEOUT", 60))
CELERY_TASK_DEFAULT_QUEUE = str(Queue.DEFAULT)
# Task modules: runs (gpu queue + sweeps) and teacher jobs (default queue); each task's
# queue is in workers/queues.py.
CELERY_IMPORTS = ["workers.tasks.runs", "workers.tasks.teachers", "workers.tasks.imports"]
CELERY_TASK_ROUTES = ROUTES
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that goes away (Redis restarted) does not stop the run in progress: the worker
# reconnects, the task goes on and its results are in the database, not in the broker.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False

# Flower, the Celery monitor (`make flower`), linked from the run list for staff.
STUDIO_FLOWER_URL = env_str("STUDIO_FLOWER_URL", "http://127.0.0.1:5555/")

# Run lifecycle (workers/tasks/runs.py). A GPU worker beats every STUDIO_RUN_HEARTBEAT_S and
# reads pause/cancel requests at the same time; the sweep (beat, every
# STUDIO_SWEEP_INTERVAL_S) requeues a running run silent for STUDIO_RUN_STALE_AFTER_S and
# sends again a queued run whose message was sent STUDIO_RUN_RESEND_AFTER_S ago.
STUDIO_RUN_HEARTBEAT_S = float(env_int("STUDIO_RUN_HEARTBEAT_S", 2))
STUDIO_RUN_PROGRESS_S = float(env_int("STUDIO_RUN_PROGRESS_S", 2))
STUDIO_RUN_STALE_AFTER_S = env_int("STUDIO_RUN_STALE_AFTER_S", 90)
STUDIO_RUN_RESEND_AFTER_S = env_int("STUDIO_RUN_RESEND_AFTER_S", 900)
STUDIO_SWEEP_INTERVAL_S = env_int("STUDIO_SWEEP_INTERVAL_S", 30)
# One execution of a run may last this long; a soft limit fails the run with that reason
# (retry continues from its last finished round), the hard limit 5 minutes later kills it.
STUDIO_RUN_TIME_LIMIT_S = env_int("STUDIO_RUN_TIME_LIMIT_S", 3 * 24 * 3600)
CELERY_TASK_ANNOTATIONS = {
    str(TaskName.RUN_EXECUTE): {
        "soft_time_limit": STUDIO_RUN_TIME_LIMIT_S,
        "time_limit": STUDIO_RUN_TIME_LIMIT_S + 300,
    },
}
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-runs": {
        "task": str(TaskName.RUN_SWEEP),
        "schedule": float(STUDIO_SWEEP_INTERVAL_S),
        "options": {"queue": ROUTES[TaskName.RUN_SWEEP]["queue"],
                    "expires": float(STUDIO_SWEEP_INTERVAL_S)},
    },
}
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("STUDIO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
