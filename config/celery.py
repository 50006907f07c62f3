"""The Celery app. Task modules are listed in settings (CELERY_IMPORTS); settings come from
Django (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
