"""The training engine: a pure-Python package that never imports Django.

Modules that need torch (student, trainer, evaluate, loop) are imported explicitly;
importing this package, ``tasks``, ``curriculum``, ``profile`` or ``teachers`` never
imports torch, so the web can use schemas, templates and parsers without it.
"""
