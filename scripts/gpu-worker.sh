#!/usr/bin/env bash
# A GPU worker: one GPU (CUDA_VISIBLE_DEVICES), concurrency 1, prefetch 1, the gpu queue.
# On a machine without CUDA the same command trains on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
GPU=${CUDA_VISIBLE_DEVICES:-0}
export CUDA_VISIBLE_DEVICES=$GPU
# Import torch and the engine when the pool process starts: a launched run starts at once.
export STUDIO_PRELOAD_ENGINE=${STUDIO_PRELOAD_ENGINE:-1}
exec "$VENV/bin/celery" -A config worker -Q gpu -c 1 --prefetch-multiplier 1 \
  -n "gpu${GPU}@%h" --loglevel INFO "$@"
