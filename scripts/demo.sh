#!/usr/bin/env bash
# Starts web + one worker (both queues) + beat on the embedded default, stops all on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PORT=${PORT:-8000}
DATA_DIR=${STUDIO_DATA_DIR:-data}
mkdir -p "$DATA_DIR"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
"$VENV/bin/celery" -A config worker -Q default,gpu -c 1 --prefetch-multiplier 1 -n demo@%h \
  --loglevel WARNING &
pids+=($!)
"$VENV/bin/celery" -A config beat --loglevel WARNING -s "$DATA_DIR/celerybeat-schedule" &
pids+=($!)
echo
echo "  Curriculum studio: http://127.0.0.1:${PORT}/   (log in with the demo user printed above)"
echo
STUDIO_DB_POOL=1 "$VENV/bin/python" manage.py runserver "127.0.0.1:${PORT}" --noreload &
pids+=($!)
wait -n
