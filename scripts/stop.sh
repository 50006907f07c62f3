#!/usr/bin/env bash
# Stops what `make demo` started (web, worker, beat): signals the demo script, which stops
# its processes and removes its pid file. Says so when nothing runs.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${STUDIO_DATA_DIR:-data}
PID_FILE="$DATA_DIR/demo.pid"
if [ ! -f "$PID_FILE" ]; then
  echo "Nothing to stop: no demo runs from this folder ($PID_FILE not found)."
  exit 0
fi
pid=$(cat "$PID_FILE")
if ! kill -0 "$pid" 2>/dev/null; then
  echo "Nothing to stop: the demo (pid $pid) had already ended."
  rm -f "$PID_FILE"
  exit 0
fi
kill -TERM "$pid"
for _ in $(seq 1 50); do
  kill -0 "$pid" 2>/dev/null || { echo "Stopped the demo (web, worker, beat)."; exit 0; }
  sleep 0.2
done
echo "The demo (pid $pid) did not stop within 10 s; stopping it hard." >&2
pkill -KILL -P "$pid" 2>/dev/null || true
kill -KILL "$pid" 2>/dev/null || true
rm -f "$PID_FILE"
