"""The hf_local teacher with a tiny randomly initialised GPT-2 built on the spot (no downloads)."""

import json

import pytest

from tests.engine.teacher_helpers import SumFamily, make_item
from workers.engine.errors import ModelLoadError, SpecError
from workers.engine.spec import TeacherSpec
from workers.engine.teachers import build_teacher

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    torch.set_num_threads(1)
    chars = [chr(c) for c in range(32, 127)] + ["\n"]
    vocab = {"<unk>": 0, "<eos>": 1, **{c: i + 2 for i, c in enumerate(chars)}}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>", pad_token="<eos>")
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=len(vocab), n_positions=512, n_embd=32,
                                     n_layer=1, n_head=2, bos_token_id=1, eos_token_id=1)
    model = transformers.GPT2LMHeadModel(config)
    path = tmp_path_factory.mktemp("tiny-teacher")
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path


def test_loads_and_generates_greedily(tiny_model_dir):
    spec = TeacherSpec(kind="hf_local", model_dir=str(tiny_model_dir))
    teacher = build_teacher(spec, SumFamily(), max_new_tokens=8)
    assert teacher.kind == "hf_local"
    first = teacher.call_raw("solve", "47+38=")
    assert first == teacher.call_raw("solve", "47+38=")  # greedy: deterministic
    assert teacher.usage.calls == 2
    assert teacher.usage.prompt_tokens == 12
    assert 0 < teacher.usage.completion_tokens <= 16


def test_random_model_output_is_retried_then_recorded(tiny_model_dir):
    spec = TeacherSpec(kind="hf_local", model_dir=str(tiny_model_dir))
    teacher = build_teacher(spec, SumFamily(), max_new_tokens=4)
    assert teacher.diagnose(make_item(47, 38), "75", ["add", "carry"]) == ()
    [failure] = teacher.failures
    assert failure.role == "grade" and failure.attempts == 3
    assert teacher.usage.calls == 3


def test_missing_directory_names_the_path(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ModelLoadError, match="nowhere") as info:
        build_teacher(TeacherSpec(kind="hf_local", model_dir=str(missing)), SumFamily())
    assert info.value.path == str(missing)


def test_broken_directory_names_the_path(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no-such-model"}))
    with pytest.raises(ModelLoadError, match=str(tmp_path)):
        build_teacher(TeacherSpec(kind="hf_local", model_dir=str(tmp_path)), SumFamily())


def test_model_dir_is_required():
    with pytest.raises(SpecError, match="spec.teacher.model_dir"):
        build_teacher(TeacherSpec(kind="hf_local"), SumFamily())
