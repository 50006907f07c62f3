"""The README is the front door: what it tells a newcomer to type and to upload must work.

- every `make` target it names exists in the Makefile (and `make -n` accepts it);
- every data example (```jsonl blocks) reads, row by row, as the format its heading names,
  with no error, and gives the prompt and answer the example shows;
- every environment variable it names is one the settings, the scripts or the Makefile read;
- every local file it links to exists.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")

# The data examples in the order the README shows them, with their format.
FORMAT_ORDER = ["ours", "openai", "trl", "trl_chat"]


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def _make_targets_named() -> set[str]:
    return set(re.findall(r"\bmake ([a-z][a-z-]*)", README))


def _makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, flags=re.M))


def test_the_readme_names_the_two_front_door_commands():
    bash = "\n".join(_blocks("bash"))
    assert "make demo" in bash and "make test" in bash
    assert "http://127.0.0.1:8000/" in README and "make stop" in README


def test_every_make_target_the_readme_names_exists():
    named = _make_targets_named()
    assert {"demo", "test", "stop", "lint"} <= named
    missing = named - _makefile_targets()
    assert not missing, f"README names make targets the Makefile lacks: {sorted(missing)}"
    for target in sorted(named):
        done = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, (target, done.stderr)


def test_every_data_example_reads_as_its_format():
    from apps.projects.formats import FORMATS, RowDefaults, detect

    blocks = _blocks("jsonl")
    assert len(blocks) == len(FORMAT_ORDER)
    defaults = RowDefaults(skill="general", level=1)
    for name, block in zip(FORMAT_ORDER, blocks, strict=True):
        lines = [line for line in block.splitlines() if line.strip()]
        assert len(lines) == 3, f"{name}: a three-line example"
        for line in lines:
            record = json.loads(line)
            assert detect(record) == name, line
            row = FORMATS[name].to_row(record, defaults)
            assert row["prompt"] in line and row["answer"] in line
            assert row["level"] >= 1 and row["skills"]


def test_every_environment_variable_it_names_is_read_somewhere():
    names = set(re.findall(r"\b((?:STUDIO|DJANGO|CELERY|DATABASE|DEMO)_[A-Z_]+)\b", README))
    names |= {"PORT"} if re.search(r"\bPORT=", README) else set()
    sources = "\n".join(
        p.read_text(encoding="utf-8")
        for pattern in ("config/**/*.py", "scripts/*.sh", "apps/**/*.py", "workers/**/*.py")
        for p in ROOT.glob(pattern)
    ) + MAKEFILE
    unread = sorted(n for n in names if n not in sources)
    assert not unread, f"README names variables nothing reads: {unread}"


@pytest.mark.parametrize("target", sorted(set(re.findall(r"\]\(((?:docs|benchmarks)/[^)#]+)",
                                                           README))))
def test_every_local_link_exists(target):
    assert (ROOT / target).exists(), target
