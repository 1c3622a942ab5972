"""One error hierarchy. Every message names the thing, the problem and the fix."""


class RagError(Exception):
    """Base class: its message is shown to the user as is (no traceback)."""


class IndexFormatError(RagError):
    """The index folder cannot be opened as it is (wrong version, other embedder, damaged)."""


class IndexDamagedError(IndexFormatError):
    """Stored rows or files fail their checks: results from them are refused until `rag check --repair`."""


class IndexLockedError(RagError):
    """Another process holds the index's write lock."""


class LoaderError(RagError):
    """A file could not be turned into text."""


class ConfigError(RagError):
    """A setting is missing or invalid."""


class LLMError(RagError):
    """The language model backend failed (server down, model missing)."""


class MissingDependency(RagError):
    """An optional library or system package is not installed."""

    def __init__(self, what: str, pip: str = "", apt: str = "") -> None:
        fixes = (f"pip install {pip}" if pip else "", f"apt-get install {apt}" if apt else "")
        fix = " or ".join(x for x in fixes if x)
        super().__init__(f"{what} is not installed — {fix or 'run make install'}")
