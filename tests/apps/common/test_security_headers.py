"""Every response carries the security headers, and no page needs what the CSP forbids."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("url", ["accounts:login", "admin:login"])
def test_security_headers(client, db, url):
    response = client.get(reverse(url))
    csp = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no inline scripts, no eval
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_headers_on_pages_behind_login_and_on_404(client_for, owner, project_a):
    client = client_for(owner)
    for url in (reverse("core:project-detail", args=[project_a.pk]), "/no-such-page/"):
        response = client.get(url)
        assert "default-src 'self'" in response["Content-Security-Policy"], url
        assert response["X-Frame-Options"] == "DENY"


SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
HANDLER = re.compile(r"(?<![\w-])on[a-z]+\s*=", re.IGNORECASE)


@pytest.mark.parametrize("path", sorted((ROOT / "templates").rglob("*.html")),
                         ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_templates_have_no_inline_script(path):
    """script-src 'self' blocks inline scripts, event handler attributes and javascript:
    URLs; htmx's hx-on (which evaluates code) is not used either."""
    text = path.read_text()
    for attrs in SCRIPT.findall(text):
        assert "src=" in attrs or "application/json" in attrs, f"inline <script{attrs}>"
    assert not HANDLER.search(text), HANDLER.search(text)
    assert "javascript:" not in text.lower() and "hx-on" not in text


@pytest.mark.parametrize("path", sorted((ROOT / "static" / "js").rglob("*.js")),
                         ids=lambda p: p.name)
def test_own_scripts_use_no_eval(path):
    text = path.read_text()
    assert not re.search(r"\beval\s*\(|new\s+Function\s*\(|setTimeout\s*\(\s*['\"]", text)


def test_static_files_are_not_offered_to_other_origins(client, settings):
    settings.WHITENOISE_USE_FINDERS = True  # WhiteNoise serves straight from static/
    response = client.get("/static/js/" + next((ROOT / "static" / "js").glob("*.js")).name)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
