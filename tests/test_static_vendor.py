"""Pages work on closed networks: nothing under static/ or templates/ points at a CDN."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDN = re.compile(rb"https?://(cdn\.|unpkg|cdnjs|[a-z.]*jsdelivr)")


def test_no_cdn_address_in_static_or_templates():
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("static", "templates")
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and CDN.search(path.read_bytes())
    ]
    assert offenders == []


def test_base_template_loads_vendored_scripts():
    base = (ROOT / "templates" / "base.html").read_text()
    assert "vendor/htmx.min.js" in base
