"""Errors raised by the engine. Each names the item, skill, path or field at fault."""


class EngineError(Exception):
    """Base class for every error the engine raises on bad input or failure."""


class SpecError(EngineError):
    """A run spec (or one of its parts) has a wrong or missing field."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


class ItemError(EngineError):
    """A data item is invalid (e.g. its answer fails its own verifier)."""

    def __init__(self, item_id: str, message: str):
        self.item_id = item_id
        super().__init__(f"item {item_id!r}: {message}")


class SkillError(EngineError):
    """An unknown skill, or a planned skill whose pool is empty."""

    def __init__(self, skill: str, message: str):
        self.skill = skill
        super().__init__(f"skill {skill!r}: {message}")


class ModelLoadError(EngineError):
    """A model directory that does not load."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(f"model directory {path!r}: {message}")


class TeacherError(EngineError):
    """A teacher call failed for good (after retries); carries the raw text."""

    def __init__(self, role: str, message: str, raw: str = ""):
        self.role = role
        self.raw = raw
        super().__init__(f"teacher ({role}): {message}")


class RunCancelled(EngineError):
    """Raised inside the loop when the caller asked the run to stop."""
