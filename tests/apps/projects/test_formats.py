"""The format converters (pure, no database): a table of records each format reads, the
errors it names, and a round trip through every format that gives back the same rows."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.projects.formats import FORMATS, RowDefaults, detect
from apps.projects.formats.reader import FormatUnknown, read_rows

DEFAULTS = RowDefaults(skill="general", level=1)
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2="},
        {"role": "assistant", "content": "4"}]


def _rows(data: bytes, **kw):
    return list(read_rows(io.BytesIO(data), **kw))


@pytest.mark.parametrize(("record", "fmt", "prompt", "answer", "meta"), [
    ({"prompt": "2+2=", "answer": "4", "skills": ["add"], "level": 1, "note": "x"},
     "ours", "2+2=", "4", {"note": "x"}),
    ({"messages": CHAT}, "openai", "2+2=", "4", {"system": "Be brief."}),
    ({"prompt": "2+2=", "completion": "4"}, "trl", "2+2=", "4", {}),
    ({"prompt": CHAT[:2], "completion": CHAT[2:]}, "trl_chat", "2+2=", "4",
     {"system": "Be brief."}),
])
def test_each_format_reads_its_records(record, fmt, prompt, answer, meta):
    assert detect(record) == fmt
    (line, row, problem), = _rows(json.dumps(record).encode() + b"\n")
    assert problem is None and line == 1
    assert (row["prompt"], row["answer"], row["meta"]) == (prompt, answer, meta)
    assert row["skills"] == ["add"] if fmt == "ours" else row["skills"] == ["general"]


def test_multi_turn_history_is_kept_in_meta():
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "2+2="}, {"role": "assistant", "content": "4"}]
    (_, row, _), = _rows(json.dumps({"messages": messages}).encode())
    assert row["prompt"] == "2+2=" and row["meta"]["history"] == messages[:2]
    assert FORMATS["openai"].from_row(row)["messages"] == messages


@pytest.mark.parametrize(("line", "fmt", "field", "reason"), [
    (b"{bad", "ours", "", "bad JSON"),
    (b"\xff\xfe{}", "ours", "", "not UTF-8"),
    (b"[1, 2]", "ours", "", "must be a JSON object"),
    (b'{"prompt": "a", "answer": "b", "skills": ["s"]}', "ours", "level", "missing"),
    (b'{"prompt": 5, "answer": "b", "skills": ["s"], "level": 1}', "ours", "prompt",
     "must be text"),
    (b'{"prompt": "a", "answer": "b", "skills": [], "level": 1}', "ours", "skills", "1 to 5"),
    (b'{"prompt": "a", "answer": "b", "skills": ["s"], "level": -1}', "ours", "level", "0 or"),
    (b'{"prompt": "a", "answer": "b", "skills": ["s"], "level": 1, "split": "x"}', "ours",
     "split", "must be one of"),
    (b'{"messages": [{"role": "user", "content": "q"}]}', "openai", "messages[0].role",
     "assistant"),
    (b'{"messages": [{"role": "user", "content": 3}, {"role": "assistant", "content": "a"}]}',
     "openai", "messages[0].content", "text"),
    (b'{"messages": [{"role": "assistant", "content": "a"}]}', "openai", "messages",
     "user message"),
    (b'{"prompt": "q"}', "trl", "completion", "missing"),
    (b'{"prompt": [{"role": "user", "content": "q"}], "completion": "a"}', "trl_chat",
     "completion", "list of messages"),
])
def test_bad_rows_name_line_field_and_reason(line, fmt, field, reason):
    good = json.dumps(FORMATS[fmt].from_row(
        {"prompt": "q", "answer": "a", "skills": ["s"], "level": 1, "meta": {}})).encode()
    rows = _rows(good + b"\n\n" + line + b"\n", fmt=fmt)
    problems = [p for _, _, p in rows if p]
    assert len(problems) == 1, rows
    assert (problems[0].line, problems[0].field) == (3, field)
    assert reason in problems[0].reason


def test_an_oversize_line_is_skipped_without_reading_it_whole():
    big = json.dumps({"prompt": "x" * 5000, "answer": "4", "skills": ["s"], "level": 1})
    good = json.dumps({"prompt": "q", "answer": "a", "skills": ["s"], "level": 1})
    rows = _rows(f"{big}\n{good}\n".encode(), max_row_bytes=1000)
    assert rows[0][2].line == 1 and "longer than" in rows[0][2].reason
    assert rows[1][1]["prompt"] == "q"


def test_csv_reads_ours_with_skills_split_by_semicolons():
    text = 'prompt,answer,skills,level,split\n"2+2=",4,add;carry,2,eval\n"a\nb",x,add,one,\n'
    rows = _rows(text.encode(), kind="csv")
    assert rows[0][1] == {"prompt": "2+2=", "answer": "4", "skills": ["add", "carry"],
                          "level": 2, "split": "eval", "key": "", "meta": {}}
    assert rows[1][2].field == "level"


def test_a_file_of_no_known_format_is_refused():
    with pytest.raises(FormatUnknown):
        _rows(b'{"question": "q"}\n')


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
ROWS = st.fixed_dictionaries({
    "prompt": TEXT.filter(str.strip),
    "answer": st.text(max_size=10),
    "skills": st.lists(TEXT.filter(str.strip).filter(lambda s: ";" not in s), min_size=1,
                       max_size=5, unique=True),
    "level": st.integers(min_value=0, max_value=10**6),
    "split": st.sampled_from([None, "train", "eval", "held_out"]),
    "key": st.one_of(st.just(""), TEXT.filter(str.strip)),
    "meta": st.dictionaries(st.sampled_from(["note", "source", "system", "n"]),
                            st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
})


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(ROWS, min_size=1, max_size=5), fmt=st.sampled_from(sorted(FORMATS)))
def test_round_trip_through_every_format_gives_back_the_same_rows(rows, fmt):
    if fmt != "ours":  # a system message must be text to travel as one
        rows = [r | {"meta": {k: v for k, v in r["meta"].items()
                              if k != "system" or isinstance(v, str)}} for r in rows]
    data = "".join(json.dumps(FORMATS[fmt].from_row(r)) + "\n" for r in rows).encode()
    back = _rows(data, fmt="auto" if fmt != "trl_chat" else fmt)
    assert [problem for _, _, problem in back] == [None] * len(rows)
    assert [row for _, row, _ in back] == rows


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_round_trip_through_csv(fmt):
    row = {"prompt": "2+2=", "answer": "4", "skills": ["add", "carry"], "level": 2,
           "split": "eval", "key": "k1", "meta": {"system": "Be brief."}}
    record = FORMATS[fmt].from_row(row)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(record))
    writer.writerow(dict(zip(record, record, strict=True)))
    writer.writerow({k: v if isinstance(v, str) else json.dumps(v) for k, v in record.items()})
    (_, back, problem), = _rows(out.getvalue().encode(), kind="csv", fmt=fmt)
    assert problem is None and back == row
