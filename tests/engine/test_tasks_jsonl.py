import json
import random

import pytest

from workers.engine.errors import ItemError, SpecError
from workers.engine.tasks import build_family
from workers.engine.tasks.jsonl import JsonlFamily, answers_match, parse_jsonl


def _line(**fields) -> str:
    base = {"prompt": "2+2=", "answer": "4", "skills": ["add"], "level": 1}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None})


GOOD = [
    _line(id="a"),
    _line(id="b", prompt="Capital of France?", answer="Paris", skills=["geo"], level=2,
          split="eval", source="atlas"),
]


def test_parses_good_lines_and_keeps_extra_fields_in_meta():
    items, errors = parse_jsonl("\n".join(GOOD) + "\n\n")
    assert errors == []
    assert [i.id for i in items] == ["a", "b"]
    assert items[1].skills == ("geo",) and items[1].level == 2
    assert items[1].meta["split"] == "eval" and items[1].meta["source"] == "atlas"


def test_every_bad_line_is_reported_with_its_number():
    lines = [
        _line(id="ok"),
        '{"prompt": "1+1=", "answer": "2",',  # broken JSON
        _line(answer=None),  # missing answer
        _line(skills=["a", "b", "c", "d", "e", "f"]),
        _line(skills=[]),
        _line(level="3"),
        _line(prompt="x", skills=["flying"]),
        "[1, 2]",
        _line(id="ok"),  # duplicate id
        _line(split="test"),
    ]
    items, errors = parse_jsonl(lines, skills=["add", "sub"])
    assert [i.id for i in items] == ["ok"]
    by_line = dict(errors)
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert "broken JSON" in by_line[2]
    assert "missing field 'answer'" in by_line[3]
    assert "1 to 5 skills, got 6" in by_line[4]
    assert "got 0" in by_line[5]
    assert "level must be a whole number" in by_line[6]
    assert "unknown skill 'flying'" in by_line[7]
    assert "JSON object" in by_line[8]
    assert "duplicate id 'ok' (first on line 1)" in by_line[9]
    assert "split must be one of" in by_line[10]


def test_several_problems_on_one_line_are_all_named():
    _, errors = parse_jsonl(['{"prompt": 5, "level": true}'])
    (line_no, message), = errors
    assert line_no == 1
    for part in ("missing field 'answer'", "missing field 'skills'", "prompt must be",
                 "level must be a whole number"):
        assert part in message


def test_answer_failing_its_own_verifier_is_an_error_naming_the_item():
    _, errors = parse_jsonl([_line(id="q7", answer="about four")], answer_mode="numeric")
    assert errors == [(1, "item 'q7': its answer 'about four' fails its own verifier "
                          "(numeric)")]
    _, errors = parse_jsonl([_line(id="q8", answer="?!")], answer_mode="normalized")
    assert "q8" in errors[0][1]


def test_dicts_are_accepted_and_ids_are_deterministic():
    rows = [{"prompt": "3+4=", "answer": "7", "skills": ["add"], "level": 1}]
    a, _ = parse_jsonl(rows)
    b, _ = parse_jsonl([json.dumps(rows[0])])
    assert a[0].id == b[0].id and a[0].id.startswith("jl-")


@pytest.mark.parametrize(("mode", "ref", "pred", "ok"), [
    ("exact", "Paris", " Paris ", True),
    ("exact", "Paris", "paris", False),
    ("normalized", "Paris.", "  paris ", True),
    ("normalized", "New  York", "new york!", True),
    ("normalized", "Paris", "Lyon", False),
    ("numeric", "3", "3.0000001", True),
    ("numeric", "1,000", "1000", True),
    ("numeric", "3", "3.1", False),
    ("numeric", "3", "three", False),
])
def test_answer_modes(mode, ref, pred, ok):
    assert answers_match(ref, pred, mode=mode) is ok


def test_family_from_text_and_sampling(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(GOOD))
    fam = build_family("jsonl", {"path": str(path), "answer_mode": "normalized"})
    assert isinstance(fam, JsonlFamily)
    assert fam.levels() == [1, 2]
    assert {s.name for s in fam.skills()} == {"add", "geo"}
    assert not fam.can_generate()
    assert [i.id for i in fam.split("eval")] == ["b"]
    assert [i.id for i in fam.eval_items()] == ["b"]
    # "b" is an eval row: never drawn for the training pool, even at its own level
    assert fam.sample(n=5, rng=random.Random(0), levels=[2]) == []
    one = fam.sample(n=2, rng=random.Random(1))
    assert one == fam.sample(n=2, rng=random.Random(1))
    assert fam.verify(fam.items[1], "paris!")


def test_family_refuses_bad_data_naming_the_line():
    with pytest.raises(ItemError) as exc:
        build_family("jsonl", {"lines": [GOOD[0], "{oops", _line(level=None)]})
    assert exc.value.item_id == "line 2"
    assert "line 2: broken JSON" in str(exc.value)
    assert "and 1 more bad lines" in str(exc.value)


def test_family_checks_items_against_given_skills_and_verifier():
    with pytest.raises(ItemError, match="'x'"):
        build_family("jsonl", {"lines": [_line(id="x", skills=["geo"])],
                               "skills": ["add"]})
    from workers.engine.tasks.base import Item
    bad = Item(id="n1", prompt="p", answer="seven", skills=("add",), level=1)
    with pytest.raises(ItemError) as exc:
        JsonlFamily([bad], answer_mode="numeric")
    assert exc.value.item_id == "n1"


@pytest.mark.parametrize(("options", "field"), [
    ({}, "spec.task.options"),
    ({"text": "x", "lines": []}, "spec.task.options"),
    ({"path": "/nonexistent/items.jsonl"}, "spec.task.options.path"),
    ({"text": GOOD[0], "answer_mode": "fuzzy"}, "spec.task.options.answer_mode"),
    ({"text": GOOD[0], "tolerance": -1}, "spec.task.options.tolerance"),
])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(SpecError) as exc:
        build_family("jsonl", options)
    assert exc.value.field == field


def _split_lines() -> list[str]:
    lines = [_line(id=f"t{i}", prompt=f"{i}+1=", answer=str(i + 1)) for i in range(6)]
    lines += [_line(id="e1", prompt="7+1=", answer="8", split="eval"),
              _line(id="h1", prompt="9+1=", answer="10", split="held_out"),
              _line(id="t9", prompt="9+2=", answer="11", split="train")]
    return lines


def test_eval_and_held_out_rows_are_eval_items_and_never_pool():
    fam = build_family("jsonl", {"lines": _split_lines()})
    assert [i.id for i in fam.eval_items()] == ["e1", "h1"]
    drawn = {i.id for i in fam.sample(n=100, rng=random.Random(0))}
    assert drawn == {"t0", "t1", "t2", "t3", "t4", "t5", "t9"}
    assert build_family("jsonl", {"lines": [GOOD[0]]}).eval_items() is None


def test_the_loop_evaluates_on_the_declared_rows(tmp_path):
    from tests.engine.student_helpers import tiny_run_spec
    from workers.engine.loop import _Run
    from workers.engine.records import RunHooks

    spec = tiny_run_spec(task={"family": "jsonl", "options": {"lines": _split_lines()},
                               "pool_size": 100, "eval_size": 4})
    run = _Run(spec, tmp_path, RunHooks(), None, None)
    assert [i.id for i in run.eval_items] == ["e1", "h1"]  # all of them, eval_size aside
    assert {i.id for i in run.pool}.isdisjoint({"e1", "h1"})


def test_data_with_only_eval_rows_is_refused():
    with pytest.raises(SpecError) as exc:
        build_family("jsonl", {"lines": [_line(split="eval")]})
    assert exc.value.field == "spec.task.options.lines"


def test_a_bad_byte_names_its_line(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_bytes(GOOD[0].encode() + b"\n" + _line(id="z", prompt="caf\u00e9").encode()
                     .replace(b"\\u00e9", b"\xe9") + b"\n" + GOOD[1].encode() + b"\n")
    with pytest.raises(ItemError) as exc:
        build_family("jsonl", {"path": str(path)})
    assert exc.value.item_id == "line 2"
    assert "line 2: not valid UTF-8" in str(exc.value)
    items, errors = parse_jsonl(path.read_bytes())
    assert [i.id for i in items] == ["a", "b"]
    assert [(n, m.split(" (")[0]) for n, m in errors] == [(2, "not valid UTF-8")]


def test_line_breaks_inside_strings_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "items.jsonl"
    odd = json.dumps({"prompt": "a\u2028b\x0cc", "answer": "1", "skills": ["s"], "level": 1},
                     ensure_ascii=False)
    path.write_bytes(b"\xef\xbb\xbf" + GOOD[0].encode() + b"\r\n" + odd.encode() + b"\r\n")
    fam = build_family("jsonl", {"path": str(path)})
    assert [i.prompt for i in fam.items] == ["2+2=", "a\u2028b\x0cc"]
