#!/usr/bin/env bash
# Seeds the demo, then starts web + one worker (both queues) + beat on the embedded default,
# and prints the URL and the demo login once the web answers. Stops all on Ctrl-C or
# `make stop` (scripts/stop.sh), which signals the pid this script writes.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PORT=${PORT:-8000}
DATA_DIR=${STUDIO_DATA_DIR:-data}
mkdir -p "$DATA_DIR"
PID_FILE="$DATA_DIR/demo.pid"
if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
  echo "The demo already runs (pid $(cat "$PID_FILE")); stop it with: make stop" >&2
  exit 1
fi
# A new password at every start unless DEMO_PASSWORD is given; it is printed below.
DEMO_PASSWORD=${DEMO_PASSWORD:-$("$VENV/bin/python" -c "import secrets; print(secrets.token_urlsafe(12))")}
DEMO_PASSWORD="$DEMO_PASSWORD" "$VENV/bin/python" manage.py seed_demo
echo $$ > "$PID_FILE"
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -f "$PID_FILE"
}
trap cleanup EXIT
trap 'exit 0' INT TERM
"$VENV/bin/celery" -A config worker -Q default,gpu -c 2 --prefetch-multiplier 1 -n demo@%h \
  --loglevel WARNING &
pids+=($!)
"$VENV/bin/celery" -A config beat --loglevel WARNING -s "$DATA_DIR/celerybeat-schedule" &
pids+=($!)
STUDIO_DB_POOL=1 "$VENV/bin/python" manage.py runserver "127.0.0.1:${PORT}" --noreload &
pids+=($!)
# The banner comes last: once the web answers and the worker answers a ping (/health/workers/).
for _ in $(seq 1 90); do
  "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${PORT}/health/workers/', timeout=5)" 2>/dev/null && break
  sleep 1
done
cat <<BANNER

  +--------------------------------------------------------------------+
    Curriculum Studio: http://127.0.0.1:${PORT}/
    Log in as: demo  password: ${DEMO_PASSWORD}
    Stop: Ctrl-C here, or \`make stop\` from another terminal
  +--------------------------------------------------------------------+

BANNER
wait -n
