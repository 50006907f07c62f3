"""A teacher that generates with a local Hugging Face causal LM (greedy by default).

torch and transformers are imported only when such a teacher is built, so importing the
teachers package stays light for the web.
"""

from __future__ import annotations

import threading

from workers.engine.errors import ModelLoadError, SpecError
from workers.engine.spec import TeacherSpec
from workers.engine.tasks.base import TaskFamily
from workers.engine.teachers.base import LLMTeacher
from workers.engine.teachers.parsers import ParseError


class HFLocalTeacher(LLMTeacher):
    kind = "hf_local"

    def __init__(
        self,
        spec: TeacherSpec,
        family: TaskFamily,
        *,
        max_new_tokens: int = 256,
        device: str = "cpu",
        seed: int = 0,
    ):
        if not spec.model_dir:
            raise SpecError("spec.teacher.model_dir", "required for an hf_local teacher")
        if max_new_tokens < 1:
            raise SpecError("max_new_tokens", "must be at least 1")
        # One model, one generation at a time: concurrency above 1 would only contend.
        super().__init__(family, prompts_by_role=spec.prompts, concurrency=1)
        self.spec = spec
        self.max_new_tokens = max_new_tokens
        self.device = device
        self.seed = seed
        self._generate_lock = threading.Lock()
        self.model, self.tokenizer = load_model(spec.model_dir, device=device)

    def _complete(self, role: str, prompt: str, *, temperature: float = 0.0) -> str:
        import torch

        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            text = tok.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
        else:
            text = prompt
        inputs = tok(text, return_tensors="pt").to(self.device)
        n_prompt = int(inputs["input_ids"].shape[1])
        sampling = temperature > 0
        kwargs = {"do_sample": True, "temperature": temperature} if sampling else {
            "do_sample": False}
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        with self._generate_lock, torch.no_grad():
            if sampling:
                torch.manual_seed(self.seed + self.usage.calls)
            output = self.model.generate(
                **inputs, max_new_tokens=self.max_new_tokens, pad_token_id=pad, **kwargs
            )
        new_tokens = output[0, n_prompt:]
        self._count_usage(n_prompt, int(new_tokens.shape[0]))
        content = tok.decode(new_tokens, skip_special_tokens=True)
        if not content.strip():
            raise ParseError(role, "the model generated no text", content)
        return content


def load_model(model_dir: str, *, device: str = "cpu"):
    """(model, tokenizer) from a local directory; :class:`ModelLoadError` naming the path."""
    from workers.engine.student import check_model_dir  # imports torch: only when built

    path = check_model_dir(model_dir)  # names what is missing (no config.json in DIR, ...)
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True)
    except Exception as exc:  # transformers raises many kinds (OSError, ValueError, KeyError...)
        raise ModelLoadError(str(path), f"does not load as a causal LM: {exc}") from exc
    model.to(device)
    model.eval()
    return model, tokenizer
