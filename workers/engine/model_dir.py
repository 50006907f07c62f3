"""Local Hugging Face model directories: what one must hold, checked before loading so the
error says what is missing, and the loading itself (model and tokenizer, local files
only)."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging as hf_logging

from workers.engine.errors import ModelLoadError

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json",
                   "vocab.txt")


def check_model_dir(path: str | Path) -> Path:
    """``path`` if it looks like a Hugging Face causal-LM directory, else ModelLoadError
    saying what is missing (before transformers' own, longer errors)."""
    path = Path(path)
    if not path.exists():
        raise ModelLoadError(str(path), "does not exist")
    if not path.is_dir():
        raise ModelLoadError(str(path), "is not a directory")
    if not (path / "config.json").is_file():
        hint = " (a LoRA adapter? give its base model)" if \
            (path / "adapter_config.json").is_file() else ""
        raise ModelLoadError(str(path), f"no config.json in {path}{hint}")
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        raise ModelLoadError(str(path), f"no weights in {path} (looked for "
                                        f"{', '.join(WEIGHT_FILES)})")
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise ModelLoadError(str(path), f"no tokenizer in {path} (looked for "
                                        f"{', '.join(TOKENIZER_FILES)})")
    return path


def load_model_dir(path: str | Path):
    """(model, tokenizer) from a local Hugging Face directory; ModelLoadError naming it."""
    path = check_model_dir(path)
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True,
                                                     dtype=torch.float32)
    except Exception as exc:  # any loader failure is reported with the path
        raise ModelLoadError(str(path), f"{type(exc).__name__}: {exc}") from exc
    return model, tokenizer
