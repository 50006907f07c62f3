#!/usr/bin/env sh
# Web container: apply migrations, then serve with gunicorn.
set -e
python manage.py migrate --noinput
exec gunicorn config.wsgi:application --bind 0.0.0.0:8000 --workers "${WEB_CONCURRENCY:-3}"
