import torch

from tests.engine.student_helpers import add_family, add_items, tiny_student
from workers.engine.evaluate import evaluate, evaluate_items, generate_answers
from workers.engine.spec import StudentSpec
from workers.engine.student import build_student
from workers.engine.trainer import Trainer


def _trained(steps: int = 40):
    s = tiny_student()
    Trainer(s, lr=3e-3, batch_size=8).train(add_items(48), steps=steps, seed=0)
    return s


def test_batched_answers_equal_one_by_one():
    s = _trained(20)
    prompts = [it.prompt for it in add_items(12, seed=3)]
    batched = generate_answers(s, prompts, max_new_tokens=5, batch_size=8)
    single = [generate_answers(s, [p], max_new_tokens=5, batch_size=1)[0] for p in prompts]
    assert batched == single


def test_verdicts_follow_the_family_verifier():
    family = add_family()
    s = tiny_student()
    items = add_items(6)
    verdicts = evaluate_items(s, family, items)
    assert [v.item_id for v in verdicts] == [it.id for it in items]
    for it, v in zip(items, verdicts, strict=True):
        assert v.correct == family.verify(it, v.prediction)
        assert v.skills == it.skills and v.level == it.level


def test_generation_stops_at_the_answer_end():
    """A student trained to say the answer then eos predicts no trailing text."""
    s = tiny_student()
    items = [it for it in add_items(40) if it.level == 1][:4]
    Trainer(s, lr=3e-3, batch_size=4).train(items, steps=120, seed=0)
    verdicts = evaluate_items(s, add_family(), items)
    assert all(v.correct for v in verdicts), [v.prediction for v in verdicts]


def test_held_out_levels_are_reported_apart():
    report = evaluate(tiny_student(), add_family(), add_items(20), held_out_levels=(2,))
    assert all(v.level == 1 and v.split == "eval" for v in report.verdicts)
    assert all(v.level == 2 and v.split == "held_out" for v in report.held_out)
    assert [lv.level for lv in report.held_out_levels] == [2]
    assert report.held_out_accuracy is not None
    assert len(report.verdicts) + len(report.held_out) == 20


def test_checkpoint_reload_gives_identical_greedy_answers(tmp_path):
    s = _trained(20)
    s.save(tmp_path)
    again = build_student(StudentSpec(preset=None, model_dir=str(tmp_path), max_length=24),
                          device=torch.device("cpu"), seed=99)
    prompts = [it.prompt for it in add_items(10, seed=5)]
    assert generate_answers(again, prompts, max_new_tokens=5) == \
        generate_answers(s, prompts, max_new_tokens=5)
