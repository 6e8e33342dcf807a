"""Errors a user can act on: each names the file, the line and what was expected."""


class HierarchyError(Exception):
    """Base class: the command line prints the message and exits with status 2."""


class CorpusError(HierarchyError):
    """A corpus file is malformed, e.g. ``train.conllu:12: HEAD '17' out of range for a 12-token sentence``."""

    def __init__(self, path, line: int | None, message: str):
        self.path, self.line = str(path), line
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {message}")


class ConfigError(HierarchyError):
    """A recipe or model directory is invalid (unknown key, wrong type, other format version)."""
