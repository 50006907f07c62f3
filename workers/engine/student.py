"""The student: a Hugging Face causal LM, built from a preset or loaded from a local directory.

Presets are Llama-style models trained from scratch with a character-level tokenizer saved in
Hugging Face format, so every checkpoint loads with ``AutoModelForCausalLM.from_pretrained``
and ``AutoTokenizer.from_pretrained``. A local model directory (any causal LM) works the same
way; LoRA adapters (peft) are optional.

A preset's vocabulary is printable ASCII plus every other character of the run's data (pool
and eval items, :func:`data_chars`), so nothing the data holds becomes ``<unk>``; a loaded
tokenizer that cannot encode a character of the data refuses the item naming it
(:func:`check_items`), and so does an item longer than the student's context: no prompt is
ever cut.

Items are formatted as ``<bos> prompt ANSWER_SEP`` followed by ``answer <eos>``: the loss is
taken on the answer tokens only, and greedy generation stops at the answer's end. Every saved
model directory holds that format in ``prompt_format.json`` and the greedy settings in
``generation_config.json``, so plain transformers reproduces the engine's answers
(docs/checkpoints.md).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models
from transformers import (
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)
from transformers.utils import logging as hf_logging

from workers.engine.errors import EngineError, ItemError, ModelLoadError, SpecError
from workers.engine.model_dir import (
    check_model_dir,
    load_model_dir,
)
from workers.engine.spec import StudentSpec
from workers.engine.tasks.base import Item

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK)
CHARS = "\n\t" + "".join(chr(c) for c in range(32, 127))  # printable ASCII: every preset has it
ANSWER_SEP = "\n"  # between the prompt and the answer
PROMPT_TEMPLATE = "{prompt}" + ANSWER_SEP  # the text a prompt is tokenized from (after bos)
PROMPT_FORMAT_FILE = "prompt_format.json"
PROMPT_FORMAT_VERSION = 1
REFUSED_EXAMPLES = 3  # items named in a refusal

# Llama-style presets; parameter counts (char vocabulary, untied head) in docs/benchmarks.md.
PRESETS: dict[str, dict] = {
    "tiny": {"hidden_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4,
             "intermediate_size": 512},
    "small": {"hidden_size": 256, "num_hidden_layers": 10, "num_attention_heads": 8,
              "intermediate_size": 1024},
    "base": {"hidden_size": 512, "num_hidden_layers": 12, "num_attention_heads": 8,
             "intermediate_size": 2048},
}


def data_chars(items: Iterable[Item]) -> set[str]:
    """Every character of the items' prompts and answers (a preset's vocabulary covers
    them)."""
    out: set[str] = set()
    for it in items:
        out.update(it.prompt)
        out.update(it.answer)
    return out


def build_char_tokenizer(chars: Iterable[str] = ()) -> PreTrainedTokenizerFast:
    """A character-level tokenizer (no download): pad/bos/eos/unk, printable ASCII, then
    every other character of ``chars`` in code-point order.

    Printable ASCII keeps its ids whatever the data, so data that uses no other character
    gets the same tokenizer (and the same model) as before. A BPE model with no merges maps
    each character to one token; the ``Fuse`` decoder joins them back without spaces.
    """
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for ch in CHARS:
        vocab.setdefault(ch, len(vocab))
    for ch in sorted(set(chars) - set(CHARS)):
        if len(ch) == 1:
            vocab.setdefault(ch, len(vocab))
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK))
    backend.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token=PAD, bos_token=BOS, eos_token=EOS, unk_token=UNK,
        padding_side="right", model_max_length=4096,
    )


def preset_config(preset: str, *, vocab_size: int, max_length: int) -> LlamaConfig:
    if preset not in PRESETS:
        raise SpecError("spec.student.preset", f"unknown preset {preset!r} "
                        f"(known: {', '.join(PRESETS)})")
    return LlamaConfig(
        vocab_size=vocab_size,
        max_position_embeddings=max(128, 2 * max_length),
        tie_word_embeddings=False,
        attention_dropout=0.0,
        pad_token_id=0, bos_token_id=1, eos_token_id=2,
        **PRESETS[preset],
    )


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, else CPU; ``cuda`` without a GPU is a spec error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SpecError("spec.device", f"{name!r} asked for, but no CUDA device is present")
        return torch.device(name)
    raise SpecError("spec.device", f"must be auto, cpu, cuda or cuda:N, got {name!r}")


@dataclass
class Student:
    """A causal LM plus its tokenizer, on one device, with the item format built in."""

    model: torch.nn.Module
    tokenizer: PreTrainedTokenizerFast
    device: torch.device
    max_length: int = 64
    lora: bool = False
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def pad_id(self) -> int:
        return int(self.tokenizer.pad_token_id)

    @property
    def eos_id(self) -> int:
        return int(self.tokenizer.eos_token_id)

    def autocast(self):
        """bf16 autocast on CUDA; nothing on CPU (fp32 keeps CPU runs exactly repeatable)."""
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def encode_prompt(self, prompt: str) -> list[int]:
        """Token ids of the prompt part (bos + prompt + separator), never cut: a prompt
        longer than :attr:`max_prompt_tokens` is an error (run setup refuses such items)."""
        key = ("p", prompt)
        if key not in self._cache:
            bos = [int(self.tokenizer.bos_token_id)] if self.tokenizer.bos_token_id is not None \
                else []
            ids = self._ids(PROMPT_TEMPLATE.format(prompt=prompt))
            if len(ids) > self.max_prompt_tokens:
                raise EngineError(f"a prompt of {len(ids)} tokens is longer than the "
                                  f"{self.max_prompt_tokens} the student's context of "
                                  f"{self.max_length} leaves (run setup refuses such items): "
                                  f"{prompt[:60]!r}")
            self._cache[key] = bos + ids
        return self._cache[key]

    @property
    def max_prompt_tokens(self) -> int:
        """The most tokens a formatted prompt may have, not counting bos (room for at least
        one answer token)."""
        has_bos = self.tokenizer.bos_token_id is not None
        return max(1, self.max_length - 1 - int(has_bos))

    def item_tokens(self, prompt: str, answer: str) -> int:
        """Tokens of the whole training sequence: bos, prompt, separator, answer, eos."""
        bos = int(self.tokenizer.bos_token_id is not None)
        return bos + len(self._ids(PROMPT_TEMPLATE.format(prompt=prompt))) + \
            len(self._ids(answer)) + 1

    def unknown_chars(self, text: str) -> list[str]:
        """The characters of ``text`` the tokenizer cannot encode (they encode to its unk
        token, or to nothing although they are not white space), in order of appearance."""
        out = []
        for ch in dict.fromkeys(text):
            key = ("c", ch)
            if key not in self._cache:
                ids = self._ids(ch)
                unk = self.tokenizer.unk_token_id
                self._cache[key] = (unk is not None and unk in ids) or \
                    (not ids and not ch.isspace())
            if self._cache[key]:
                out.append(ch)
        return out

    def prompt_format(self, *, max_new_tokens: int | None = None) -> dict:
        """The contents of ``prompt_format.json``: how a prompt becomes token ids and how the
        answer is read back, exactly as :meth:`encode_prompt`, :meth:`decode_answer` and
        ``evaluate.generate_answers`` do it (docs/checkpoints.md)."""
        return {
            "format": "curriculum-studio-prompt",
            "version": PROMPT_FORMAT_VERSION,
            "prompt_template": PROMPT_TEMPLATE,
            "prepend_bos": self.tokenizer.bos_token_id is not None,
            "add_special_tokens": False,
            "max_prompt_tokens": self.max_prompt_tokens,
            "truncation": "none: the engine refuses an item longer than the student's "
                          "context at run setup, so no prompt it trained or evaluated on "
                          "was cut",
            "answer_template": "{answer}" + str(self.tokenizer.eos_token),
            "max_new_tokens": max_new_tokens,
            "read_back": "greedy decoding (generation_config.json); the answer is the text "
                         "of the new tokens before the first eos token, decoded with "
                         "skip_special_tokens=True",
            "precision": "float32 on CPU; on CUDA the engine generates under bfloat16 "
                         "autocast",
            "docs": "docs/checkpoints.md",
        }

    def generation_config(self, *, max_new_tokens: int | None = None) -> GenerationConfig:
        """Greedy decoding with the KV cache, stopping at the tokenizer's eos."""
        kwargs = {"max_new_tokens": max_new_tokens} if max_new_tokens else {}
        return GenerationConfig(do_sample=False, num_beams=1, use_cache=True,
                                eos_token_id=self.eos_id, pad_token_id=self.pad_id,
                                bos_token_id=self.tokenizer.bos_token_id, **kwargs)

    def encode_pair(self, prompt: str, answer: str) -> tuple[list[int], int]:
        """(ids, number of prompt tokens) for ``prompt`` + ``answer`` + eos.

        Nothing is cut: a pair longer than ``max_length`` is an error (run setup refuses such
        items, and synthesis drops them)."""
        key = ("a", prompt, answer)
        if key not in self._cache:
            answer_ids = self._ids(answer) + [self.eos_id]
            prompt_ids = self.encode_prompt(prompt)
            total = len(prompt_ids) + len(answer_ids)
            if total > self.max_length:
                raise EngineError(f"an item of {total} tokens is longer than the student's "
                                  f"context of {self.max_length} tokens (run setup refuses "
                                  f"such items): {prompt[:60]!r}")
            self._cache[key] = (prompt_ids + answer_ids, len(prompt_ids))
        return self._cache[key]

    def answer_length(self, answer: str) -> int:
        return len(self._ids(answer)) + 1

    def decode_answer(self, ids: list[int]) -> str:
        """Text of generated ids up to (not including) the first eos."""
        if self.eos_id in ids:
            ids = ids[: ids.index(self.eos_id)]
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def save(self, path: Path, *, max_new_tokens: int | None = None) -> None:
        """A complete model directory: config, weights, tokenizer, ``generation_config.json``
        (greedy, at most ``max_new_tokens`` new tokens: the run's eval length) and
        ``prompt_format.json``; with LoRA the merged weights plus ``adapter/``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        hf_logging.disable_progress_bar()
        if self.lora:
            self.model.save_pretrained(path / "adapter")
            merged = _merged_copy(self.model)
            merged.save_pretrained(path)
        else:
            self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        # after the model's own: a loaded model's sampling settings would not match ours
        self.generation_config(max_new_tokens=max_new_tokens).save_pretrained(path)
        (path / PROMPT_FORMAT_FILE).write_text(json.dumps(
            self.prompt_format(max_new_tokens=max_new_tokens), indent=2))
        (path / "student.json").write_text(json.dumps(
            {"max_length": self.max_length, "lora": self.lora}, indent=2))


def _merged_copy(peft_model) -> torch.nn.Module:
    import copy

    return copy.deepcopy(peft_model).merge_and_unload()


def build_student(spec: StudentSpec, *, device: torch.device, seed: int,
                  from_checkpoint: Path | None = None, chars: Iterable[str] = ()) -> Student:
    """The student ``spec`` describes, or the one saved in ``from_checkpoint`` (resume).

    A from-scratch preset is initialised from ``seed``, so two runs with one seed start
    alike; its vocabulary covers ``chars`` (the run's data: :func:`data_chars`) beside
    printable ASCII. A loaded tokenizer is kept as it is (:func:`check_items` refuses items
    it cannot encode).
    """
    if from_checkpoint is not None and not spec.lora:
        model, tokenizer = load_model_dir(from_checkpoint)
    elif spec.model_dir:
        model, tokenizer = load_model_dir(spec.model_dir)
    else:
        tokenizer = build_char_tokenizer(chars)
        config = preset_config(spec.preset or "tiny", vocab_size=len(tokenizer),
                               max_length=spec.max_length)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = LlamaForCausalLM(config)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.eos_token_id is None:
        raise ModelLoadError(str(spec.model_dir or from_checkpoint),
                             "the tokenizer has no eos token; answers could never end")
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    lora = bool(spec.lora)
    if lora:
        model = _with_lora(model, spec.lora, from_checkpoint)
    model.to(device)
    return Student(model=model, tokenizer=tokenizer, device=device,
                   max_length=spec.max_length, lora=lora)


def _where(item: Item) -> str:
    line = item.meta.get("line") if isinstance(item.meta, dict) else None
    return f"{item.id!r} (line {line})" if line is not None else repr(item.id)


def check_items(student: Student, items: Iterable[Item]) -> None:
    """Refuse data the student cannot take whole: an item with a character its tokenizer
    cannot encode (ItemError naming the item, its line and the character), then items
    longer than its context (SpecError on ``spec.student.max_length`` with their count and
    the first few). Nothing is ever turned into ``<unk>`` or cut."""
    items = list({it.id: it for it in items}.values())
    unknown = [(it, chars) for it in items
               if (chars := student.unknown_chars(it.prompt + it.answer))]
    if unknown:
        item, chars = unknown[0]
        shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in chars[:5])
        line = item.meta.get("line") if isinstance(item.meta, dict) else None
        more = f"; {len(unknown) - 1} more items have such characters" if len(unknown) > 1 \
            else ""
        raise ItemError(item.id, f"{f'line {line}: ' if line is not None else ''}character "
                                 f"{shown} cannot be encoded by the student's tokenizer (it "
                                 f"would become {student.tokenizer.unk_token or 'nothing'})"
                                 f"{more}; use a student whose tokenizer covers it, or a "
                                 "preset")
    too_long = [(it, n) for it in items
                if (n := student.item_tokens(it.prompt, it.answer)) > student.max_length]
    if too_long:
        too_long.sort(key=lambda pair: -pair[1])
        shown = ", ".join(f"{_where(it)} ({n} tokens)" for it, n in too_long[:REFUSED_EXAMPLES])
        count = len(too_long)
        raise SpecError("spec.student.max_length",
                        f"{count} item{'s are' if count != 1 else ' is'} longer than the "
                        f"student's context of {student.max_length} tokens: e.g. {shown}; "
                        "raise max_length or leave them out")


def unfit_reason(student: Student, item: Item) -> str | None:
    """Why ``item`` cannot be trained on as it is (a character the tokenizer cannot encode,
    or longer than the context); None when it fits."""
    chars = student.unknown_chars(item.prompt + item.answer)
    if chars:
        return f"character {chars[0]!r} cannot be encoded"
    n = student.item_tokens(item.prompt, item.answer)
    if n > student.max_length:
        return f"{n} tokens, longer than the context of {student.max_length}"
    return None


def _with_lora(model, options: dict, checkpoint: Path | None):
    from peft import LoraConfig, PeftModel, get_peft_model

    if checkpoint is not None:
        adapter = Path(checkpoint) / "adapter"
        if not adapter.is_dir():
            raise ModelLoadError(str(adapter), "LoRA checkpoint has no adapter directory")
        return PeftModel.from_pretrained(model, adapter, is_trainable=True)
    kwargs = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.0, "task_type": "CAUSAL_LM"}
    kwargs.update(options)
    try:
        config = LoraConfig(**kwargs)
    except (TypeError, ValueError) as exc:
        raise SpecError("spec.student.lora", str(exc)) from exc
    return get_peft_model(model, config)


def preset_parameter_counts() -> dict[str, int]:
    """Exact parameter count of each preset with the char tokenizer (docs, benchmarks)."""
    tokenizer = build_char_tokenizer()
    out = {}
    for name in PRESETS:
        config = preset_config(name, vocab_size=len(tokenizer), max_length=64)
        with torch.device("meta"):
            model = LlamaForCausalLM(config)
        out[name] = sum(p.numel() for p in model.parameters())
    return out


__all__ = [
    "ANSWER_SEP", "CHARS", "PRESETS", "PROMPT_FORMAT_FILE", "PROMPT_TEMPLATE", "Student",
    "build_char_tokenizer", "build_student", "check_items", "check_model_dir", "data_chars",
    "load_model_dir", "preset_config", "preset_parameter_counts", "resolve_device",
    "unfit_reason",
]
