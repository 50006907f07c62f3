#!/usr/bin/env sh
# Web container: apply migrations, then serve with gunicorn.
set -e
python manage.py migrate --noinput
# Threaded workers share one connection pool per process (STUDIO_DB_POOL): at most
# WEB_CONCURRENCY x STUDIO_DB_POOL_MAX_SIZE connections to PostgreSQL, whatever the load.
export STUDIO_DB_POOL="${STUDIO_DB_POOL:-1}"
exec gunicorn config.wsgi:application --bind 0.0.0.0:8000 --workers "${WEB_CONCURRENCY:-3}" \
  --worker-class gthread --threads "${WEB_THREADS:-8}" --timeout 60
