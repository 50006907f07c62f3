"""A checkpoint is a complete model: plain transformers plus prompt_format.json reproduce the
eval predictions the engine recorded (docs/checkpoints.md). No engine code loads or generates
here; the engine only runs the tiny run that writes the checkpoint."""

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.engine.student_helpers import tiny_run_spec
from workers.engine.loop import run_loop


@pytest.fixture(scope="module")
def last_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    # enough steps that the answers differ from prompt to prompt
    spec = tiny_run_spec(rounds=1, train={"steps_per_round": 200, "lr": 0.003})
    return Path(run_loop(spec, artifacts_dir=out).final.checkpoint_dir)


def test_checkpoint_holds_every_file_a_model_needs(last_checkpoint):
    names = {p.name for p in last_checkpoint.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "generation_config.json", "prompt_format.json", "eval_items.jsonl",
            "state.json"} <= names
    fmt = json.loads((last_checkpoint / "prompt_format.json").read_text())
    assert fmt["format"] == "curriculum-studio-prompt" and fmt["version"] == 1
    assert fmt["prompt_template"] == "{prompt}\n" and fmt["prepend_bos"] is True
    assert fmt["max_prompt_tokens"] == 16 - 2  # max_length 16, less bos, less one
    gen = json.loads((last_checkpoint / "generation_config.json").read_text())
    assert gen["max_new_tokens"] == fmt["max_new_tokens"] > 0
    assert gen.get("do_sample", False) is False and gen.get("num_beams", 1) == 1


def test_plain_transformers_reproduces_the_recorded_predictions(last_checkpoint):
    ckpt = last_checkpoint
    # --- the snippet of docs/checkpoints.md ---
    tok = AutoTokenizer.from_pretrained(ckpt)
    model = AutoModelForCausalLM.from_pretrained(ckpt)
    fmt = json.loads((ckpt / "prompt_format.json").read_text())

    def answer(prompt: str) -> str:
        ids = tok(fmt["prompt_template"].format(prompt=prompt), add_special_tokens=False)
        ids = [tok.bos_token_id] * fmt["prepend_bos"] + ids.input_ids[-fmt["max_prompt_tokens"]:]
        out = model.generate(torch.tensor([ids]))  # greedy, as generation_config.json says
        return tok.decode(out[0, len(ids):], skip_special_tokens=True)
    # --- end of the snippet ---

    items = {d["id"]: d for d in map(json.loads,
                                      (ckpt / "eval_items.jsonl").read_text().splitlines())}
    verdicts = json.loads((ckpt / "state.json").read_text())["verdicts"]
    assert len(verdicts) == len(items) == 16
    recorded = {v["item_id"]: v["prediction"] for v in verdicts}
    model.eval()
    with torch.no_grad():
        again = {item_id: answer(items[item_id]["prompt"]) for item_id in recorded}
    assert again == recorded
    # the answers depend on the prompt, so the match means something
    assert len(set(recorded.values())) > 1
