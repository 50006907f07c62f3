"""Errors raised by the engine. Each names the item, skill, path or field at fault."""


class EngineError(Exception):
    """Base class for every error the engine raises on bad input or failure."""

    def __reduce__(self):
        # Subclasses take their own arguments (field, message, ...), so the default pickling
        # (calling the class with ``args``) fails; a headless --compare worker process hands
        # its error back to the parent pickled.
        return _rebuild, (type(self), self.args, dict(self.__dict__))


def _rebuild(cls: type, args: tuple, state: dict) -> EngineError:
    err = cls.__new__(cls, *args)
    err.args = args
    err.__dict__.update(state)
    return err


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


class OutboundBlocked(TeacherError):
    """A teacher URL the outbound policy refuses (``workers.engine.teachers.outbound``): a
    scheme other than http/https, or a host that resolves to a loopback, private,
    link-local, multicast, reserved or unspecified address and is not on the allow list.
    Raised before any connection is made."""

    def __init__(self, message: str):
        super().__init__("connect", message)


class RunCancelled(EngineError):
    """Raised inside the loop when the caller asked the run to stop."""


class WaitForReview(RunCancelled):
    """Raised before round ``round`` when the hooks say the run must wait for people to
    review its synthesized items (``pending`` of them); nothing of the round is written.
    The run continues from round ``round - 1`` once they are decided."""

    def __init__(self, round_: int, pending: int):
        self.round = round_
        self.pending = pending
        super().__init__(f"round {round_} waits for review: {pending} synthesized items "
                         "pending")
