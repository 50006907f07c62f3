import subprocess
import sys

import pytest

from workers.engine.errors import SpecError
from workers.engine.tasks import FAMILIES, TaskFamily, build_family


def test_families_are_listed_with_help():
    assert set(FAMILIES) == {"arithmetic", "jsonl", "reasoning_gym"}
    for info in FAMILIES.values():
        data = info.to_dict()
        assert data["description"]
        assert all(o["help"] for o in data["options"])


def test_build_default_family():
    fam = build_family("arithmetic", {})
    assert isinstance(fam, TaskFamily)
    assert fam.levels() == [1, 2, 3, 4, 5]


def test_unknown_family_and_option_name_the_field():
    with pytest.raises(SpecError) as exc:
        build_family("chess", {})
    assert exc.value.field == "spec.task.family"
    with pytest.raises(SpecError) as exc:
        build_family("arithmetic", {"digits": 3})
    assert exc.value.field == "spec.task.options.digits"
    with pytest.raises(SpecError) as exc:
        build_family("arithmetic", ["levels"])
    assert exc.value.field == "spec.task.options"


def test_importing_tasks_and_curriculum_does_not_import_torch_or_django():
    code = ("import sys, workers.engine.tasks, workers.engine.curriculum, "
            "workers.engine.profile; "
            "print(sorted(m for m in ('torch', 'django', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
