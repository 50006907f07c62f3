#!/usr/bin/env bash
# GPU throughput of training and evaluation, in one go (about 5 minutes on an H100; every
# step has its own time limit, 470 s in all, so the whole stays under 8 minutes).
#
#   bash benchmarks/gpu_throughput.sh [RESULTS_DIR]     # default: gpu-results/
#
# Every result is a JSON file in RESULTS_DIR with "device_name" (the GPU) beside its figures:
#   check_compiled.json   losses of the packed, compiled step vs the padded eager step
#   train_base_bs64.json  base preset: ours (packed, compiled, bf16) vs transformers.Trainer,
#   train_base_bs256.json   tokens/s and % of the GPU's bf16 peak
#   train_small_bs256.json  small preset, ours only (is the step still bound by the host?)
#   train_base_eager.json   base at batch 256 without packing or compiling (what they add)
#   eval_base.json        evaluator vs one generate per item, identical predictions
#   summary.txt           the main figures, one line each
# The figures go into docs/benchmarks.md with the GPU's name.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${1:-gpu-results}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
$PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', \
transformers.__version__)" | tee -a "$OUT/gpu.txt"

step() {  # step NAME SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit ${limit}s)"
  local start=$SECONDS
  if timeout "$limit" "$@" > "$OUT/$name.json" 2> "$OUT/$name.err"; then
    echo "   done in $((SECONDS - start))s"
  else
    echo "   FAILED or timed out after $((SECONDS - start))s (see $OUT/$name.err)"
  fi
}

step check_compiled 80 $PY benchmarks/train_speed.py --device cuda --preset small \
  --check-compiled --steps 12 --batch-size 64 --items 4096
step train_base_bs64 120 $PY benchmarks/train_speed.py --device cuda --preset base \
  --batch-size 64 --steps 60 --warmup 12 --repeats 2 --items 16384
step train_base_bs256 90 $PY benchmarks/train_speed.py --device cuda --preset base \
  --batch-size 256 --steps 40 --warmup 12 --repeats 2 --items 16384
step train_small_bs256 50 $PY benchmarks/train_speed.py --device cuda --preset small \
  --batch-size 256 --steps 40 --warmup 12 --repeats 2 --items 16384 --no-hf
step train_base_eager 45 $PY benchmarks/train_speed.py --device cuda --preset base \
  --batch-size 256 --steps 40 --warmup 5 --repeats 2 --items 16384 --no-hf \
  --pack off --compile off
step eval_base 85 $PY benchmarks/eval_speed.py --device cuda --preset base --items 1024 \
  --batch-size 128 --single-items 64 --train-steps 60

$PY - "$OUT" <<'EOF' | tee "$OUT/summary.txt"
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
for path in sorted(out.glob("*.json")):
    try:
        r = json.loads(path.read_text())
    except ValueError:
        print(f"{path.stem}: no result")
        continue
    name = r.get("device_name")
    if "max_relative_loss_difference" in r:
        print(f"{path.stem} [{name}]: max relative loss difference "
              f"{r['max_relative_loss_difference']:.2e}")
    elif "median_tokens_per_s" in r:
        tps = ", ".join(f"{k} {v:,.0f}" for k, v in r["median_tokens_per_s"].items())
        peak = r.get("percent_of_bf16_peak", {})
        pk = ", ".join(f"{k} {v:.1f}%" for k, v in peak.items())
        print(f"{path.stem} [{name}]: tokens/s {tps}; speedup {r['speedup']}; "
              f"of bf16 peak: {pk}")
    elif "items_per_s" in r:
        print(f"{path.stem} [{name}]: items/s {r['items_per_s']}; "
              f"{r['speedup_vs_one_by_one']:.1f}x one-by-one generate; same predictions "
              f"{r['same_predictions_as_one_by_one']}/{r['same_predictions_as_generate_batched']}")
EOF
