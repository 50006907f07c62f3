"""The REST API under ``/api/v1/`` (django-ninja): typed input, an OpenAPI 3 schema, and
the same services and selectors the pages call (docs/api.md).

Nothing else imports this package but the URL configuration (an import-linter contract
in pyproject.toml keeps it so): it is a door, like the pages, not a layer below them.
"""
