"""The web process never loads torch: import-linter checks the static imports (with the
run entry points of ``workers.engine.api`` ignored, since only workers call them); this test
checks what a real web process loads after importing every module of every app."""

import subprocess
import sys

CODE = """
import importlib, os, pkgutil, sys
os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings.test'
import django
django.setup()
import apps, config.urls, workers.engine.api
names = [m.name for m in pkgutil.walk_packages(apps.__path__, 'apps.')
         if '.migrations' not in m.name and '.management.commands' not in m.name]
for name in names:
    importlib.import_module(name)
print(len(names), sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))
"""


def test_importing_every_app_module_loads_no_torch():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         check=True)
    count, loaded = out.stdout.strip().split(" ", 1)
    assert int(count) > 40  # every app's modules were imported
    assert loaded == "[]"
