"""Security headers on every response (docs/security.md, "Web").

The Content-Security-Policy lets a page load scripts, styles, images, fonts and requests
only from this site. Scripts are strict (no inline code, no eval): every script is a file
under ``static/`` and data travels in ``json_script`` tags (``type="application/json"``,
never executed). Styles may be inline because Plotly sets style attributes and inserts
``<style>`` elements while it draws (and a few templates size bars with ``style=``).
"""

from __future__ import annotations

from django.conf import settings

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def security_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": getattr(settings, "STUDIO_CONTENT_SECURITY_POLICY",
                                           CONTENT_SECURITY_POLICY),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": getattr(settings, "SECURE_REFERRER_POLICY", None) or "same-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


class SecurityHeadersMiddleware:
    """Adds the headers of :func:`security_headers` where a view has not set its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        for name, value in security_headers().items():
            response.headers.setdefault(name, value)
        return response
