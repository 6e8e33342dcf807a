"""One run per output directory: an advisory lock file holding the writer's pid. A second run into the same
directory is one clear error; a lock left by a killed run (its pid gone) is taken over, and the temporary files
the killed run left are removed. The lock is re-entrant within a process (``hierarchy train`` takes it before it
reads the corpora, and the training loop takes it again)."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from hierarchy.io.errors import ConfigError

NAME = ".lock"
_held: set[Path] = set()  # the directories this process holds the lock of


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextlib.contextmanager
def locked(directory):
    """Hold ``directory``'s lock while the block runs (the directory is created, and removed again when the block
    leaves it empty); raises ConfigError when a live process holds it."""
    directory = Path(directory)
    if directory.resolve() in _held:
        yield
        return
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / NAME
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                holder = int(path.read_text().strip() or 0)
            except (OSError, ValueError):
                holder = 0
            if holder and holder != os.getpid() and alive(holder):
                raise ConfigError(f"{directory}: another run (pid {holder}) is writing this directory; wait for it "
                                  f"or choose another --output (remove {path} if that process is not a training)"
                                  ) from None
            path.unlink(missing_ok=True)  # stale: its run was killed
    else:
        raise ConfigError(f"{directory}: cannot take the lock {path}")
    _held.add(directory.resolve())
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        for leftover in directory.glob(".*.tmp"):  # half-written files of a killed run
            leftover.unlink(missing_ok=True)
        yield
    finally:
        _held.discard(directory.resolve())
        path.unlink(missing_ok=True)
        if created and not any(directory.iterdir()):  # a run that wrote nothing leaves nothing
            directory.rmdir()
