"""Production: secrets and hosts must come from the environment; HTTPS everywhere."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from config.settings.base import *  # noqa: F403
from config.settings.base import STUDIO_SECRET_KEYS

DEBUG = False
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY or SECRET_KEY.startswith("dev-only") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a random string of 50+ characters")
if not STUDIO_SECRET_KEYS:
    raise ImproperlyConfigured(
        "STUDIO_SECRET_KEYS must be set: comma-separated Fernet keys that encrypt the teachers' "
        "API keys (the first encrypts, all decrypt; docs/security.md). Make one with "
        "`python -c \"from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())\"`"
    )
# No fallback: the hosts this site answers for are named, never guessed, never "*".
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS must be set to the comma-separated host names this site is "
        "served under (e.g. studio.example.org); '*' is not accepted in production"
    )

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
# Cookies go over HTTPS only and are out of reach of scripts (htmx sends the CSRF token
# from the page, not from the cookie).
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Hashed, compressed static files (collectstatic in docker/web.Dockerfile uses the same),
# served by WhiteNoise from STATIC_ROOT only.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": env_str(  # noqa: F405
    "DJANGO_STATICFILES_STORAGE", "whitenoise.storage.CompressedManifestStaticFilesStorage")}}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", False)
