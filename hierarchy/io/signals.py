"""SIGTERM as an exception, as Ctrl-C is, and blocks of writes that neither cuts in two.

``hierarchy``'s command line installs the handlers (:func:`install`); the training loop writes each epoch's files
inside :func:`deferred`, so a signal there takes effect once they agree with each other."""
from __future__ import annotations

import contextlib
import signal


class Terminated(BaseException):
    """SIGTERM, raised where the process is: a BaseException, as KeyboardInterrupt is, so that every ``finally``
    runs (temporary files are removed, the training lock released), but not one that click reports as 'Aborted!'."""


_deferring, _pending = 0, []


def _handler(signum, frame):
    error = Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
    if _deferring:
        _pending.append(error)
        return
    raise error


def install() -> None:
    """SIGTERM raises :class:`Terminated` and SIGINT KeyboardInterrupt, both held back inside :func:`deferred`."""
    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)


@contextlib.contextmanager
def deferred():
    """A signal that arrives inside the block is raised when the block is done (with the handlers of
    :func:`install`; without them Ctrl-C acts at once, as Python's default does)."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring and _pending:
            error = _pending[0]
            _pending.clear()
            raise error
