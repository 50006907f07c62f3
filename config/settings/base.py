"""Base settings: everything comes from the environment, with an embedded default.

With no environment at all the product runs on SQLite in ``DATA_DIR`` and a Celery broker
that needs no server (kombu's filesystem transport). ``DATABASE_URL`` switches to
PostgreSQL and ``CELERY_BROKER_URL`` to Redis.
"""

from pathlib import Path

from config.env import broker_url, database_config, env_bool, env_int, env_list, env_str
from workers.queues import ROUTES, Queue, TaskName

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(env_str("STUDIO_DATA_DIR", str(BASE_DIR / "data"))).resolve()

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "apps.core",
    "apps.accounts",
    "apps.projects",
    "apps.prompts",
    "apps.curricula",
    "apps.runs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
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

# Uploads (JSONL datasets) are refused above this size, with a clear error.
STUDIO_MAX_UPLOAD_BYTES = env_int("STUDIO_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Checkpoints and exports: a local path or a shared filesystem path seen by every worker.
STUDIO_ARTIFACTS_DIR = Path(env_str("STUDIO_ARTIFACTS_DIR", str(DATA_DIR / "artifacts")))

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
CELERY_TASK_DEFAULT_QUEUE = str(Queue.DEFAULT)
# Task modules: runs (gpu queue + sweeps) and teacher jobs (default queue); each task's
# queue is in workers/queues.py.
CELERY_IMPORTS = ["workers.tasks.runs", "workers.tasks.teachers"]
CELERY_TASK_ROUTES = ROUTES
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that goes away (Redis restarted) does not stop the run in progress: the worker
# reconnects, the task goes on and its results are in the database, not in the broker.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False

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
