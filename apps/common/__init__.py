"""Shared building blocks of the web apps (form widgets, form-error helpers, team-scoped
admin, database and task helpers).

The bottom layer: every app may import it, and it imports no app of ours (an import-linter
contract in pyproject.toml keeps it so). It has no models, templates or commands, so it is a
plain package, not an installed Django app.
"""
