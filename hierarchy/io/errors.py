"""Errors a user can act on: each names the file, the line and what was expected."""
import difflib


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


def unknown_key(key: str, known, prefix: str = "") -> str:
    """The message for an unknown recipe ``key``: the close match when there is one, else the keys of its table.

    >>> unknown_key("train.epoch", ["epochs", "patience"], "train.")
    "unknown config key 'train.epoch' (did you mean 'train.epochs'?)"
    """
    close = difflib.get_close_matches(key[len(prefix):], list(known), n=1, cutoff=0.75)
    if close:
        return f"unknown config key '{key}' (did you mean '{prefix}{close[0]}'?)"
    return f"unknown config key '{key}' (expected one of {', '.join(sorted(known))})"
