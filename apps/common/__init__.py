"""Shared building blocks of the web apps (form widgets, the base form and form-error
helpers, team-scoped admin, database and task helpers, whole numbers from query parameters,
JSON from people).

The bottom layer: every app may import it, and it imports no app of ours (an import-linter
contract in pyproject.toml keeps it so). It has no models, templates or commands, so it is a
plain package, not an installed Django app.
"""
