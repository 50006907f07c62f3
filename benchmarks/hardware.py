"""What the throughput benchmarks print beside every figure: the device by name, and the
share of its bf16 peak a training rate reaches (model FLOPs utilisation)."""

from __future__ import annotations

import importlib.util
import platform
import subprocess
import sys
import types
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]

# dense bf16 tensor-core peak, TFLOP/s, by a fragment of the CUDA device name (first match)
BF16_PEAK_TFLOPS = (
    ("H200", 989.0), ("H100 PCIe", 756.0), ("H100", 989.0), ("GH200", 989.0),
    ("B200", 2250.0), ("A100", 312.0), ("A800", 312.0), ("L40S", 362.0), ("L40", 181.0),
    ("L4", 121.0), ("A10G", 125.0), ("A10", 125.0), ("RTX 4090", 165.0),
    ("RTX 3090", 71.0), ("A6000", 155.0),
)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.machine()}, {torch.get_num_threads()} torch threads)"


def bf16_peak_tflops(device: torch.device, override: float = 0.0) -> float | None:
    if override:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for frag, peak in BF16_PEAK_TFLOPS if frag in name), None)


def train_flops_per_token(model: torch.nn.Module, mean_context: float) -> float:
    """6 x the parameters a token passes through (all but the input embedding), plus the
    attention scores and values: 12 x layers x hidden x mean context (forward and backward)."""
    config = model.config
    embed = model.get_input_embeddings().weight.numel()
    params = sum(p.numel() for p in model.parameters()) - embed
    return 6 * params + 12 * config.num_hidden_layers * config.hidden_size * mean_context


def load_from_git(ref: str, path: str, name: str) -> types.ModuleType:
    """The module at ``path`` as it was at git ``ref`` (a "before" side of a comparison run
    in the same process as the "after" side)."""
    source = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    exec(compile(source, f"{ref}:{path}", "exec"), module.__dict__)  # noqa: S102
    return module
