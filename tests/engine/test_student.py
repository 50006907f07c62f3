import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.engine.student_helpers import tiny_student
from workers.engine.errors import EngineError, ModelLoadError, SpecError
from workers.engine.spec import StudentSpec
from workers.engine.student import (
    CHARS,
    build_char_tokenizer,
    build_student,
    preset_parameter_counts,
    resolve_device,
)


def test_char_tokenizer_round_trips_every_printable_character():
    tok = build_char_tokenizer()
    text = CHARS
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == len(text)  # one token per character
    assert tok.decode(ids) == text
    assert tok.unk_token_id not in ids


def test_preset_sizes_are_near_1m_10m_50m():
    counts = preset_parameter_counts()
    assert 0.8e6 < counts["tiny"] < 1.3e6
    assert 8e6 < counts["small"] < 12e6
    assert 40e6 < counts["base"] < 60e6


def test_pair_encoding_ends_with_eos_and_counts_prompt_tokens():
    s = tiny_student()
    ids, n_prompt = s.encode_pair("12+34=", "46")
    assert ids[0] == s.tokenizer.bos_token_id
    assert ids[-1] == s.eos_id
    assert s.tokenizer.decode(ids[n_prompt:-1]) == "46"
    assert s.decode_answer(ids[n_prompt:] + [5, 6]) == "46"  # cut at the first eos


def test_a_pair_longer_than_the_context_is_an_error_never_cut():
    s = tiny_student(max_length=12)
    assert s.item_tokens("12345+1=", "12346") == 1 + 9 + 5 + 1 == 16
    with pytest.raises(EngineError, match="longer than"):
        s.encode_pair("1234567890+1234567890=", "2469")
    with pytest.raises(EngineError, match="longer than the student's context of 12"):
        s.encode_pair("12345+1=", "12346")
    ids, n_prompt = s.encode_pair("1+2=", "3")  # 1 + 5 + 1 + 1 tokens: fits whole
    assert len(ids) == 8 and n_prompt == 6


def test_saved_student_loads_with_auto_classes(tmp_path):
    s = tiny_student()
    s.save(tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    model = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert tok.decode(tok("7*8=56", add_special_tokens=False)["input_ids"]) == "7*8=56"
    for a, b in zip(model.parameters(), s.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert json.loads((tmp_path / "student.json").read_text())["max_length"] == 24


def test_same_seed_same_initial_weights_other_seed_differs():
    a, b, c = tiny_student(seed=3), tiny_student(seed=3), tiny_student(seed=4)
    pa, pb, pc = (next(x.model.parameters()) for x in (a, b, c))
    assert torch.equal(pa, pb)
    assert not torch.equal(pa, pc)


def test_local_model_dir_loads(tmp_path):
    tiny_student(seed=1).save(tmp_path)
    s = build_student(StudentSpec(preset=None, model_dir=str(tmp_path)),
                      device=torch.device("cpu"), seed=0)
    assert s.num_parameters() == tiny_student().num_parameters()


def test_bad_model_dir_names_the_path(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ModelLoadError, match="nope"):
        build_student(StudentSpec(preset=None, model_dir=str(missing)),
                      device=torch.device("cpu"), seed=0)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError) as info:
        build_student(StudentSpec(preset=None, model_dir=str(tmp_path / "broken")),
                      device=torch.device("cpu"), seed=0)
    assert info.value.path == str(tmp_path / "broken")


def test_unknown_preset_and_device_are_spec_errors():
    with pytest.raises(SpecError, match="spec.student.preset"):
        build_student(StudentSpec(preset="huge"), device=torch.device("cpu"), seed=0)
    with pytest.raises(SpecError, match="spec.device"):
        resolve_device("tpu")


def test_lora_trains_only_adapters_and_saves_merged_plus_adapter(tmp_path):
    s = tiny_student(lora={"r": 2, "target_modules": ["q_proj", "v_proj"]})
    trainable = s.trainable_parameters()
    assert trainable and sum(p.numel() for p in trainable) < s.num_parameters() // 10
    s.save(tmp_path)
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    AutoModelForCausalLM.from_pretrained(tmp_path)  # the merged model is a plain checkpoint
    again = build_student(StudentSpec(preset="tiny", max_length=24,
                                      lora={"r": 2, "target_modules": ["q_proj", "v_proj"]}),
                          device=torch.device("cpu"), seed=0, from_checkpoint=tmp_path)
    assert again.lora


def test_bad_lora_options_name_the_field():
    with pytest.raises(SpecError, match="spec.student.lora"):
        tiny_student(lora={"no_such_option": 1})
